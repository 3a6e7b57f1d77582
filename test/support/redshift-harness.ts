// Wires a Redshift provider to the test stand-ins: the Data API through the real SDK client to
// the loopback fake (statements run on PostgreSQL behind the Redshift emulator), and the
// control plane through a real RedshiftClient whose calls aws-sdk-client-mock answers from the
// emulator's record of GRANT USAGE statements and the authorizations made since.
import {
  AuthorizeDataShareCommand,
  DeauthorizeDataShareCommand,
  DescribeClustersCommand,
  DescribeDataSharesForProducerCommand,
  RedshiftClient,
} from '@aws-sdk/client-redshift';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import type pg from 'pg';
import type { ConnectionConfig } from '../../src/config/types.js';
import type { OpenedConnection } from '../../src/providers/connect.js';
import { type DataApiTarget, DataApiTransport } from '../../src/providers/redshift/data-api-transport.js';
import { RedshiftControlPlane } from '../../src/providers/redshift/redshift-control-plane.js';
import { RedshiftProvider } from '../../src/providers/redshift/redshift-provider.js';
import { type FakeDataApi, startFakeDataApi } from './fake-data-api.js';
import {
  EMULATED_ACCOUNT,
  EMULATED_NAMESPACE,
  installRedshiftEmulator,
  type RedshiftEmulator,
} from './redshift-emulator.js';

export const NAMESPACE_ARN = `arn:aws:redshift:us-east-1:${EMULATED_ACCOUNT}:namespace:${EMULATED_NAMESPACE}`;

export interface RedshiftHarness {
  fake: FakeDataApi;
  emulator: RedshiftEmulator;
  controlPlane: ReturnType<typeof mockClient>;
  /** Consumer identifiers authorized, by share name. */
  authorized: Map<string, Set<string>>;
  /** For planConfig({ open }). */
  open(name: string, config: ConnectionConfig): Promise<OpenedConnection>;
  /** Data API calls of each operation since the last reset. */
  transports: DataApiTransport[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  nodeType?: string;
  encrypted?: boolean;
  pageSize?: number;
}

export async function startRedshiftHarness(
  db: pg.Client,
  options: HarnessOptions = {},
): Promise<RedshiftHarness> {
  const emulator = await installRedshiftEmulator(db);
  const fake = await startFakeDataApi({
    pg: db,
    rewrite: emulator.rewrite,
    ...(options.pageSize ? { pageSize: options.pageSize } : {}),
  });
  const data = new RedshiftDataClient({
    endpoint: fake.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  const rs = new RedshiftClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const cp = mockClient(rs);
  const authorized = new Map<string, Set<string>>();
  cp.on(DescribeClustersCommand).resolves({
    Clusters: [
      {
        ClusterIdentifier: 'analytics',
        NodeType: options.nodeType ?? 'ra3.xlplus',
        Encrypted: options.encrypted ?? true,
        ClusterNamespaceArn: NAMESPACE_ARN,
      },
    ],
  });
  cp.on(DescribeDataSharesForProducerCommand).callsFake(() => ({
    DataShares: [...emulator.grants].map(([share, consumers]) => ({
      DataShareArn: `arn:aws:redshift:us-east-1:${EMULATED_ACCOUNT}:datashare:${EMULATED_NAMESPACE}/${share}`,
      ProducerArn: NAMESPACE_ARN,
      DataShareAssociations: [...consumers].map((c) => ({
        ConsumerIdentifier: c,
        Status: authorized.get(share)?.has(c) ? 'AUTHORIZED' : 'PENDING_AUTHORIZATION',
      })),
    })),
  }));
  const shareOf = (arn: string | undefined) => String(arn).slice(String(arn).lastIndexOf('/') + 1);
  cp.on(AuthorizeDataShareCommand).callsFake(
    (input: { DataShareArn?: string; ConsumerIdentifier?: string }) => {
      const share = shareOf(input.DataShareArn);
      authorized.set(share, (authorized.get(share) ?? new Set()).add(String(input.ConsumerIdentifier)));
      return { DataShareArn: input.DataShareArn, Status: 'AUTHORIZED' };
    },
  );
  cp.on(DeauthorizeDataShareCommand).callsFake(
    (input: { DataShareArn?: string; ConsumerIdentifier?: string }) => {
      authorized.get(shareOf(input.DataShareArn))?.delete(String(input.ConsumerIdentifier));
      return { DataShareArn: input.DataShareArn, Status: 'DEAUTHORIZED' };
    },
  );
  const transports: DataApiTransport[] = [];
  const open = async (name: string, config: ConnectionConfig): Promise<OpenedConnection> => {
    const target: DataApiTarget = {
      ...(config.cluster ? { clusterIdentifier: config.cluster } : {}),
      ...(config.workgroup ? { workgroupName: config.workgroup } : {}),
      database: config.database ?? 'dev',
      ...(config.secretArn ? { secretArn: config.secretArn } : {}),
      ...(config.dbUser ? { dbUser: config.dbUser } : {}),
    };
    const transport = new DataApiTransport(data, target, { sleep: async () => {} });
    transports.push(transport);
    const provider = new RedshiftProvider(transport, new RedshiftControlPlane(rs), target, {
      region: 'us-east-1',
      sleep: async () => {},
    });
    return {
      name,
      config,
      provider,
      dataApi: transport,
      description: 'emulated Redshift',
      close: () => provider.close(),
    };
  };
  return {
    fake,
    emulator,
    controlPlane: cp,
    authorized,
    open,
    transports,
    close: async () => {
      data.destroy();
      cp.restore();
      await fake.close();
    },
  };
}
