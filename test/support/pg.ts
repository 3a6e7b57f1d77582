// A real PostgreSQL server for a test file: the embedded binaries by default, or the ones in
// WHARF_TEST_PG_BIN (CI also runs the suite against the machine's PostgreSQL 15). Listens on
// 127.0.0.1 only and lives in a temp folder.
//
// Under `vitest run` the server is shared: one per vitest worker (VITEST_POOL_ID), started by
// the first test file that worker runs and stopped by the global setup (support/global-setup.ts).
// A worker runs one file at a time, so files that run at the same time never share a server,
// and the roles they create (cluster-wide in PostgreSQL, and often named alike: `heap`,
// `analysts`) cannot collide. Each file works in databases of its own (`createDatabase`);
// at its start and in `stop()` every database and role but the superuser is dropped and
// ALTER SYSTEM settings are reset, so each file starts from the same empty server. `{ own: true }`, or running outside that setup
// (the benchmarks), starts and stops a server for the file alone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { acquireLocalServer, type LocalServer } from '../../src/providers/local/local-server.js';

export interface TestServer {
  server: LocalServer;
  dir: string;
  /** Env var holding the superuser password, for `${env:...}` URLs in test configs. */
  passwordEnv: string;
  /** A URL for config files: the password stays an env reference. */
  urlFor(database: string): string;
  /** A URL with the password, for test code only. */
  rawUrl(database: string, user?: string, password?: string): string;
  /** Creates a fresh database and returns its name. */
  createDatabase(prefix?: string): Promise<string>;
  client(database: string, user?: string, password?: string): Promise<pg.Client>;
  /** Drops this file's databases and roles (shared server), or stops its own server. */
  stop(): Promise<void>;
}

let counter = 0;

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The shared servers' folder when the global setup runs (see the header). */
function sharedRoot(): string | undefined {
  try {
    return inject('wharfTestPgRoot');
  } catch {
    return undefined;
  }
}

export async function startTestServer(opts: { own?: boolean } = {}): Promise<TestServer> {
  const root = opts.own ? undefined : sharedRoot();
  const dir = root
    ? path.join(root, `slot-${process.env.VITEST_POOL_ID ?? '1'}`)
    : fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-test-pg-'));
  const server = await acquireLocalServer({
    dir,
    database: 'postgres',
    binDir: process.env.WHARF_TEST_PG_BIN || undefined,
  });
  const passwordEnv = `WHARF_TEST_PG_PASSWORD`;
  const savedPassword = process.env[passwordEnv];
  process.env[passwordEnv] = server.password;
  const rawUrl = (db: string, user = server.user, password = server.password) =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${server.port}/${db}`;
  const client = async (db: string, user?: string, password?: string) => {
    const c = new pg.Client({ connectionString: rawUrl(db, user, password) });
    c.on('error', () => {});
    await c.connect();
    return c;
  };
  /** Drops every database and role but PostgreSQL's own and the superuser, resets ALTER SYSTEM: an empty server. */
  const reset = async () => {
    const c = await client('postgres');
    try {
      const dbs = await c.query(
        `SELECT datname AS name FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1')`,
      );
      for (const { name } of dbs.rows) await c.query(`DROP DATABASE ${quote(name)} WITH (FORCE)`);
      const roles = await c.query(
        `SELECT rolname AS name FROM pg_roles WHERE rolname !~ '^pg_' AND rolname <> current_user`,
      );
      if (roles.rows.length) {
        const list = roles.rows.map((r) => quote(r.name)).join(', ');
        await c.query(`DROP OWNED BY ${list} CASCADE`);
        await c.query(`DROP ROLE ${list}`);
      }
      await c.query('ALTER SYSTEM RESET ALL');
      await c.query('SELECT pg_reload_conf()');
    } finally {
      await c.end();
    }
  };
  // A shared server: whatever a file before this one left (if it ended early) goes first.
  if (root) await reset();
  return {
    server,
    dir,
    passwordEnv,
    urlFor: (db) => `postgres://${server.user}:\${env:${passwordEnv}}@127.0.0.1:${server.port}/${db}`,
    rawUrl,
    client,
    async createDatabase(prefix = 'db') {
      const name = `${prefix}_${process.pid}_${++counter}`;
      const c = await client('postgres');
      try {
        await c.query(`CREATE DATABASE "${name}"`);
      } finally {
        await c.end();
      }
      return name;
    },
    async stop() {
      if (savedPassword === undefined) delete process.env[passwordEnv];
      else process.env[passwordEnv] = savedPassword;
      // The server stays up for the worker's next file: leave it empty.
      if (root) await reset();
      else {
        await server.release();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
