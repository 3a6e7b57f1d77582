// One file for several environments: `${env:NAME}` (with `:-default`) in every string value,
// values from `--var`, `--var-file` and the environment (in that order), resolved values shown in
// the plan except secrets, and `-f DIR` merging a folder's files. Runs the CLI in-process against
// two databases of a real PostgreSQL and the embedded bucket store.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { startTestServer, type TestServer } from './support/pg.js';

let pg: TestServer;
let dir: string;
let dbA: string;
let dbB: string;
const saved: Record<string, string | undefined> = {};

/** Sets (or unsets) environment variables for one test; afterEach puts them back. */
function setEnv(vars: Record<string, string | undefined>) {
  for (const [k, v] of Object.entries(vars)) {
    if (!(k in saved)) saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

beforeAll(async () => {
  pg = await startTestServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-envs-'));
  dbA = await pg.createDatabase('staging');
  dbB = await pg.createDatabase('production');
}, 120_000);

afterAll(async () => {
  await pg?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
    delete saved[k];
  }
});

/** The environment-neutral file: the database, the vendor's user and the bucket differ. */
function writeShared(name = 'wharf.yaml'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(
    file,
    `version: 1
connections:
  wh:
    type: postgres
    url: "postgres://${pg.server.user}:\${env:WH_PASSWORD}@127.0.0.1:${pg.server.port}/\${env:WH_DATABASE}"
  files:
    type: local-bucket
    dir: "\${env:BUCKET_DIR:-buckets}"
defaultConnection: wh
schemas:
  - name: vendor_share
    owner: "\${env:VENDOR_USER}"
roles:
  - name: "\${env:VENDOR_USER}"
    type: user
buckets:
  - name: "acme-\${env:STAGE}-drop"
    create: true
    folders: ["\${env:VENDOR_FOLDER:-events}/"]
`,
  );
  return file;
}

interface JsonPlan {
  changes: { address: string; action: string }[];
  diagnostics: { severity: string; message: string }[];
}

async function planJson(file: string, vars: string[]): Promise<JsonPlan> {
  const r = await runCli(['plan', '-f', file, '--json', ...vars.flatMap((v) => ['--var', v])]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as JsonPlan;
}

describe('one file, two environments', () => {
  it('plans the two expected plans against two databases', async () => {
    const file = writeShared();
    setEnv({ WH_PASSWORD: pg.server.password });
    const staging = [`WH_DATABASE=${dbA}`, 'VENDOR_USER=heap_staging', 'STAGE=staging'];
    const production = [`WH_DATABASE=${dbB}`, 'VENDOR_USER=heap_prod', 'STAGE=prod', 'VENDOR_FOLDER=heap'];
    const a = await planJson(file, staging);
    const b = await planJson(file, production);
    const addresses = (p: JsonPlan) => p.changes.map((c) => `${c.action} ${c.address}`).sort();
    expect(addresses(a)).toEqual(
      [
        'create wh.role:heap_staging',
        'create wh.schema:vendor_share',
        'create files.bucket:acme-staging-drop',
      ].sort(),
    );
    expect(addresses(b)).toEqual(
      [
        'create wh.role:heap_prod',
        'create wh.schema:vendor_share',
        'create files.bucket:acme-prod-drop',
      ].sort(),
    );
    // The resolved values are what the plan shows (and its SQL uses).
    const text = await runCli(['plan', '-f', file, ...production.flatMap((v) => ['--var', v])]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('"heap_prod"');
    expect(text.stdout).toContain('heap/');
    expect(text.stdout).not.toContain('${env:');

    // Apply staging to its database; then staging plans nothing and production still plans its own.
    const applied = await runCli([
      'apply',
      '-f',
      file,
      '--auto-approve',
      ...staging.flatMap((v) => ['--var', v]),
    ]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect((await planJson(file, staging)).changes).toEqual([]);
    expect(addresses(await planJson(file, production))).toEqual(addresses(b));
    const c = await pg.client(dbA);
    try {
      const owner = await c.query(
        `SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = 'vendor_share'`,
      );
      expect(owner.rows).toEqual([{ owner: 'heap_staging' }]);
    } finally {
      await c.end();
    }
    const d = await pg.client(dbB);
    try {
      const none = await d.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'vendor_share'`);
      expect(none.rowCount).toBe(0);
    } finally {
      await d.end();
    }
  }, 120_000);
});
