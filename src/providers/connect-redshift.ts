// Redshift connections -> a ready provider; connect.ts dispatches here. With connect.ts, the
// only place the Redshift Data API and control-plane clients are constructed. Region and
// credentials come from the standard AWS chain (environment, shared config, SSO, instance or
// container roles); the file never holds them. The SDKs load only when such a connection opens.
import { resolveEnv } from '../config/env.js';
import type { ConnectionConfig } from '../config/types.js';
import type { OpenedConnection } from './connect.js';
import type { DataApiTarget } from './redshift/data-api-transport.js';

export async function openRedshiftConnection(
  name: string,
  config: ConnectionConfig,
): Promise<OpenedConnection> {
  const [{ RedshiftDataClient }, { RedshiftClient }, transportMod, cpMod, providerMod] = await Promise.all([
    import('@aws-sdk/client-redshift-data'),
    import('@aws-sdk/client-redshift'),
    import('./redshift/data-api-transport.js'),
    import('./redshift/redshift-control-plane.js'),
    import('./redshift/redshift-provider.js'),
  ]);
  const region = config.region;
  // The transport does its own throttling retries with the same ClientToken: one SDK attempt.
  const data = new RedshiftDataClient({
    ...(region ? { region } : {}),
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    maxAttempts: 1,
  });
  const control = new RedshiftClient({ ...(region ? { region } : {}) });
  const target: DataApiTarget = {
    ...(config.cluster ? { clusterIdentifier: config.cluster } : {}),
    ...(config.workgroup ? { workgroupName: config.workgroup } : {}),
    database: config.database ?? 'dev',
    ...(config.secretArn ? { secretArn: resolveEnv(config.secretArn, `connection ${name}: secretArn`) } : {}),
    ...(config.dbUser ? { dbUser: config.dbUser } : {}),
  };
  let resolvedRegion: string | undefined;
  try {
    resolvedRegion = region ?? (await data.config.region());
  } catch {
    resolvedRegion = undefined;
  }
  const transport = new transportMod.DataApiTransport(data, target);
  const provider = new providerMod.RedshiftProvider(
    transport,
    new cpMod.RedshiftControlPlane(control),
    target,
    resolvedRegion ? { region: resolvedRegion } : {},
  );
  const where = config.cluster ? `cluster ${config.cluster}` : `workgroup ${config.workgroup}`;
  return {
    name,
    config,
    provider,
    dataApi: transport,
    description: `Redshift ${where}, database ${target.database}${resolvedRegion ? ` (${resolvedRegion})` : ''}, through the Data API`,
    close: async () => {
      data.destroy();
      control.destroy();
    },
  };
}
