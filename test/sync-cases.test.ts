// The sync runner's edge cases against a real PostgreSQL server: CDC duplicates, out-of-order
// arrival and changes of one key within a batch; bad input reported before data moves (schema
// mismatch, missing cursor, a cursor going backwards, a failing full load that leaves the old
// table intact); the per-sync lock; the CLI's --json, --dry-run and --full-refresh; and a
// writer that keeps changing the source while syncs run.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSyncs } from '../src/sync/run.js';
import { runCli } from './support/cli.js';
import { startTestServer, type TestServer } from './support/pg.js';
import { addCartChanges, rowsOf } from './support/sync-data.js';
import { type SyncFixture, withSyncFixture } from './support/sync-fixture.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const withFixture = (cross: boolean, fn: (f: SyncFixture) => Promise<void>) =>
  withSyncFixture(server, cross, fn);

const CART = 'SELECT c::text AS r FROM analytics.cart c';

describe.each([
  ['same engine', false],
  ['across connections', true],
])('cdc (%s)', (_label, cross) => {
  it('duplicates, out-of-order arrival across batches and runs, update-then-delete and delete-then-reinsert in one batch', async () => {
    await withFixture(cross, async (f) => {
      // Arrival order is the cursor; the sequence orders the changes.
      await f.src.query('ALTER TABLE raw.cart_changes ADD COLUMN arrival bigserial');
      const loaded = f.config(`- name: cart
  from: { $FROMtable: raw.cart_changes }
  to: { table: analytics.cart }
  mode: cdc
  primaryKey: [id]
  cdc: { op: op, sequence: etleap_sequence_no }
  cursor: { column: arrival }`);
      const add = (...rows: [number, string, number, string][]) => addCartChanges(f.src, ...rows);
      const run = async () => {
        const r = await runSyncs(loaded, { batchRows: 2 });
        expect(r.syncs[0]!.error).toBeUndefined();
        return r.syncs[0]!.rows;
      };
      // Run 1: inserts, a duplicated event, update-then-delete and delete-then-reinsert of one key.
      await add(
        [1, 'I', 1, 'a1'],
        [2, 'I', 2, 'b2'],
        [2, 'I', 2, 'b2'], // duplicate
        [5, 'U', 1, 'a5'],
        [6, 'I', 3, 'c6'],
        [7, 'U', 3, 'c7'],
        [8, 'D', 3, 'c8'], // update then delete
        [9, 'I', 4, 'd9'],
        [10, 'D', 4, 'd10'],
        [11, 'I', 4, 'd11'], // delete then re-insert
      );
      await run();
      expect(await rowsOf(f.dst, CART)).toEqual([
        '(1,1,1.50,1,f,a5)',
        '(2,1,1.50,1,f,b2)',
        '(4,1,1.50,1,f,d11)',
      ]);
      // Run 2: late, older changes arrive (lower sequences), the replay of an applied one, a
      // late update of a deleted key, and a new key, out of order across batches of two.
      await add(
        [4, 'U', 1, 'a4-late'],
        [12, 'I', 5, 'e12'],
        [3, 'U', 2, 'b3-late'],
        [5, 'U', 1, 'a5'], // replay
        [7, 'U', 3, 'c7-late'], // below the delete at 8: stays deleted
        [13, 'D', 2, 'b13'],
        [2, 'I', 2, 'b2'], // replay below the delete
      );
      await run();
      expect(await rowsOf(f.dst, CART)).toEqual([
        '(1,1,1.50,1,f,a5)',
        '(4,1,1.50,1,f,d11)',
        '(5,1,1.50,1,f,e12)',
      ]);
      // Nothing new: nothing changes.
      expect(await run()).toEqual({ inserted: 0, updated: 0, deleted: 0 });
    });
  });
});

describe('bad input', () => {
  it('a destination column missing from the source, an incompatible type, a json column and a missing cursor fail before data moves; plan reports them', async () => {
    await withFixture(false, async (f) => {
      await f.dst.query('ALTER TABLE analytics.events ADD COLUMN country text');
      await f.dst.query('ALTER TABLE analytics.users ALTER COLUMN plan TYPE bigint USING NULL');
      await f.dst.query('ALTER TABLE analytics.users ADD COLUMN meta json');
      await f.src.query('ALTER TABLE raw.users ADD COLUMN meta json');
      await f.src.query(`INSERT INTO raw.events VALUES (1, 1, 'a', '2026-01-01')`);
      const loaded = f.config(`- name: events
  from: { table: raw.events }
  to: { table: analytics.events }
  mode: append
  cursor: { column: updated_at }
- name: users
  from: { table: raw.users }
  to: { table: analytics.users }
  mode: merge
  primaryKey: [user_id]
  cursor: { column: changed_at }`);
      const res = await runSyncs(loaded);
      expect(res.ok).toBe(false);
      expect(res.syncs.map((s) => s.status)).toEqual(['failed', 'failed']);
      expect(res.syncs[0]!.error).toContain(
        'destination column country is not in the source table raw.events',
      );
      expect(res.syncs[1]!.error).toContain(
        'column plan: source table raw.users has type text, which does not load into bigint',
      );
      expect(res.syncs[1]!.error).toContain('cursor column changed_at is not in the source table raw.users');
      expect(res.syncs[1]!.error).toContain(
        'column meta is json, which has no equality for merge to compare rows with; use jsonb',
      );
      expect(await rowsOf(f.dst, 'SELECT e::text AS r FROM analytics.events e')).toEqual([]);
      // A sync problem stops the sync, not the plan (nor an apply).
      const plan = await runCli(['plan', '-f', f.file]);
      expect(plan.code).toBe(0);
      expect(plan.stdout + plan.stderr).toContain(
        'sync events: destination column country is not in the source table raw.events',
      );
      expect(plan.stdout + plan.stderr).toContain(
        'sync users: cursor column changed_at is not in the source table raw.users',
      );
    });
  });

  it('plan: a source query that fails is an error, or a warning when it names a table the file is about to create', async () => {
    await withFixture(false, async (f) => {
      f.config(`- name: broken
  from: { query: "SELECT user_id, email, plan, updated_at FROM raw.users WHERE no_such_column = 1" }
  to: { table: analytics.users }
  mode: merge
  primaryKey: [user_id]
  cursor: { column: updated_at }
- name: early
  from: { query: "SELECT * FROM staging.users" }
  to: { table: analytics.users }
  mode: merge
  primaryKey: [user_id]
  cursor: { column: updated_at }`);
      const text = fs
        .readFileSync(f.file, 'utf8')
        .replace(
          'syncs:',
          'schemas:\n  - name: staging\ntables:\n  - { schema: staging, name: users, columns: [{ name: user_id, type: bigint }] }\nsyncs:',
        );
      fs.writeFileSync(f.file, text);
      const plan = await runCli(['plan', '-f', f.file, '--json']);
      const diagnostics = JSON.parse(plan.stdout).diagnostics as { severity: string; message: string }[];
      expect(
        diagnostics
          .filter((d) => d.message.startsWith('sync '))
          .map((d) => [d.severity, d.message.split(':')[0]]),
      ).toEqual([
        ['error', 'sync broken'],
        ['warning', 'sync early'],
      ]);
      expect(diagnostics.find((d) => d.message.startsWith('sync early'))!.message).toMatch(
        /the source query fails: .*staging\.users.* \(checked again at sync time\)$/,
      );
    });
  });

  it('a cursor that goes backwards fails the run and changes nothing', async () => {
    await withFixture(true, async (f) => {
      await f.src.query(`INSERT INTO raw.events VALUES (1, 1, 'a', '2026-01-02'), (2, 1, 'b', '2026-01-03')`);
      const loaded = f.config(`- name: events
  from: { $FROMtable: raw.events }
  to: { table: analytics.events }
  mode: append
  cursor: { column: updated_at }`);
      expect((await runSyncs(loaded)).ok).toBe(true);
      // The source is reloaded with older timestamps.
      await f.src.query(`UPDATE raw.events SET updated_at = updated_at - interval '1 day'`);
      await f.src.query(`INSERT INTO raw.events VALUES (3, 1, 'c', '2026-01-01')`);
      const res = await runSyncs(loaded);
      expect(res.syncs[0]!.status).toBe('failed');
      expect(res.syncs[0]!.error).toMatch(
        /cursor updated_at went backwards.*below the stored watermark 2026-01-03 00:00:00.*--full-refresh/,
      );
      expect(await rowsOf(f.dst, 'SELECT e.event_id::text AS r FROM analytics.events e')).toEqual(['1', '2']);
      const refreshed = await runSyncs(loaded, { fullRefresh: true });
      expect(refreshed.syncs[0]!.rows.inserted).toBe(3);
      expect(await rowsOf(f.dst, 'SELECT e::text AS r FROM analytics.events e')).toEqual(
        await rowsOf(f.src, 'SELECT e::text AS r FROM raw.events e'),
      );
    });
  });

  it.each([
    ['same engine', false],
    ['across connections', true],
  ])(
    'a full sync whose source query fails midway leaves the old destination intact (%s)',
    async (_l, cross) => {
      await withFixture(cross, async (f) => {
        await f.src.query(
          `INSERT INTO raw.users SELECT g, 'u' || g || '@x', 'free', '2026-01-01' FROM generate_series(1, 2000) g`,
        );
        const sync = (query: string) => `- name: users_full
  from: { $FROMquery: "${query}" }
  to: { table: analytics.users_full }
  mode: full`;
        const good = f.config(sync('SELECT * FROM raw.users'));
        expect((await runSyncs(good, { batchRows: 100 })).ok).toBe(true);
        const before = await rowsOf(f.dst, 'SELECT u::text AS r FROM analytics.users_full u');
        expect(before).toHaveLength(2000);
        // Division by zero at user 1500: the engine fails after streaming 1,499 rows.
        const bad = f.config(
          sync(
            'SELECT user_id, email || (1 / (user_id - 1500))::text AS email, plan, updated_at FROM raw.users ORDER BY user_id',
          ),
        );
        const res = await runSyncs(bad, { batchRows: 100 });
        expect(res.syncs[0]!.status).toBe('failed');
        expect(res.syncs[0]!.error).toContain('division by zero');
        expect(await rowsOf(f.dst, 'SELECT u::text AS r FROM analytics.users_full u')).toEqual(before);
      });
    },
  );

  it('a cdc change with an unknown op fails the run and applies nothing', async () => {
    await withFixture(false, async (f) => {
      await f.src.query(
        `INSERT INTO raw.cart_changes (etleap_sequence_no, op, id) VALUES (1, 'I', 1), (2, 'X', 2)`,
      );
      const loaded = f.config(`- name: cart
  from: { table: raw.cart_changes }
  to: { table: analytics.cart }
  mode: cdc
  primaryKey: [id]
  cdc: { op: op, sequence: etleap_sequence_no }`);
      const res = await runSyncs(loaded);
      expect(res.syncs[0]!.error).toContain('1 change row(s) have an op that is none of I, U, D');
      expect(await rowsOf(f.dst, CART)).toEqual([]);
    });
  });
});

describe('runs', () => {
  it('a second run of the same sync is refused while one holds the lock; other syncs still run unless --fail-fast', async () => {
    await withFixture(false, async (f) => {
      await f.src.query(`INSERT INTO raw.events VALUES (1, 1, 'a', '2026-01-02')`);
      await f.src.query(`INSERT INTO raw.users VALUES (1, 'a@x', 'free', '2026-01-02')`);
      const loaded = f.config(`- name: events
  from: { table: raw.events }
  to: { table: analytics.events }
  mode: append
  cursor: { column: updated_at }
- name: users
  from: { table: raw.users }
  to: { table: analytics.users }
  mode: merge
  primaryKey: [user_id]
  cursor: { column: updated_at }`);
      const holder = await server.client(f.dst.database!);
      try {
        await holder.query(`SELECT pg_advisory_lock(${0x77737963}, hashtext('"analytics"."events" events'))`);
        const res = await runSyncs(loaded);
        expect(res.syncs.map((s) => s.status)).toEqual(['failed', 'ok']);
        expect(res.syncs[0]!.error).toMatch(/sync events is already running/);
        const cli = await runCli(['sync', '-f', f.file, '--fail-fast', '--json']);
        expect(cli.code).toBe(1);
        const json = JSON.parse(cli.stdout);
        expect(json.syncs.map((s: { name: string; status: string }) => [s.name, s.status])).toEqual([
          ['events', 'failed'],
          ['users', 'skipped'],
        ]);
      } finally {
        await holder.end();
      }
      const after = await runCli(['sync', '-f', f.file, 'events', '--json']);
      expect(after.code).toBe(0);
      expect(JSON.parse(after.stdout)).toMatchObject({
        ok: true,
        syncs: [{ name: 'events', status: 'ok', rows: { inserted: 1, updated: 0, deleted: 0 } }],
      });
      expect(typeof JSON.parse(after.stdout).syncs[0].durationMs).toBe('number');
    });
  });

  it('--dry-run prints the SQL and the rows it would write and changes nothing; --full-refresh reloads', async () => {
    await withFixture(false, async (f) => {
      await f.src.query(
        `INSERT INTO raw.events SELECT g, 1, 'e', '2026-01-01'::timestamp + g * interval '1 s' FROM generate_series(1, 30) g`,
      );
      f.config(`- name: events
  from: { table: raw.events }
  to: { table: analytics.events }
  mode: append
  cursor: { column: updated_at }`);
      const dry = await runCli(['sync', '-f', f.file, '--dry-run']);
      expect(dry.code).toBe(0);
      expect(dry.stdout).toContain('would insert 30, update 0, delete 0 (reads 30 rows)');
      expect(dry.stdout).toContain('INSERT INTO "analytics"."events"');
      expect(await rowsOf(f.dst, 'SELECT count(*)::text AS r FROM analytics.events')).toEqual(['0']);
      expect((await runCli(['sync', '-f', f.file])).code).toBe(0);
      const dry2 = await runCli(['sync', '-f', f.file, '--dry-run']);
      expect(dry2.stdout).toContain(
        'watermark 2026-01-01 00:00:30; would insert 0, update 0, delete 0 (reads 1 rows)',
      );
      await f.dst.query(`DELETE FROM analytics.events WHERE event_id <= 10`);
      const plain = await runCli(['sync', '-f', f.file]);
      expect(plain.stdout).toContain('0 inserted'); // the watermark says they were loaded
      const full = await runCli(['sync', '-f', f.file, '--full-refresh']);
      expect(full.stdout).toContain('30 inserted');
      expect(await rowsOf(f.dst, 'SELECT count(*)::text AS r FROM analytics.events')).toEqual(['30']);
    });
  });
});

describe.each([
  ['same engine', false],
  ['across connections', true],
])('a writer keeps changing the source while syncs run (%s)', (_label, cross) => {
  it('ends with the destination equal to the source', async () => {
    await withFixture(cross, async (f) => {
      const loaded = f.config(`- name: events
  from: { $FROMtable: raw.events }
  to: { table: analytics.events }
  mode: append
  cursor: { column: updated_at, lookback: 3s }
- name: users
  from: { $FROMtable: raw.users }
  to: { table: analytics.users }
  mode: merge
  primaryKey: [user_id]
  cursor: { column: updated_at, lookback: 3s }`);
      // Timestamps truncated to the second: many rows share each value. Two event writers run
      // concurrently and sometimes hold their transaction open, so rows commit late with a
      // timestamp below what a sync has already seen; one writer updates profiles in place.
      let stop = false;
      let next = 0;
      const eventWriter = async () => {
        const c = await server.client(f.src.database!);
        try {
          while (!stop) {
            await c.query('BEGIN');
            const ids = [++next, ++next, ++next];
            await c.query(
              `INSERT INTO raw.events SELECT id, id % 7, 'e', date_trunc('second', now()) FROM unnest($1::bigint[]) id`,
              [ids],
            );
            if (Math.random() < 0.3) await c.query('SELECT pg_sleep(0.3)');
            await c.query('COMMIT');
          }
        } finally {
          await c.end();
        }
      };
      const userWriter = async () => {
        const c = await server.client(f.src.database!);
        try {
          while (!stop) {
            await c.query(
              `INSERT INTO raw.users SELECT (random() * 30)::int, 'x' || (random() * 1000)::int, 'p' || (random() * 3)::int,
                      date_trunc('second', clock_timestamp())
               ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email, plan = EXCLUDED.plan, updated_at = EXCLUDED.updated_at`,
            );
          }
        } finally {
          await c.end();
        }
      };
      const writers = [eventWriter(), eventWriter(), userWriter()];
      const deadline = Date.now() + 4000;
      let runs = 0;
      while (Date.now() < deadline) {
        const r = await runSyncs(loaded, { batchRows: 25, lockTimeoutMs: 5000 });
        expect(r.syncs.map((s) => s.error)).toEqual([undefined, undefined]);
        runs++;
      }
      stop = true;
      await Promise.all(writers);
      await runSyncs(loaded, { batchRows: 25 });
      expect(runs).toBeGreaterThan(3);
      expect(await rowsOf(f.dst, 'SELECT e::text AS r FROM analytics.events e')).toEqual(
        await rowsOf(f.src, 'SELECT e::text AS r FROM raw.events e'),
      );
      expect(await rowsOf(f.dst, 'SELECT u::text AS r FROM analytics.users u')).toEqual(
        await rowsOf(f.src, 'SELECT u::text AS r FROM raw.users u'),
      );
    });
  }, 60_000);
});
