// Wires a Redshift provider to the test stand-ins: the Data API through the real SDK client to
// the loopback fake (statements run on PostgreSQL behind the Redshift emulator), and the
// control plane through a real RedshiftClient to the loopback control-plane server (AWS Query
// protocol), which knows cluster `analytics` and the shares the emulator recorded GRANT USAGE
// statements for, and keeps the authorizations made since.
import { RedshiftClient } from '@aws-sdk/client-redshift';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import type pg from 'pg';
import type { ConnectionConfig } from '../../src/config/types.js';
import type { OpenedConnection } from '../../src/providers/connect.js';
import { type DataApiTarget, DataApiTransport } from '../../src/providers/redshift/data-api-transport.js';
import { RedshiftControlPlane } from '../../src/providers/redshift/redshift-control-plane.js';
import { RedshiftProvider } from '../../src/providers/redshift/redshift-provider.js';
import { type FakeDataApi, startFakeDataApi } from './fake-data-api.js';
import { type ControlPlaneServer, startControlPlaneServer } from './redshift-control-server.js';
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
  /** The control-plane server: its requests, and faults to inject. */
  controlPlane: ControlPlaneServer;
  /** Consumer identifiers authorized, by share name (the control-plane server's state). */
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
  /** Datashares per page of DescribeDataSharesForProducer. */
  controlPageSize?: number;
  /** The S3 server UNLOAD writes into (bucket exports); without it UNLOAD fails. */
  s3Endpoint?: string;
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
    ...(options.s3Endpoint ? { s3Endpoint: options.s3Endpoint } : {}),
  });
  const data = new RedshiftDataClient({
    endpoint: fake.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  const cp = await startControlPlaneServer({
    account: EMULATED_ACCOUNT,
    namespace: EMULATED_NAMESPACE,
    clusters: [
      {
        identifier: 'analytics',
        nodeType: options.nodeType ?? 'ra3.xlplus',
        encrypted: options.encrypted ?? true,
        namespaceArn: NAMESPACE_ARN,
      },
    ],
    shares: () => emulator.grants,
    ...(options.controlPageSize ? { pageSize: options.controlPageSize } : {}),
  });
  const rs = new RedshiftClient({
    endpoint: cp.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  const authorized = cp.authorized;
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
      rs.destroy();
      await fake.close();
      await cp.close();
    },
  };
}
