// The examples that declare syncs, run for real: the quickstart on the embedded warehouse
// through the real executable (apply, then sync twice: events appended, profiles merged), and
// the Etleap CDC example applied to a test server and fed the seed's kind of changes.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { startTestServer, type TestServer } from './support/pg.js';

const run = promisify(execFile);
const ROOT = path.join(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'wharf.js');

let server: TestServer;
let work: string;
beforeAll(async () => {
  server = await startTestServer();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-sync-examples-'));
});
afterAll(async () => {
  await server?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

async function wharf(...args: string[]) {
  const env = { ...process.env, NO_COLOR: '1', WHARF_LOCAL_PG_BIN: process.env.WHARF_TEST_PG_BIN ?? '' };
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      cwd: work,
      env,
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('quickstart on the embedded warehouse', () => {
  it('apply then sync: sample rows land in raw.*, events are appended and profiles merged into analytics.*', async () => {
    fs.copyFileSync(path.join(ROOT, 'examples', 'quickstart.yaml'), path.join(work, 'quickstart.yaml'));
    const applied = await wharf('apply', '-f', 'quickstart.yaml', '--auto-approve');
    expect(applied.code).toBe(0);
    const first = await wharf('sync', '-f', 'quickstart.yaml', '--json');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const a = JSON.parse(first.stdout);
    expect(a.syncs.map((s: { name: string; status: string }) => `${s.name}:${s.status}`)).toEqual([
      'sample-events:ok',
      'sample-users:ok',
      'events:ok',
      'users:ok',
      'events-to-files:ok',
    ]);
    expect(a.syncs[2].rows.inserted).toBe(5);
    // The events land as parquet files in the local bucket, one folder per Pacific day.
    expect(a.syncs[4].rows.inserted).toBe(5);
    const files = a.syncs[4].export.files.map((f: { key: string }) => f.key);
    expect(files.length).toBeGreaterThan(0);
    for (const k of files) {
      expect(k).toMatch(/^events\/\d{4}-\d{2}-\d{2}\/events-to-files-r000001-0001\.parquet$/);
      expect(fs.existsSync(path.join(work, '.wharf', 'buckets', 'acme-vendor-drop', k))).toBe(true);
    }
    const second = await wharf('sync', '-f', 'quickstart.yaml');
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/sync events \(append\): ok, 5 inserted, 0 updated, 0 deleted/);
    expect(second.stdout).toMatch(/sync events-to-files \(append\): ok, 5 rows in \d+ parquet files? /);
    expect(second.stdout).toContain('Sync complete: 5 ok, 0 failed.');
    // The destination equals the source, read back through the embedded server.
    const dir = path.join(work, '.wharf', 'local');
    const { acquireLocalServer } = await import('../src/providers/local/local-server.js');
    const local = await acquireLocalServer({ dir, binDir: process.env.WHARF_TEST_PG_BIN || undefined });
    const c = new pg.Client({
      host: local.host,
      port: local.port,
      user: local.user,
      password: local.password,
      database: 'wharf',
    });
    await c.connect();
    try {
      const q = async (sql: string) => (await c.query<{ r: string }>(sql)).rows.map((r) => r.r).sort();
      expect(await q('SELECT e::text AS r FROM analytics.events e')).toEqual(
        await q('SELECT e::text AS r FROM raw.events e'),
      );
      expect(await q('SELECT u::text AS r FROM analytics.users u')).toEqual(
        await q('SELECT u::text AS r FROM raw.users u'),
      );
      expect((await q('SELECT count(*)::text AS r FROM analytics.events'))[0]).toBe('10');
    } finally {
      await c.end();
      await local.release();
    }
    const plan = await wharf('plan', '-f', 'quickstart.yaml', '--detailed-exitcode');
    expect(plan.code).toBe(0);
  }, 120_000);
});

describe('examples/etleap-cdc.yaml', () => {
  it('applies, then mirrors the change table into cart', async () => {
    const db = await server.createDatabase('etleap');
    const text = fs
      .readFileSync(path.join(ROOT, 'examples', 'etleap-cdc.yaml'), 'utf8')
      .replace('type: local', `type: postgres\n    url: "${server.urlFor(db)}"`);
    const file = path.join(work, 'etleap-cdc.yaml');
    fs.writeFileSync(file, text);
    expect((await runCli(['apply', '-f', file, '--auto-approve'])).code).toBe(0);
    const c = await server.client(db);
    try {
      await c.query(`INSERT INTO etleap.cart_staging VALUES
        (1, 'I', 10, 7, 12.50, 1, false, '2021-11-05 23:01'),
        (2, 'I', 11, 8, 3.00, 2, false, '2021-11-05 23:02'),
        (3, 'U', 10, 7, 25.00, 2, false, '2021-11-05 23:05'),
        (4, 'D', 11, 8, 3.00, 2, false, '2021-11-05 23:06'),
        (6, 'U', 10, 7, 25.00, 2, true, '2021-11-05 23:11')`);
      expect((await runCli(['sync', '-f', file])).code).toBe(0);
      // A late change (5, older than 6) and a replay arrive afterwards.
      await c.query(`INSERT INTO etleap.cart_staging VALUES
        (5, 'U', 10, 7, 99.00, 9, false, '2021-11-05 23:10'),
        (7, 'I', 12, 9, 1.00, 1, false, '2021-11-05 23:12')`);
      const r = await runCli(['sync', '-f', file, '--json']);
      expect(r.code).toBe(0);
      const rows = (
        await c.query<{ r: string }>('SELECT c::text AS r FROM shop.cart c ORDER BY id')
      ).rows.map((x) => x.r);
      expect(rows).toEqual(['(10,7,25.00,2,t,"2021-11-05 23:11")', '(12,9,1.00,1,f,"2021-11-05 23:12")']);
      expect((await runCli(['plan', '-f', file, '--detailed-exitcode'])).code).toBe(0);
    } finally {
      await c.end();
    }
  });
});
