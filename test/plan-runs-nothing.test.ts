// `wharf plan` runs in pull-request pipelines with warehouse credentials before anyone has
// reviewed the file, so it must execute nothing the file says. A sync query is only
// described (Parse and Describe, no Execute) in a read-only transaction: a query that
// sleeps, writes a large object or exports a file on the database host does none of it at
// plan time, and the server's statement log (log_statement = all) never records it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { startTestServer, type TestServer } from './support/pg.js';

let server: TestServer;
let admin: pg.Client;
let db: string;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-plan-nothing-'));

beforeAll(async () => {
  server = await startTestServer();
  db = await server.createDatabase('nothing');
  admin = await server.client(db);
  await admin.query(`ALTER SYSTEM SET log_statement = 'all'`);
  await admin.query('SELECT pg_reload_conf()');
  await admin.query('CREATE SCHEMA app');
  await admin.query('CREATE TABLE app.t (id bigint, payload text)');
}, 120_000);

afterAll(async () => {
  await admin?.query('ALTER SYSTEM RESET log_statement').catch(() => {});
  await admin?.end();
  await server?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

function serverLog(): string {
  const files = fs.readdirSync(server.dir).filter((f) => f.endsWith('.log'));
  return files.map((f) => fs.readFileSync(path.join(server.dir, f), 'utf8')).join('\n');
}

// The same query as the source of a table sync and of a bucket export (whose plan also lists
// the rows it would write: estimated for a table source, never for a query).
it.each([
  ['a table sync', 'to: { table: app.t }', ''],
  [
    'a bucket export',
    'to: { bucket: plan-nothing, prefix: out/ }',
    '  files: { type: local-bucket }\nbuckets:\n  - name: plan-nothing\n    create: true\n',
  ],
])(
  'the query of %s, which sleeps and exports a file, is described, never run, and leaves no trace',
  async (_label, to, more) => {
    const exported = path.join(work, 'exported-by-the-query');
    const marker = `wharf_marker_${process.pid}`;
    const file = path.join(work, 'wharf.yaml');
    fs.writeFileSync(
      file,
      `version: 1
connections:
  wh: { type: postgres, url: "${server.urlFor(db)}" }
${more}defaultConnection: wh
syncs:
  - name: s
    from:
      query: "SELECT 1::bigint AS id, (pg_sleep(5)::text || lo_export(lo_create(0), '${exported}')::text || '${marker}') AS payload"
    ${to}
    mode: full
`,
    );
    const logBefore = serverLog().length;
    const los = async () =>
      (await admin.query('SELECT count(*)::int AS n FROM pg_largeobject_metadata')).rows[0].n;
    const losBefore = await los();
    const started = Date.now();
    const plan = await runCli(['plan', '-f', file]);
    const elapsed = Date.now() - started;
    expect(plan.code, plan.stderr).toBe(0);
    // pg_sleep(5) would take five seconds; described, the plan takes a fraction of one.
    expect(elapsed).toBeLessThan(3000);
    expect(fs.existsSync(exported)).toBe(false);
    expect(await los()).toBe(losBefore);
    const active = await admin.query(
      `SELECT pid, state, query FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query LIKE '%' || $1 || '%'`,
      [marker],
    );
    expect(active.rows).toEqual([]);
    // Let the logger flush, then read what the server logged during the plan.
    await admin.query('SELECT 1');
    await new Promise((r) => setTimeout(r, 300));
    const log = serverLog().slice(logBefore);
    expect(log).toMatch(/statement: (BEGIN READ ONLY|SELECT)/);
    expect(log).not.toMatch(/pg_sleep|lo_export/);
  },
);
