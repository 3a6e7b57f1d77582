// Opens a PostgreSQL connection: the embedded server (`local`, started or joined through
// src/providers/local) or a server by URL (`postgres`). Environment references are resolved here,
// at connect time; the session opened is handed to the provider, and over to a sync runner once.
import path from 'node:path';
import pg from 'pg';
import { resolveConnectionString } from '../../config/connection-string.js';
import { redactSecrets, registerSecret } from '../../config/secrets.js';
import type { ConnectionConfig } from '../../config/types.js';
import { ConnectError, type OpenedConnection } from '../connect.js';
import { acquireLocalServer } from '../local/local-server.js';
import { ClientConfigError, pgClientConfig } from './pg-client-config.js';
import { PostgresProvider } from './postgres-provider.js';

const SESSION_OPTIONS = '-c TimeZone=UTC -c client_min_messages=warning';

export async function openPostgresConnection(
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
      registerSecret(server.password);
      const params = {
        host: server.host,
        port: server.port,
        user: server.user,
        password: server.password,
        database: server.database,
        options: SESSION_OPTIONS,
        application_name: 'wharf',
      };
      const connectClient = clientFactory(params);
      let client: pg.Client;
      try {
        client = await connectClient();
      } catch (e) {
        await server.release();
        throw new ConnectError(name, (e as Error).message);
      }
      const provider = new PostgresProvider(client, 'local');
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
      // The URL is read into parts and each reference resolved inside its part, so a password
      // with `@ # / ? %` stays one password, and every secret is known for redaction first.
      let params: pg.ClientConfig;
      try {
        const { parts, secrets } = resolveConnectionString(config.url ?? '', `connection ${name}: url`);
        for (const v of secrets) registerSecret(v);
        params = pgClientConfig(parts, {
          sessionOptions: SESSION_OPTIONS,
          applicationName: 'wharf',
          ...(config.database ? { database: config.database } : {}),
        });
      } catch (e) {
        if (e instanceof ClientConfigError) throw new ConnectError(name, `url: ${e.message}`);
        throw e;
      }
      const connectClient = clientFactory(params);
      let client: pg.Client;
      try {
        client = await connectClient();
      } catch (e) {
        throw new ConnectError(name, redactSecrets(reachError(e as Error, params)));
      }
      const provider = new PostgresProvider(client, 'postgres');
      return {
        name,
        config,
        provider,
        connectSql: connectClient,
        takeSession: handOver(client),
        description: describeParams(params),
        close: () => provider.close(),
      };
    }
    default:
      throw new ConnectError(name, `unsupported connection type ${config.type}`);
  }
}

/** Opens a new session with `params` on each call; the caller ends it. */
function clientFactory(params: pg.ClientConfig): () => Promise<pg.Client> {
  return async () => {
    const c = new pg.Client(params);
    c.on('error', () => {});
    await c.connect();
    return c;
  };
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

/** host:port/db, without credentials. */
function describeParams(p: pg.ClientConfig): string {
  return `PostgreSQL at ${p.host ?? 'localhost'}${p.port ? `:${p.port}` : ''}/${p.database ?? p.user ?? ''}`;
}

/** The driver's message, with where it tried to go when the message does not say. */
function reachError(e: Error, p: pg.ClientConfig): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOTFOUND' || code === 'ECONNREFUSED' || code === 'ETIMEDOUT' || code === 'EAI_AGAIN')
    return `cannot reach ${p.host ?? 'localhost'}:${p.port ?? 5432} (${code})`;
  return e.message;
}
