// Syncs inside Redshift: source and destination on one Redshift connection, run through the
// real Data API SDK client against the loopback fake, whose statements run on a real
// PostgreSQL behind the Redshift emulator. Each mode's result equals the same reference the
// PostgreSQL tests use (computed from the source alone), a run is two Data API submissions
// whatever the data size, and every failure leaves the destination and the state as they were.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { planConfig } from '../src/commands/plan.js';
import { loadConfigText } from '../src/config/load.js';
import type { LoadedConfig } from '../src/config/types.js';
import { runSyncs } from '../src/sync/run.js';
import { startTestServer, type TestServer } from './support/pg.js';
import { type RedshiftHarness, startRedshiftHarness } from './support/redshift-harness.js';
import {
  ALL_SYNCS,
  DEST_DDL,
  expectReference,
  type REFERENCE,
  rng,
  rowsOf,
  SOURCE_DDL,
  SourceWriter,
} from './support/sync-data.js';

let server: TestServer;
let harness: RedshiftHarness | undefined;
let db: pg.Client | undefined;
const dirs: string[] = [];

beforeAll(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await db?.end();
  db = undefined;
});
afterAll(async () => {
  await server?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function setup(): Promise<{ h: RedshiftHarness; db: pg.Client; data: pg.Client }> {
  const name = await server.createDatabase('rssync');
  db = await server.client(name);
  harness = await startRedshiftHarness(db);
  // A second session on the emulated cluster for the test's own reads and writes.
  const data = await server.client(name);
  await data.query(SOURCE_DDL);
  await data.query(DEST_DDL);
  return { h: harness, db, data };
}

function config(syncs: string): LoadedConfig {
  const text = `version: 1
connections:
  warehouse: { type: redshift, cluster: analytics, database: dev, dbUser: wharf }
syncs:
${syncs
  .replace(/\$FROM/g, '')
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-rssync-'));
  dirs.push(dir);
  const file = path.join(dir, 'wharf.yaml');
  fs.writeFileSync(file, text);
  const r = loadConfigText(text, file);
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return r.loaded!;
}

const expectMatches = (data: pg.Client, names: (keyof typeof REFERENCE)[]) =>
  expectReference(data, data, names);

const dump = async (data: pg.Client) => ({
  events: await rowsOf(data, 'SELECT * FROM analytics.events'),
  users: await rowsOf(data, 'SELECT * FROM analytics.users'),
  cart: await rowsOf(data, 'SELECT * FROM analytics.cart'),
  state: await rowsOf(
    data,
    "SELECT target, name, watermark, last_sequence, rows_loaded FROM wharf_state.sync_state WHERE to_regclass('wharf_state.sync_state') IS NOT NULL",
  ),
});

describe('syncs inside Redshift (emulated)', () => {
  it('append, merge, cdc and full equal their references after every round, in two Data API submissions per sync', async () => {
    const { h, data } = await setup();
    const loaded = config(ALL_SYNCS);
    const w = new SourceWriter(data, rng(11));
    for (let round = 0; round < 5; round++) {
      await w.round(round === 2 ? 0 : 25);
      if (round === 4) await w.flush();
      const before = h.fake.count('BatchExecuteStatement') + h.fake.count('ExecuteStatement');
      const res = await runSyncs(loaded, { open: h.open });
      expect(res.syncs.map((s) => [s.name, s.status, s.error])).toEqual([
        ['events', 'ok', undefined],
        ['users', 'ok', undefined],
        ['cart', 'ok', undefined],
        ['users_full', 'ok', undefined],
      ]);
      // Two per sync; the very first run also finds no state table and creates it (two more).
      expect(h.fake.count('BatchExecuteStatement') + h.fake.count('ExecuteStatement') - before).toBe(
        round === 0 ? 10 : 8,
      );
      await expectMatches(
        data,
        round === 4 ? ['events', 'users', 'cart', 'users_full'] : ['events', 'users', 'users_full'],
      );
    }
    // Nothing new: nothing written, and the counts say so.
    const again = await runSyncs(loaded, { open: h.open });
    for (const s of again.syncs.filter((x) => x.mode !== 'full'))
      expect({ name: s.name, rows: s.rows }).toEqual({
        name: s.name,
        rows: { inserted: 0, updated: 0, deleted: 0 },
      });
    await expectMatches(data, ['events', 'users', 'cart', 'users_full']);
    // The watermark and the rows loaded are in the state table, keyed by destination and name.
    const { rows } = await data.query(
      'SELECT name, watermark FROM wharf_state.sync_state WHERE target = \'"analytics"."users"\'',
    );
    expect(rows).toEqual([
      {
        name: 'users',
        watermark: (await data.query('SELECT max(updated_at)::text AS w FROM raw.users')).rows[0].w,
      },
    ]);
  });

  it('ties: rows that arrive later with a cursor equal to the watermark are loaded by the next run', async () => {
    const { h, data } = await setup();
    const loaded = config(ALL_SYNCS.split('- name: users')[0]!);
    await data.query(
      `INSERT INTO raw.events VALUES (1, 1, 'a', '2026-01-02 00:00:00'), (2, 1, 'a', '2026-01-02 00:00:00')`,
    );
    expect((await runSyncs(loaded, { open: h.open })).syncs[0]!.rows.inserted).toBe(2);
    // The same row again (a true duplicate event) and a new one, both at the watermark.
    await data.query(
      `INSERT INTO raw.events VALUES (1, 1, 'a', '2026-01-02 00:00:00'), (3, 1, 'b', '2026-01-02 00:00:00')`,
    );
    expect((await runSyncs(loaded, { open: h.open })).syncs[0]!.rows.inserted).toBe(2);
    expect((await runSyncs(loaded, { open: h.open })).syncs[0]!.rows.inserted).toBe(0);
    await expectMatches(data, ['events']);
  });

  it('--dry-run reports what the run would write and changes nothing; --full-refresh reloads', async () => {
    const { h, data } = await setup();
    const loaded = config(ALL_SYNCS);
    const w = new SourceWriter(data, rng(5));
    await w.round(30);
    await runSyncs(loaded, { open: h.open });
    await w.round(30);
    await w.flush();
    const before = await dump(data);
    const dry = await runSyncs(loaded, { open: h.open, dryRun: true });
    expect(await dump(data)).toEqual(before);
    const real = await runSyncs(loaded, { open: h.open });
    for (const [i, s] of dry.syncs.entries()) {
      expect(s.status).toBe('ok');
      expect({ name: s.name, would: s.rows, read: s.read }).toEqual({
        name: s.name,
        would: real.syncs[i]!.rows,
        read: real.syncs[i]!.read,
      });
      expect(s.dryRun!.watermark).toBe(real.syncs[i]!.watermark);
      expect(s.dryRun!.statements.some((x) => x.includes('wharf_state.sync_state'))).toBe(true);
    }
    // A full refresh from an empty destination ends where incremental runs did.
    const refreshed = await runSyncs(loaded, { open: h.open, fullRefresh: true });
    expect(refreshed.ok).toBe(true);
    expect(refreshed.syncs[0]!.rows.inserted).toBe(
      Number((await data.query('SELECT count(*) AS n FROM analytics.events')).rows[0].n),
    );
    await expectMatches(data, ['events', 'users', 'cart', 'users_full']);
  });

  it('bad input changes nothing: a cursor going backwards, bad cdc ops, a full source failing midway, a mismatch', async () => {
    const { h, data } = await setup();
    const loaded = config(ALL_SYNCS);
    const w = new SourceWriter(data, rng(9));
    await w.round(20);
    await w.flush();
    expect((await runSyncs(loaded, { open: h.open })).ok).toBe(true);
    const before = await dump(data);

    // The source reloaded with older rows: the cursor went backwards.
    await data.query("UPDATE raw.events SET updated_at = updated_at - interval '10 years'");
    const back = await runSyncs(loaded, { open: h.open, names: ['events'] });
    expect(back.syncs[0]!.error).toMatch(/cursor updated_at went backwards/);

    // A change row whose op is none of I, U, D.
    await data.query(`INSERT INTO raw.cart_changes VALUES (1000000, 'X', 1, 1, 1.00, 1, false, 'x')`);
    const ops = await runSyncs(loaded, { open: h.open, names: ['cart'] });
    expect(ops.syncs[0]!.error).toMatch(/1 change row\(s\) have an op that is none of I, U, D/);

    // A full sync whose source query fails midway: the old destination stays.
    const full = config(`- name: users_full
  from: { query: "SELECT user_id, email, plan, updated_at + make_interval(days => 1 / (user_id - ${Number((await data.query('SELECT max(user_id) AS m FROM raw.users')).rows[0].m)})::int) AS updated_at FROM raw.users" }
  to: { table: analytics.users_full }
  mode: full`);
    const failed = await runSyncs(full, { open: h.open });
    expect(failed.syncs[0]!.status).toBe('failed');
    expect(failed.syncs[0]!.error).toMatch(/reading the source fails: .*division by zero/);

    // A destination column the source does not have.
    await data.query('ALTER TABLE analytics.users ADD COLUMN country text');
    const mismatch = await runSyncs(loaded, { open: h.open, names: ['users'] });
    expect(mismatch.syncs[0]!.error).toMatch(
      /destination column country is not in the source table raw.users/,
    );
    await data.query('ALTER TABLE analytics.users DROP COLUMN country');

    expect(await dump(data)).toEqual(before);
  });

  it('concurrent runs of one sync take turns: the loser starts again and nothing is doubled', async () => {
    const { h, data } = await setup();
    const loaded = config(ALL_SYNCS.split('- name: users')[0]!);
    const w = new SourceWriter(data, rng(13));
    await w.round(40);
    const [a, b] = await Promise.all([
      runSyncs(loaded, { open: h.open }),
      runSyncs(loaded, { open: h.open }),
    ]);
    expect(a.ok && b.ok).toBe(true);
    await expectMatches(data, ['events']);
  });

  // Redshift aborts one of two concurrent transactions that are not serializable (error 1023,
  // https://docs.aws.amazon.com/redshift/latest/dg/c_serial_isolation-serializable-isolation-troubleshooting.html);
  // nothing of the aborted run is kept, and wharf starts it again.
  it("a run aborted by Redshift's serializable isolation (error 1023) starts again and ends at the reference", async () => {
    const { h, db: admin, data } = await setup();
    const users = ALL_SYNCS.split(/\n(?=- name: )/).find((b) => b.startsWith('- name: users\n'))!;
    const loaded = config(users);
    const w = new SourceWriter(data, rng(17));
    await w.round(20);
    expect((await runSyncs(loaded, { open: h.open })).ok).toBe(true);
    const { rows } = await data.query<{ id: string }>('SELECT min(user_id)::text AS id FROM raw.users');
    const id = rows[0]!.id;
    await data.query(
      "UPDATE raw.users SET plan = 'raced', updated_at = updated_at + interval '1 day' WHERE user_id = $1",
      [id],
    );
    // Another writer holds the destination row the run is about to replace, and commits once
    // the run waits for it: the run's transaction cannot be serialized after it.
    await data.query('BEGIN');
    await data.query('UPDATE analytics.users SET email = email WHERE user_id = $1', [id]);
    const run = runSyncs(loaded, { open: h.open });
    for (let i = 0; ; i++) {
      const { rows: waiting } = await admin.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
      );
      if (waiting[0].n > 0) break;
      if (i > 400) throw new Error('the run never waited for the row');
      await new Promise((r) => setTimeout(r, 25));
    }
    await data.query('COMMIT');
    const res = await run;
    expect(res.syncs.map((s) => [s.name, s.status, s.error])).toEqual([['users', 'ok', undefined]]);
    const aborted = h.fake.calls.filter(
      (c) =>
        c.operation === 'DescribeStatement' &&
        /^ERROR: 1023 DETAIL: Serializable isolation violation/.test(c.response?.Error ?? ''),
    );
    expect(aborted.length).toBeGreaterThan(0);
    await expectMatches(data, ['users']);
    expect((await data.query('SELECT plan FROM analytics.users WHERE user_id = $1', [id])).rows).toEqual([
      { plan: 'raced' },
    ]);
  });

  it('a run whose stored state changed after it read it writes nothing, reads again and ends at the reference', async () => {
    const { h, data } = await setup();
    const loaded = config(ALL_SYNCS.split('- name: users')[0]!);
    const w = new SourceWriter(data, rng(19));
    await w.round(20);
    expect((await runSyncs(loaded, { open: h.open })).ok).toBe(true);
    await w.round(20);
    // The run reads the state; before it runs, another run of the sync commits a new state.
    const read = h.fake.pauseBeforeCommit(/^SELECT watermark, last_sequence, run_id FROM/);
    const run = runSyncs(loaded, { open: h.open });
    await read.reached;
    await data.query("UPDATE wharf_state.sync_state SET run_id = 'another run' WHERE name = 'events'");
    read.release();
    const res = await run;
    expect(res.syncs.map((s) => [s.name, s.status, s.error])).toEqual([['events', 'ok', undefined]]);
    // The first attempt's batch and the second's: the first wrote nothing.
    expect(
      h.fake.calls.filter(
        (c) => c.operation === 'BatchExecuteStatement' && c.body.Sqls[0] === 'LOCK wharf_state.sync_state',
      ),
    ).toHaveLength(3);
    await expectMatches(data, ['events']);
  });

  it('wharf plan checks syncs through the Data API and reports problems at the sync', async () => {
    const { h } = await setup();
    const loaded = config(`- name: users
  from: { table: raw.users }
  to: { table: analytics.users }
  mode: merge
  primaryKey: [user_id]
  cursor: { column: no_such_column }`);
    const run = await planConfig(loaded, { open: h.open });
    await run.close();
    expect(run.plan.diagnostics.map((d) => d.message)).toContain(
      'sync users: cursor column no_such_column is not in the source table raw.users',
    );
  });

  it('wharf plan never sends a sync query to Redshift: it is parsed locally, not run', async () => {
    const { h } = await setup();
    const loaded = config(`- name: users
  from: { query: "SELECT user_id, updated_at, email, plan FROM raw.users WHERE pg_sleep(5) IS NOT NULL" }
  to: { table: analytics.users }
  mode: merge
  primaryKey: [user_id]
  cursor: { column: updated_at }`);
    const run = await planConfig(loaded, { open: h.open });
    await run.close();
    expect(run.plan.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const sent = h.fake.executions.map((e) => e.sql);
    expect(
      sent.filter((q) => /pg_sleep|raw\.users/i.test(q) && !/svv_|pg_class|information_schema/i.test(q)),
    ).toEqual([]);
  });
});
