// `wharf sync --dry-run` against a real PostgreSQL server, same engine and across connections:
// before every real run a dry run reports exactly the rows that run then writes (inserted,
// updated, deleted) and reads, for every mode, over rounds of changes with ties at the
// watermark, rows re-read through lookback, duplicated, late and deleted CDC events, and keys
// changed in several batches; and it changes nothing: the destination, wharf_state (rows, key
// tables, the schema itself) and the locks are as before. Also the CLI's text and --json.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedConfig } from '../src/config/types.js';
import { runSyncs, type SyncResult, type SyncRunOptions } from '../src/sync/run.js';
import { runCli } from './support/cli.js';
import { startTestServer, type TestServer } from './support/pg.js';
import { ALL_SYNCS, addCartChanges, rng, rowsOf, SourceWriter } from './support/sync-data.js';
import { dump, type SyncFixture, withSyncFixture } from './support/sync-fixture.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

// Beyond the shared tables: append with a key (duplicate events collapse), and merge from a
// change log with many rows per key (no unique key in the source: the latest row wins, and
// across connections one key can be written in several batches).
const EXTRA_DDL = `
CREATE TABLE analytics.events_keyed (event_id bigint PRIMARY KEY, user_id bigint NOT NULL, event_name text NOT NULL,
  updated_at timestamp NOT NULL);
CREATE TABLE analytics.cart_merge (id bigint PRIMARY KEY, etleap_sequence_no bigint NOT NULL, user_id bigint,
  current_price numeric(6,2), no_items int, checked_out boolean, update_date varchar(64));
`;

const EXTRA_SYNCS = `
- name: events_keyed
  from: { $FROMtable: raw.events }
  to: { table: analytics.events_keyed }
  mode: append
  primaryKey: [event_id]
  cursor: { column: updated_at, lookback: 1s }
- name: cart_merge
  from: { $FROMtable: raw.cart_changes }
  to: { table: analytics.cart_merge }
  mode: merge
  primaryKey: [id]
  cursor: { column: etleap_sequence_no, lookback: 20 }`;

const withFixture = (cross: boolean, fn: (f: SyncFixture) => Promise<void>) =>
  withSyncFixture(server, cross, fn, EXTRA_DDL);

/** Everything a run could change in the destination database, row for row. */
async function snapshot(f: SyncFixture): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {
    schemas: await dump(f.dst, `SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%'`),
    advisoryLocks: await dump(f.dst, `SELECT objid FROM pg_locks WHERE locktype = 'advisory'`),
  };
  const { rows } = await f.dst.query<{ t: string }>(
    `SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables
      WHERE schemaname IN ('analytics', 'wharf_state') ORDER BY 1`,
  );
  for (const { t } of rows) out[t] = await dump(f.dst, `SELECT x::text AS r FROM ${t} x`);
  return out;
}

const summary = (s: SyncResult) => ({
  name: s.name,
  status: s.status,
  error: s.error,
  rows: s.rows,
  read: s.read,
});

/**
 * A dry run, then the real run with the same options: the dry run changed nothing, and
 * reported exactly what the real run then did. Returns both.
 */
async function dryThenReal(f: SyncFixture, loaded: LoadedConfig, options: SyncRunOptions = {}) {
  const before = await snapshot(f);
  const dry = await runSyncs(loaded, { ...options, dryRun: true });
  expect(await snapshot(f)).toEqual(before);
  const real = await runSyncs(loaded, options);
  expect(dry.syncs.map(summary)).toEqual(real.syncs.map(summary));
  for (const [i, s] of dry.syncs.entries()) {
    if (s.status !== 'ok') continue;
    expect(s.dryRun).toBeDefined();
    expect(s.dryRun!.rows).toBe(s.read);
    expect({ name: s.name, watermark: s.dryRun!.watermark }).toEqual({
      name: s.name,
      watermark: real.syncs[i]!.watermark,
    });
  }
  return { dry, real };
}

const written = (s: SyncResult) => s.rows.inserted + s.rows.updated + s.rows.deleted;

describe.each([
  ['same engine', false],
  ['across connections', true],
])('--dry-run counts (%s)', (_label, cross) => {
  it('equal the following run of every mode over rounds of changes, and change nothing', async () => {
    await withFixture(cross, async (f) => {
      const loaded = f.config(ALL_SYNCS + EXTRA_SYNCS);
      const w = new SourceWriter(f.src, rng(cross ? 11 : 5));
      let sawUpdate = false;
      let sawDelete = false;
      for (let round = 0; round < 6; round++) {
        await w.round(round === 2 ? 0 : 25);
        if (round === 4) {
          // rows changed in place with a cursor equal to the stored watermark
          await f.src.query(
            `UPDATE raw.users SET plan = 'enterprise', updated_at = (SELECT max(updated_at) FROM raw.users)
              WHERE user_id IN (SELECT user_id FROM raw.users ORDER BY user_id LIMIT 3)`,
          );
        }
        if (round === 5) await w.flush();
        const { dry } = await dryThenReal(f, loaded, { batchRows: 7 });
        expect(dry.ok).toBe(true);
        sawUpdate ||= dry.syncs.some((s) => s.mode !== 'full' && s.rows.updated > 0);
        sawDelete ||= dry.syncs.some((s) => s.mode === 'cdc' && s.rows.deleted > 0);
      }
      expect([sawUpdate, sawDelete]).toEqual([true, true]);
      // Nothing new: the rows re-read through lookback and the inclusive bound are no writes.
      const { dry } = await dryThenReal(f, loaded, { batchRows: 7 });
      for (const s of dry.syncs.filter((x) => x.mode !== 'full')) {
        expect({ name: s.name, written: written(s) }).toEqual({ name: s.name, written: 0 });
        expect(s.read).toBeGreaterThan(0);
      }
      // --full-refresh: a run from an empty destination and no watermark.
      const refresh = await dryThenReal(f, loaded, { batchRows: 7, fullRefresh: true });
      expect(refresh.dry.syncs.find((s) => s.name === 'events')!.rows.inserted).toBe(
        Number((await rowsOf(f.src, 'SELECT count(*)::text AS r FROM raw.events'))[0]),
      );
    });
  });

  it('the first run, with no wharf_state yet, and --full-refresh on an empty destination', async () => {
    await withFixture(cross, async (f) => {
      await new SourceWriter(f.src, rng(2)).round(20);
      const loaded = f.config(ALL_SYNCS + EXTRA_SYNCS);
      const first = await dryThenReal(f, loaded, { batchRows: 4 });
      expect(first.dry.syncs.every((s) => s.status === 'ok' && written(s) > 0)).toBe(true);
      await new SourceWriter(f.src, rng(3)).round(5);
      await dryThenReal(f, loaded, { batchRows: 4, fullRefresh: true });
      await dryThenReal(f, loaded, { batchRows: 4 });
    });
  });

  it('ties at the watermark: later rows with the watermark value and an update at that instant', async () => {
    await withFixture(cross, async (f) => {
      const loaded = f.config(`- name: events
  from: { $FROMtable: raw.events }
  to: { table: analytics.events }
  mode: append
  cursor: { column: updated_at }
- name: users
  from: { $FROMtable: raw.users }
  to: { table: analytics.users }
  mode: merge
  primaryKey: [user_id]
  cursor: { column: updated_at }`);
      const t = '2026-03-01 10:00:00';
      await f.src.query(`INSERT INTO raw.events VALUES (1, 1, 'a', $1), (2, 1, 'b', $1)`, [t]);
      await f.src.query(`INSERT INTO raw.users VALUES (1, 'a@x', 'free', $1)`, [t]);
      await dryThenReal(f, loaded, { batchRows: 1 });
      await f.src.query(`INSERT INTO raw.events VALUES (3, 2, 'c', $1), (2, 1, 'b', $1)`, [t]);
      await f.src.query(`INSERT INTO raw.users VALUES (2, 'b@x', 'pro', $1)`, [t]);
      await f.src.query(`UPDATE raw.users SET plan = 'pro' WHERE user_id = 1`);
      const { dry } = await dryThenReal(f, loaded, { batchRows: 1 });
      expect(dry.syncs.map((s) => [s.rows, s.read])).toEqual([
        [{ inserted: 2, updated: 0, deleted: 0 }, 4],
        [{ inserted: 1, updated: 1, deleted: 0 }, 2],
      ]);
    });
  });

  it('cdc: duplicates, late changes, update-then-delete, deletes of absent keys, one key across batches', async () => {
    await withFixture(cross, async (f) => {
      await f.src.query('ALTER TABLE raw.cart_changes ADD COLUMN arrival bigserial');
      const loaded = f.config(`- name: cart
  from: { $FROMtable: raw.cart_changes }
  to: { table: analytics.cart }
  mode: cdc
  primaryKey: [id]
  cdc: { op: op, sequence: etleap_sequence_no }
  cursor: { column: arrival, lookback: 3 }`);
      const add = (...rows: [number, string, number, string][]) => addCartChanges(f.src, ...rows);
      await add(
        [1, 'I', 1, 'a1'],
        [2, 'I', 2, 'b2'],
        [2, 'I', 2, 'b2'],
        [5, 'U', 1, 'a5'],
        [6, 'I', 3, 'c6'],
        [7, 'U', 3, 'c7'],
        [8, 'D', 3, 'c8'],
        [9, 'I', 4, 'd9'],
        [10, 'D', 4, 'd10'],
        [11, 'I', 4, 'd11'],
        [12, 'D', 9, 'z12'], // a delete of a key never loaded
      );
      const one = await dryThenReal(f, loaded, { batchRows: 2 });
      expect(one.real.syncs[0]!.rows.inserted).toBeGreaterThan(0);
      await add(
        [4, 'U', 1, 'a4-late'],
        [13, 'I', 5, 'e13'],
        [3, 'U', 2, 'b3-late'],
        [5, 'U', 1, 'a5'],
        [7, 'U', 3, 'c7-late'],
        [14, 'D', 2, 'b14'],
        [15, 'U', 4, 'd15'],
        [2, 'I', 2, 'b2'],
      );
      await dryThenReal(f, loaded, { batchRows: 2 });
      const { dry } = await dryThenReal(f, loaded, { batchRows: 2 });
      expect(dry.syncs[0]!.rows).toEqual({ inserted: 0, updated: 0, deleted: 0 });
      expect(dry.syncs[0]!.read).toBe(4); // the lookback re-reads 3 arrivals below the watermark
    });
  });

  it('a run that would fail fails the dry run the same way, and changes nothing', async () => {
    await withFixture(cross, async (f) => {
      await f.src.query(`INSERT INTO raw.events VALUES (1, 1, 'a', '2026-01-02'), (2, 1, 'b', '2026-01-03')`);
      await f.src.query(
        `INSERT INTO raw.cart_changes (etleap_sequence_no, op, id) VALUES (1, 'I', 1), (2, 'X', 2)`,
      );
      const loaded = f.config(`- name: events
  from: { $FROMtable: raw.events }
  to: { table: analytics.events }
  mode: append
  cursor: { column: updated_at }
- name: cart
  from: { $FROMtable: raw.cart_changes }
  to: { table: analytics.cart }
  mode: cdc
  primaryKey: [id]
  cdc: { op: op, sequence: etleap_sequence_no }`);
      await dryThenReal(f, loaded);
      await f.src.query(`UPDATE raw.events SET updated_at = updated_at - interval '1 day'`);
      const { dry } = await dryThenReal(f, loaded);
      expect(dry.syncs.map((s) => s.status)).toEqual(['failed', 'failed']);
      expect(dry.syncs[0]!.error).toMatch(/cursor updated_at went backwards/);
      expect(dry.syncs[1]!.error).toContain('1 change row(s) have an op that is none of I, U, D');
    });
  });
});

describe('--dry-run in the CLI', () => {
  it('prints what each sync would insert, update and delete, in text and --json', async () => {
    await withFixture(false, async (f) => {
      await f.src.query(
        `INSERT INTO raw.events SELECT g, 1, 'e', '2026-01-01'::timestamp + g * interval '1 s' FROM generate_series(1, 30) g`,
      );
      await f.src.query(
        `INSERT INTO raw.users SELECT g, 'u' || g || '@x', 'free', '2026-01-01' FROM generate_series(1, 5) g`,
      );
      f.config(`- name: events
  from: { table: raw.events }
  to: { table: analytics.events }
  mode: append
  cursor: { column: updated_at }
- name: users
  from: { table: raw.users }
  to: { table: analytics.users }
  mode: merge
  primaryKey: [user_id]
  cursor: { column: updated_at }
- name: users_full
  from: { table: raw.users }
  to: { table: analytics.users_full }
  mode: full`);
      expect((await runCli(['sync', '-f', f.file])).code).toBe(0);
      await f.src.query(
        `INSERT INTO raw.events SELECT g, 1, 'e', '2026-01-01'::timestamp + g * interval '1 s' FROM generate_series(31, 40) g`,
      );
      await f.src.query(
        `UPDATE raw.users SET plan = 'pro', updated_at = '2026-01-02' WHERE user_id <= 3;
         INSERT INTO raw.users VALUES (6, 'u6@x', 'free', '2026-01-02')`,
      );
      const text = await runCli(['sync', '-f', f.file, '--dry-run']);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain(
        '-- sync events (append), watermark 2026-01-01 00:00:30; would insert 10, update 0, delete 0 (reads 11 rows)',
      );
      expect(text.stdout).toContain(
        '-- sync users (merge), watermark 2026-01-01 00:00:00; would insert 1, update 3, delete 0 (reads 6 rows)',
      );
      expect(text.stdout).toContain(
        '-- sync users_full (full), watermark (none: first run); would insert 6, update 0, delete 5 (reads 6 rows)',
      );
      expect(text.stdout).toContain('INSERT INTO "analytics"."events"');
      const json = await runCli(['sync', '-f', f.file, '--dry-run', '--json']);
      expect(json.code).toBe(0);
      const doc = JSON.parse(json.stdout);
      expect(doc).toMatchObject({
        ok: true,
        syncs: [
          {
            name: 'events',
            status: 'ok',
            rows: { inserted: 10, updated: 0, deleted: 0 },
            read: 11,
            watermark: '2026-01-01 00:00:30',
            dryRun: { rows: 11, watermark: '2026-01-01 00:00:40' },
          },
          {
            name: 'users',
            rows: { inserted: 1, updated: 3, deleted: 0 },
            read: 6,
            dryRun: { rows: 6, watermark: '2026-01-02 00:00:00' },
          },
          { name: 'users_full', rows: { inserted: 6, updated: 0, deleted: 5 }, read: 6 },
        ],
      });
      expect(doc.syncs[0].dryRun.statements.join('\n')).toContain('INSERT INTO "analytics"."events"');
      // The real run then reports the same.
      const real = JSON.parse((await runCli(['sync', '-f', f.file, '--json'])).stdout);
      expect(real.syncs.map((s: SyncResult) => [s.rows, s.read])).toEqual(
        doc.syncs.map((s: SyncResult) => [s.rows, s.read]),
      );
    });
  });
});
