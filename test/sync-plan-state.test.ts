// Sync checks in `wharf plan` follow the tables as the plan leaves them, and a sync problem
// stops only the sync: the quickstart's users sync on a real server, with a column added to
// the destination alone (apply goes through, `wharf sync` refuses the sync), then to the
// source as well (the plan that fixes it applies, and the sync runs).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { startTestServer, type TestServer } from './support/pg.js';

let server: TestServer;
let work: string;
let db: pg.Client;
let file: string;
let url: string;
beforeAll(async () => {
  server = await startTestServer();
  const name = await server.createDatabase('planstate');
  db = await server.client(name);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-plan-state-'));
  file = path.join(work, 'wharf.yaml');
  url = server.urlFor(name);
});
afterAll(async () => {
  await db?.end();
  await server?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const USER_COLUMNS = `      - { name: USER_ID, type: bigint }
      - { name: USER_CREATION_TIME, type: timestamp }
      - { name: UPDATED_AT, type: timestamp, nullable: false, default: CURRENT_TIMESTAMP }
      - { name: EMAIL, type: varchar(320) }
      - { name: COUNTRY, type: char(2) }
      - { name: PLAN, type: varchar(64) }`;

/** The quickstart's raw.users -> analytics.users merge, with extra columns on either side. */
function writeFile(extra: { raw?: string[]; analytics?: string[] }): void {
  const cols = (xs: string[] = []) =>
    [USER_COLUMNS, ...xs.map((x) => `      - { name: ${x}, type: timestamp }`)].join('\n');
  fs.writeFileSync(
    file,
    `version: 1
connections:
  warehouse: { type: postgres, url: "${url}" }
schemas:
  - name: raw
  - name: analytics
tables:
  - schema: analytics
    name: users
    kind: profiles
    columns:
${cols(extra.analytics)}
    primaryKey: [USER_ID]
  - schema: raw
    name: users
    columns:
${cols(extra.raw)}
    primaryKey: [USER_ID]
syncs:
  - name: users
    from: { table: raw.users }
    to: { table: analytics.users }
    mode: merge
    primaryKey: [USER_ID]
    cursor: { column: UPDATED_AT, lookback: 5m }
`,
  );
}

const wharf = (...args: string[]) => runCli([...args, '-f', file]);
const PROBLEM = 'sync users: destination column last_seen is not in the source table raw.users';
const rows = async (sql: string) => (await db.query(sql)).rows.map((r) => JSON.stringify(r));
interface Diag {
  severity: string;
  code: string;
  message: string;
  line?: number;
}
const planDiagnostics = async (): Promise<Diag[]> => {
  const r = await wharf('plan', '--json');
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as { diagnostics: Diag[] }).diagnostics;
};

describe('sync checks follow the planned state', () => {
  it('a column on the destination only: apply goes through, sync refuses; adding it to the source fixes both', async () => {
    writeFile({});
    expect((await wharf('apply', '--auto-approve')).code).toBe(0);
    await db.query(`INSERT INTO raw.users (user_id, updated_at, email) VALUES
      (1, '2026-01-01 10:00', 'a@x'), (2, '2026-01-01 11:00', 'b@x')`);
    const first = await wharf('sync');
    expect(first.stdout).toContain('sync users (merge): ok, 2 inserted');
    expect(first.code).toBe(0);

    // 1. The destination alone gains last_seen: the plan shows the sync problem, at the sync.
    writeFile({ analytics: ['LAST_SEEN'] });
    const plan = await wharf('plan', '--detailed-exitcode');
    expect(plan.code).toBe(2); // changes, and no blocking error
    expect(plan.stdout).toContain(`error: ${PROBLEM}`);
    expect(plan.stdout).toContain('This sync problem stops only the sync: apply is not blocked');
    expect(plan.stdout).toMatch(/~ +warehouse\.table:analytics\.users {2}update/);
    const diags = await planDiagnostics();
    expect(diags.map((d) => [d.severity, d.code, d.message])).toEqual([['error', 'sync-check', PROBLEM]]);
    expect(diags[0]!.line).toBe(fs.readFileSync(file, 'utf8').split('\n').indexOf('  - name: users') + 1);
    const md = await wharf('plan', '--markdown');
    expect(md.stdout).toContain('This sync problem stops only the sync');

    // Apply makes the infrastructure change all the same.
    const applied = await wharf('apply', '--auto-approve');
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('analytics.users: done');
    expect(
      await rows(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'analytics' AND table_name = 'users' AND column_name = 'last_seen'",
      ),
    ).toEqual(['{"column_name":"last_seen"}']);

    // Plan and drift stay usable: the sync problem is reported, nothing blocks.
    const after = await wharf('plan', '--detailed-exitcode');
    expect(after.code).toBe(0);
    expect(after.stdout).toContain(`error: ${PROBLEM}`);
    expect((await wharf('drift')).code).toBe(0);

    // wharf sync refuses that sync, with the message, and moves nothing.
    await db.query(`UPDATE raw.users SET email = 'b2@x', updated_at = '2026-01-02' WHERE user_id = 2`);
    const refused = await wharf('sync');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('sync users (merge): failed');
    expect(refused.stdout).toContain(
      'error: destination column last_seen is not in the source table raw.users',
    );
    const json = JSON.parse((await wharf('sync', '--json')).stdout);
    expect(json.syncs[0].status).toBe('failed');
    expect(json.syncs[0].error).toContain(PROBLEM);
    expect(await rows('SELECT email FROM analytics.users ORDER BY user_id')).toEqual([
      '{"email":"a@x"}',
      '{"email":"b@x"}',
    ]);

    // 2. The source gains it too, in the file: the plan that fixes the sync has no problem.
    writeFile({ raw: ['LAST_SEEN'], analytics: ['LAST_SEEN'] });
    expect(await planDiagnostics()).toEqual([]);
    expect((await wharf('apply', '--auto-approve')).code).toBe(0);
    await db.query(
      `UPDATE raw.users SET last_seen = '2026-01-03', updated_at = '2026-01-03' WHERE user_id = 1`,
    );
    const fixed = await wharf('sync');
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toContain('sync users (merge): ok, 0 inserted, 2 updated');
    expect(await rows('SELECT email, last_seen::text FROM analytics.users ORDER BY user_id')).toEqual([
      '{"email":"a@x","last_seen":"2026-01-03 00:00:00"}',
      '{"email":"b2@x","last_seen":null}',
    ]);
  });

  it('a plan that changes both tables of a sync in one go applies, then syncs', async () => {
    writeFile({ raw: ['LAST_SEEN', 'CHURNED_AT'], analytics: ['LAST_SEEN', 'CHURNED_AT'] });
    expect(await planDiagnostics()).toEqual([]);
    expect((await wharf('apply', '--auto-approve')).code).toBe(0);
    await db.query(
      `UPDATE raw.users SET churned_at = '2026-02-01', updated_at = '2026-02-01' WHERE user_id = 2`,
    );
    const r = await wharf('sync');
    expect(r.code).toBe(0);
    expect(
      await rows('SELECT user_id, churned_at IS NOT NULL AS churned FROM analytics.users ORDER BY 1'),
    ).toEqual(['{"user_id":"1","churned":false}', '{"user_id":"2","churned":true}']);
  });

  it('a sync into a table the plan drops or whose source the plan narrows is reported from the plan, not the live tables', async () => {
    // The plan drops churned_at from raw.users (destructive) while analytics keeps it.
    writeFile({ raw: ['LAST_SEEN'], analytics: ['LAST_SEEN', 'CHURNED_AT'] });
    const diags = await planDiagnostics();
    expect(diags.map((d) => [d.code, d.message])).toEqual([
      ['sync-check', 'sync users: destination column churned_at is not in the source table raw.users'],
    ]);
  });
});
