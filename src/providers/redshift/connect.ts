// Redshift connections -> a ready provider: the Redshift engine's open (engine.ts) loads this
// module on the first connect. The only place the Redshift Data API and control-plane clients
// are constructed. Region and
// credentials come from the standard AWS chain (environment, shared config, SSO, instance or
// container roles), or from the connection's `profile` and `roleArn` (aws-credentials.ts); the
// file never holds them. The SDKs load only when such a connection opens.
import { resolveEnv } from '../../config/env.js';
import { registerSecret } from '../../config/secrets.js';
import type { ConnectionConfig } from '../../config/types.js';
import { awsIdentity } from '../aws-credentials.js';
import { AWS_TIMEOUTS, noRegionError, watchAwsErrors } from '../aws-errors.js';
import { ConnectError, type OpenedConnection } from '../connect.js';
import type { DataApiTarget } from './data-api-transport.js';

export async function openRedshiftConnection(
  name: string,
  config: ConnectionConfig,
): Promise<OpenedConnection> {
  const [{ RedshiftDataClient }, { RedshiftClient }, transportMod, cpMod, providerMod] = await Promise.all([
    import('@aws-sdk/client-redshift-data'),
    import('@aws-sdk/client-redshift'),
    import('./data-api-transport.js'),
    import('./redshift-control-plane.js'),
    import('./redshift-provider.js'),
  ]);
  const region = config.region;
  const identity = await awsIdentity(config, region);
  // The transport does its own throttling retries with the same ClientToken: one SDK attempt.
  const data = new RedshiftDataClient({
    ...identity,
    ...(region ? { region } : {}),
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    maxAttempts: 1,
    requestHandler: AWS_TIMEOUTS,
  });
  const control = new RedshiftClient({
    ...identity,
    ...(region ? { region } : {}),
    requestHandler: AWS_TIMEOUTS,
  });
  watchAwsErrors(data, name, 'redshift-data');
  watchAwsErrors(control, name, 'redshift');
  const close = async () => {
    data.destroy();
    control.destroy();
  };
  const target: DataApiTarget = {
    ...(config.cluster ? { clusterIdentifier: config.cluster } : {}),
    ...(config.workgroup ? { workgroupName: config.workgroup } : {}),
    database: config.database ?? 'dev',
    ...(config.secretArn ? { secretArn: secretArnOf(name, config.secretArn) } : {}),
    ...(config.dbUser ? { dbUser: config.dbUser } : {}),
  };
  let resolvedRegion: string;
  try {
    resolvedRegion = region ?? (await data.config.region());
  } catch (e) {
    await close();
    throw noRegionError(name, e);
  }
  const transport = new transportMod.DataApiTransport(data, target);
  const provider = new providerMod.RedshiftProvider(
    transport,
    new cpMod.RedshiftControlPlane(control),
    target,
    { region: resolvedRegion },
  );
  const where = config.cluster ? `cluster ${config.cluster}` : `workgroup ${config.workgroup}`;
  return {
    name,
    config,
    provider,
    dataApi: transport,
    description: `Redshift ${where}, database ${target.database} (${resolvedRegion}), through the Data API`,
    close,
  };
}

const SECRET_ARN_RE = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

/**
 * The Secrets Manager ARN, from the file or its `${env:NAME}`. A value that is not an ARN (a
 * password put in the variable by mistake) is refused here, without showing it, rather than
 * sent to AWS to be echoed back in an error message.
 */
function secretArnOf(name: string, written: string): string {
  const arn = resolveEnv(written, `connection ${name}: secretArn`);
  if (!SECRET_ARN_RE.test(arn)) {
    registerSecret(arn);
    throw new ConnectError(
      name,
      `secretArn: ${written} does not hold a Secrets Manager ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)`,
    );
  }
  return arn;
}
