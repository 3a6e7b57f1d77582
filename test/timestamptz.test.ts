// `timestamptz` where wharf reads and writes time, against a real PostgreSQL: a sync cursor
// (microseconds, ties at the watermark, a daylight-saving change, databases whose TimeZone is
// not UTC), and a partition column, planned at one date, applied, then planned a month later.
// The clock is the test's: planConfig's `now` option.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../src/apply/apply.js';
import { planConfig } from '../src/commands/plan.js';
import { loadConfigText } from '../src/config/load.js';
import type { Plan } from '../src/plan/plan.js';
import { runSyncs } from '../src/sync/run.js';
import { startTestServer, type TestServer } from './support/pg.js';
import { withSyncFixture } from './support/sync-fixture.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

/** Sessions of `c`'s database start in a zone that is not UTC (wharf's own sessions use UTC). */
async function zone(c: pg.Client, tz: string): Promise<void> {
  await c.query(`ALTER DATABASE "${c.database}" SET "TimeZone" = '${tz}'`);
  await c.query(`SET "TimeZone" = '${tz}'`);
}

/** Rows as `id|instant in UTC to the microsecond`, sorted. */
async function instants(c: pg.Client, table: string, column = 'at'): Promise<string[]> {
  const { rows } = await c.query(
    `SELECT id || '|' || to_char("${column}" AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS r FROM ${table} ORDER BY 1`,
  );
  return rows.map((r) => r.r as string);
}

describe.each([
  ['same engine', false],
  ['across connections', true],
])('a timestamptz sync cursor (%s)', (_label, cross) => {
  it('append: microseconds apart, equal instants written in other offsets, and a DST change load once each', async () => {
    await withSyncFixture(server, cross, async (f) => {
      await zone(f.src, 'America/New_York');
      if (cross) await zone(f.dst, 'Asia/Kolkata');
      await f.src.query('CREATE TABLE raw.clicks (id bigint NOT NULL, at timestamptz NOT NULL)');
      await f.dst.query('CREATE TABLE analytics.clicks (id bigint NOT NULL, at timestamptz NOT NULL)');
      // New York leaves EST for EDT at 2026-03-08 02:00 local (07:00 UTC).
      await f.src.query(`INSERT INTO raw.clicks VALUES
        (1, '2026-03-08 01:59:59.999998-05'), (2, '2026-03-08 01:59:59.999999-05'),
        (3, '2026-03-08 03:00:00.000001-04')`);
      const loaded = f.config(`- name: clicks
  from: { $FROMtable: raw.clicks }
  to: { table: analytics.clicks }
  mode: append
  cursor: { column: at }`);
      const run = async () => {
        const r = await runSyncs(loaded, { batchRows: 2 });
        expect(r.syncs[0]!.error).toBeUndefined();
        return r.syncs[0]!;
      };
      const first = await run();
      expect(first.rows.inserted).toBe(3);
      // The watermark keeps the microseconds: a millisecond Date would lose them.
      expect(first.watermark).toBe('2026-03-08 07:00:00.000001+00');
      // A row at the watermark's instant (written in UTC) and one a microsecond after it.
      await f.src.query(`INSERT INTO raw.clicks VALUES
        (4, '2026-03-08 07:00:00.000001+00'), (5, '2026-03-08 12:30:00.000002+05:30')`);
      // Row 4 ties the stored watermark and is new: loaded; the rows already loaded are not.
      const second = await run();
      expect(second.rows.inserted).toBe(2);
      expect(second.watermark).toBe('2026-03-08 07:00:00.000002+00');
      expect((await run()).rows.inserted).toBe(0);
      const expected = [
        '1|2026-03-08 06:59:59.999998',
        '2|2026-03-08 06:59:59.999999',
        '3|2026-03-08 07:00:00.000001',
        '4|2026-03-08 07:00:00.000001',
        '5|2026-03-08 07:00:00.000002',
      ];
      expect(await instants(f.src, 'raw.clicks')).toEqual(expected);
      expect(await instants(f.dst, 'analytics.clicks')).toEqual(expected);
    });
  });

  it('merge: a change of one microsecond is picked up, within the lookback', async () => {
    await withSyncFixture(server, cross, async (f) => {
      await zone(f.src, 'Pacific/Chatham');
      await f.src.query(
        'CREATE TABLE raw.accounts (id bigint PRIMARY KEY, plan text, changed timestamptz NOT NULL)',
      );
      await f.dst.query(
        'CREATE TABLE analytics.accounts (id bigint PRIMARY KEY, plan text, changed timestamptz NOT NULL)',
      );
      await f.src.query(`INSERT INTO raw.accounts VALUES
        (1, 'free', '2026-04-05 02:59:59.999999+13:45'), (2, 'free', '2026-04-05 03:00:00+12:45')`);
      const loaded = f.config(`- name: accounts
  from: { $FROMtable: raw.accounts }
  to: { table: analytics.accounts }
  mode: merge
  primaryKey: [id]
  cursor: { column: changed, lookback: 1s }`);
      const run = async () => {
        const r = await runSyncs(loaded);
        expect(r.syncs[0]!.error).toBeUndefined();
        return r.syncs[0]!;
      };
      expect((await run()).rows).toEqual({ inserted: 2, updated: 0, deleted: 0 });
      await f.src.query(
        `UPDATE raw.accounts SET plan = 'pro', changed = changed + interval '1 microsecond' WHERE id = 2`,
      );
      const second = await run();
      expect(second.rows).toEqual({ inserted: 0, updated: 1, deleted: 0 });
      expect(second.watermark).toBe('2026-04-04 14:15:00.000001+00');
      expect((await run()).rows).toEqual({ inserted: 0, updated: 0, deleted: 0 });
      const { rows } = await f.dst.query(
        `SELECT id, plan, to_char(changed AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS changed FROM analytics.accounts ORDER BY id`,
      );
      expect(rows).toEqual([
        { id: '1', plan: 'free', changed: '2026-04-04 13:14:59.999999' },
        { id: '2', plan: 'pro', changed: '2026-04-04 14:15:00.000001' },
      ]);
    });
  });
});

describe('a table partitioned on a timestamptz column', () => {
  const config = (db: string) => `version: 1
connections:
  wh: { type: postgres, url: "${server.urlFor(db)}" }
schemas:
  - name: app
tables:
  - schema: app
    name: events
    columns:
      - { name: id, type: bigint, nullable: false }
      - { name: at, type: timestamptz, nullable: false }
    primaryKey: [id, at]
    partition: { by: at, granularity: month, ahead: 1 }
`;
  const summary = (p: Plan) =>
    p.changes.map((c) => ({
      change: `${c.action} ${c.address}`,
      fields: c.fields,
      sql: c.statements.map((s) => s.sql),
    }));

  it('planned on 15 November, applied, then planned a month later: only the new month is created', async () => {
    const db = await server.createDatabase('tz_parts');
    const admin = await server.client(db);
    try {
      // A zone far from UTC: partition bounds must still be UTC midnights (wharf's sessions are UTC).
      await zone(admin, 'Pacific/Auckland');
      const { loaded, diagnostics } = loadConfigText(config(db), 'wharf.yaml');
      expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const planAt = async (iso: string) => {
        const run = await planConfig(loaded!, { now: new Date(iso) });
        return run;
      };
      const apply = async (run: Awaited<ReturnType<typeof planAt>>) => {
        try {
          const providers = new Map([...run.connections].map(([n, c]) => [n, c.provider]));
          const result = await applyPlan(run.plan, providers, {
            allowDestroy: false,
            lockTimeoutMs: 5000,
            holder: 'test',
          });
          expect(result.results.filter((r) => r.status !== 'done')).toEqual([]);
        } finally {
          await run.close();
        }
      };
      const changesAt = async (iso: string) => {
        const run = await planAt(iso);
        await run.close();
        return summary(run.plan);
      };

      const november = await planAt('2026-11-15T12:00:00Z');
      const created = november.plan.changes.flatMap((c) => c.statements.map((s) => s.sql));
      expect(created).toContain(
        `CREATE TABLE "app"."events_p2026_11" PARTITION OF "app"."events" FOR VALUES FROM ('2026-11-01') TO ('2026-12-01')`,
      );
      expect(created).toContain(
        `CREATE TABLE "app"."events_p2026_12" PARTITION OF "app"."events" FOR VALUES FROM ('2026-12-01') TO ('2027-01-01')`,
      );
      expect(created.filter((s) => s.includes('PARTITION OF'))).toHaveLength(2);
      await apply(november);
      expect(await changesAt('2026-11-15T12:00:00Z')).toEqual([]);

      // The bounds are UTC instants: 23:30 UTC on 30 November (already 1 December in
      // Auckland and in Paris) is November's; 04:30 UTC on 1 December (still 30 November
      // in New York) is December's.
      await admin.query(`INSERT INTO app.events VALUES (1, '2026-12-01 00:30:00+01'), (2, '2026-11-30 23:30:00-05'),
        (3, '2026-11-30 23:59:59.999999+00'), (4, '2026-12-01 00:00:00+00')`);
      const { rows } = await admin.query(
        'SELECT id, tableoid::regclass::text AS part FROM app.events ORDER BY id',
      );
      expect(rows).toEqual([
        { id: '1', part: 'app.events_p2026_11' },
        { id: '2', part: 'app.events_p2026_12' },
        { id: '3', part: 'app.events_p2026_11' },
        { id: '4', part: 'app.events_p2026_12' },
      ]);
      const bounds = await admin.query(
        `SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS b FROM pg_class c
          WHERE c.relispartition AND c.relnamespace = 'app'::regnamespace AND c.relkind = 'r' ORDER BY 1`,
      );
      // Read back in the session's zone (Auckland): 1 November 00:00 UTC is 13:00 there.
      expect(bounds.rows[0]).toEqual({
        relname: 'events_p2026_11',
        b: "FOR VALUES FROM ('2026-11-01 13:00:00+13') TO ('2026-12-01 13:00:00+13')",
      });

      // A month later: January is due; November and December stay as they are.
      const december = await planAt('2026-12-15T12:00:00Z');
      expect(summary(december.plan)).toEqual([
        {
          change: 'update wh.table:app.events',
          fields: [{ path: 'partition.partitions', before: null, after: ['events_p2027_01'] }],
          sql: [
            `CREATE TABLE "app"."events_p2027_01" PARTITION OF "app"."events" FOR VALUES FROM ('2027-01-01') TO ('2027-02-01')`,
          ],
        },
      ]);
      await apply(december);
      expect(await changesAt('2026-12-15T12:00:00Z')).toEqual([]);
      // Going back in time drops nothing: existing partitions are never dropped.
      expect(await changesAt('2026-11-15T12:00:00Z')).toEqual([]);
      const parts = await admin.query(
        `SELECT relname FROM pg_class WHERE relispartition AND relnamespace = 'app'::regnamespace AND relkind = 'r' ORDER BY 1`,
      );
      expect(parts.rows.map((r) => r.relname)).toEqual([
        'events_p2026_11',
        'events_p2026_12',
        'events_p2027_01',
      ]);
    } finally {
      await admin.end();
    }
  });
});
