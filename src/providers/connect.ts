// Connection config -> a ready provider. The only place clients are constructed; everything
// below receives them. Environment references are resolved here, at connect time.
import path from 'node:path';
import pg from 'pg';
import { resolveEnv } from '../config/env.js';
import type { ConnectionConfig } from '../config/types.js';
import { openBucketConnection } from './connect-buckets.js';
import { openRedshiftConnection } from './connect-redshift.js';
import { acquireLocalServer } from './local/local-server.js';
import { PostgresProvider } from './postgres/postgres-provider.js';
import type { WarehouseProvider } from './provider.js';
import type { DataApiTransport } from './redshift/data-api-transport.js';

export interface OpenedConnection {
  name: string;
  config: ConnectionConfig;
  provider: WarehouseProvider;
  /** e.g. `local (embedded PostgreSQL on 127.0.0.1:54012)`; never contains a password. */
  description: string;
  /** PostgreSQL engines: opens another session (the sync runner's sessions); the caller ends it. */
  connectSql?: () => Promise<pg.Client>;
  /** Redshift: the Data API transport statements run through (the sync runner's push-down). */
  dataApi?: DataApiTransport;
  /**
   * PostgreSQL engines: hands the session opened with the connection over to the caller, once
   * (later calls return undefined), so a caller that never uses `provider` (the sync runner)
   * does not pay for a second login. The caller ends it; `provider` is unusable afterwards.
   */
  takeSession?: () => pg.Client | undefined;
  close(): Promise<void>;
}

export class ConnectError extends Error {
  constructor(
    readonly connection: string,
    message: string,
  ) {
    super(`connection ${connection}: ${message}`);
    this.name = 'ConnectError';
  }
}

const SESSION_OPTIONS = '-c TimeZone=UTC -c client_min_messages=warning';

export async function openConnection(
  name: string,
  config: ConnectionConfig,
  baseDir: string,
): Promise<OpenedConnection> {
  switch (config.type) {
    case 'local': {
      const dir = path.resolve(baseDir, config.dataDir ?? '.wharf/local');
      const server = await acquireLocalServer({
        dir,
        database: config.database ?? 'wharf',
        binDir: process.env.WHARF_LOCAL_PG_BIN || undefined,
      });
      const params = {
        host: server.host,
        port: server.port,
        user: server.user,
        password: server.password,
        database: server.database,
        options: SESSION_OPTIONS,
        application_name: 'wharf',
      };
      const connectClient = async () => {
        const c = new pg.Client(params);
        c.on('error', () => {});
        await c.connect();
        return c;
      };
      let client: pg.Client;
      try {
        client = await connectClient();
      } catch (e) {
        await server.release();
        throw new ConnectError(name, (e as Error).message);
      }
      const provider = new PostgresProvider(client, connectClient, 'local');
      return {
        name,
        config,
        provider,
        connectSql: connectClient,
        takeSession: handOver(client),
        description: `embedded PostgreSQL on 127.0.0.1:${server.port}, data in ${path.relative(process.cwd(), dir) || '.'}`,
        close: async () => {
          await provider.close();
          await server.release();
        },
      };
    }
    case 'postgres': {
      const url = resolveEnv(config.url ?? '', `connection ${name}: url`);
      const params: pg.ClientConfig = {
        connectionString: url,
        options: SESSION_OPTIONS,
        application_name: 'wharf',
      };
      if (config.database) params.database = config.database;
      const connectClient = async () => {
        const c = new pg.Client(params);
        c.on('error', () => {});
        await c.connect();
        return c;
      };
      let client: pg.Client;
      try {
        client = await connectClient();
      } catch (e) {
        throw new ConnectError(name, redact((e as Error).message, url));
      }
      const provider = new PostgresProvider(client, connectClient, 'postgres');
      return {
        name,
        config,
        provider,
        connectSql: connectClient,
        takeSession: handOver(client),
        description: describeUrl(url),
        close: () => provider.close(),
      };
    }
    case 's3':
    case 'local-bucket':
      return openBucketConnection(name, config, baseDir);
    case 'redshift':
      return openRedshiftConnection(name, config);
    default:
      throw new ConnectError(name, `unsupported connection type ${(config as { type: string }).type}`);
  }
}

/** Returns `client` on the first call, undefined after. */
function handOver(client: pg.Client): () => pg.Client | undefined {
  let held: pg.Client | undefined = client;
  return () => {
    const c = held;
    held = undefined;
    return c;
  };
}

/** host:port/db of a URL, without credentials. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `PostgreSQL at ${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}

function redact(message: string, url: string): string {
  try {
    const pw = decodeURIComponent(new URL(url).password);
    return pw ? message.split(pw).join('***') : message;
  } catch {
    return message;
  }
}
