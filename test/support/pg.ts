// A real PostgreSQL server per test file: the embedded binaries by default, or the ones in
// WHARF_TEST_PG_BIN (CI also runs the suite against the machine's PostgreSQL 15). Listens
// on 127.0.0.1 only, lives in a temp folder, stopped and removed by `stop()`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
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
  stop(): Promise<void>;
}

let counter = 0;

export async function startTestServer(): Promise<TestServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-test-pg-'));
  const server = await acquireLocalServer({
    dir,
    database: 'postgres',
    binDir: process.env.WHARF_TEST_PG_BIN || undefined,
  });
  const passwordEnv = `WHARF_TEST_PG_PASSWORD`;
  process.env[passwordEnv] = server.password;
  const rawUrl = (db: string, user = server.user, password = server.password) =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${server.port}/${db}`;
  const client = async (db: string, user?: string, password?: string) => {
    const c = new pg.Client({ connectionString: rawUrl(db, user, password) });
    c.on('error', () => {});
    await c.connect();
    return c;
  };
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
      await server.release();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
