// Syncs between PostgreSQL and Redshift, both ways: a real PostgreSQL database on one side,
// the emulated Redshift behind the loopback fake Data API (the real SDK client) on the other.
// Into Redshift, small batches force many Data API batches per run, each committed with its
// watermark; out of Redshift, small result pages stream into one destination transaction.
// Every mode must end exactly at the reference computed from the source.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { applyPlan } from '../src/apply/apply.js';
import { planConfig } from '../src/commands/plan.js';
import { loadConfigFile, loadConfigText } from '../src/config/load.js';
import type { ConnectionConfig, LoadedConfig } from '../src/config/types.js';
import { openConnection } from '../src/providers/connect.js';
import type { WarehouseProvider } from '../src/providers/provider.js';
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
const clients: pg.Client[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await harness?.close();
  harness = undefined;
  for (const c of clients.splice(0)) await c.end().catch(() => {});
});
afterAll(async () => {
  await server?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

interface Fixture {
  h: RedshiftHarness;
  src: pg.Client;
  dst: pg.Client;
  config(syncs: string): LoadedConfig;
  open: typeof openConnection;
}

/** into: PostgreSQL `app` -> Redshift `warehouse`; otherwise Redshift -> PostgreSQL. */
async function setup(into = true): Promise<Fixture> {
  const pgDb = await server.createDatabase('pg');
  const rsDb = await server.createDatabase('rs');
  const pgClient = await server.client(pgDb);
  const emu = await server.client(rsDb);
  const rsClient = await server.client(rsDb);
  clients.push(pgClient, emu, rsClient);
  // Small result pages: a run out of Redshift streams many of them.
  harness = await startRedshiftHarness(emu, into ? {} : { pageSize: 7 });
  const src = into ? pgClient : rsClient;
  const dst = into ? rsClient : pgClient;
  const srcDb = pgDb;
  await src.query(SOURCE_DDL);
  await dst.query(DEST_DDL);
  const h = harness;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-rsload-'));
  dirs.push(dir);
  return {
    h,
    src,
    dst,
    open: (name: string, cfg: ConnectionConfig, baseDir: string) =>
      cfg.type === 'redshift' ? h.open(name, cfg) : openConnection(name, cfg, baseDir),
    config(syncs) {
      const text = `version: 1
connections:
  app: { type: postgres, url: "${server.urlFor(srcDb)}" }
  warehouse: { type: redshift, cluster: analytics, database: dev, dbUser: wharf }
  other: { type: redshift, cluster: other, database: dev, dbUser: wharf }
defaultConnection: warehouse
syncs:
${(into
  ? syncs.replace(/\$FROM/g, 'connection: app, ')
  : syncs.replace(/\$FROM/g, '').replace(/to: \{ table:/g, 'to: { connection: app, table:')
)
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
`;
      const file = path.join(dir, 'wharf.yaml');
      fs.writeFileSync(file, text);
      const r = loadConfigText(text, file);
      expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      return r.loaded!;
    },
  };
}

const expectMatches = (f: Fixture, names: (keyof typeof REFERENCE)[]) => expectReference(f.src, f.dst, names);

describe('syncs from PostgreSQL into Redshift (emulated)', () => {
  it('append, merge, cdc and full equal their references after every round, batch after batch', async () => {
    const f = await setup();
    const loaded = f.config(ALL_SYNCS);
    const w = new SourceWriter(f.src, rng(17));
    for (let round = 0; round < 5; round++) {
      await w.round(round === 2 ? 0 : 40);
      if (round === 4) await w.flush();
      const before = f.h.fake.count('BatchExecuteStatement');
      const res = await runSyncs(loaded, { open: f.open, batchRows: 9 });
      expect(res.syncs.map((s) => [s.name, s.status, s.error])).toEqual([
        ['events', 'ok', undefined],
        ['users', 'ok', undefined],
        ['cart', 'ok', undefined],
        ['users_full', 'ok', undefined],
      ]);
      // Rows were sent in several committed batches, not one.
      if (round === 0) expect(f.h.fake.count('BatchExecuteStatement') - before).toBeGreaterThan(12);
      await expectMatches(
        f,
        round === 4 ? ['events', 'users', 'cart', 'users_full'] : ['events', 'users', 'users_full'],
      );
    }
    const again = await runSyncs(loaded, { open: f.open, batchRows: 9 });
    for (const s of again.syncs.filter((x) => x.mode !== 'full'))
      expect({ name: s.name, rows: s.rows }).toEqual({
        name: s.name,
        rows: { inserted: 0, updated: 0, deleted: 0 },
      });
    // --full-refresh reloads everything and ends at the same place.
    const refreshed = await runSyncs(loaded, { open: f.open, fullRefresh: true });
    expect(refreshed.ok).toBe(true);
    await expectMatches(f, ['events', 'users', 'cart', 'users_full']);
  });

  it('values survive the trip exactly: quotes, backslashes, tabs, newlines, unicode, NULLs, duplicate rows', async () => {
    const f = await setup();
    const tricky = ["it's", 'back\\slash \\N', 'tab\there', 'new\nline\r', 'ünïcødé ✓', '', null, "''\\\\'"];
    for (const [i, email] of tricky.entries())
      await f.src.query('INSERT INTO raw.users VALUES ($1, $2, $3, $4)', [
        i,
        email,
        i % 2 ? null : 'pro',
        '2026-01-01 00:00:00',
      ]);
    // Three identical events straddling any batch boundary must stay three.
    for (let i = 0; i < 3; i++)
      await f.src.query(`INSERT INTO raw.events VALUES (7, 7, 'dup', '2026-01-01 00:00:00')`);
    const loaded = f.config(ALL_SYNCS.split('- name: cart')[0]!);
    expect((await runSyncs(loaded, { open: f.open, batchRows: 2 })).ok).toBe(true);
    await expectMatches(f, ['users', 'events']);
    // Loaded again at the same watermark (inclusive bound): nothing is doubled.
    expect(
      (await runSyncs(loaded, { open: f.open, batchRows: 2 })).syncs.map((s) => s.rows.inserted),
    ).toEqual([0, 0]);
    await expectMatches(f, ['users', 'events']);
    // A fourth identical event at the watermark is new: the copies are compared as one group
    // even with batches of two rows.
    await f.src.query(`INSERT INTO raw.events VALUES (7, 7, 'dup', '2026-01-01 00:00:00')`);
    expect(
      (await runSyncs(loaded, { open: f.open, batchRows: 2 })).syncs.map((s) => s.rows.inserted),
    ).toEqual([1, 0]);
    await expectMatches(f, ['users', 'events']);
  });

  it('--dry-run counts exactly when the rows fit one batch, else reports the rows it would read; it keeps nothing', async () => {
    const f = await setup();
    const loaded = f.config(ALL_SYNCS);
    const w = new SourceWriter(f.src, rng(41));
    await w.round(30);
    expect((await runSyncs(loaded, { open: f.open })).ok).toBe(true);
    await w.round(30);
    await w.flush();
    const dump = async () => [
      await rowsOf(f.dst, 'SELECT * FROM analytics.events'),
      await rowsOf(f.dst, 'SELECT * FROM analytics.users'),
      await rowsOf(f.dst, 'SELECT * FROM analytics.cart'),
      await rowsOf(f.dst, 'SELECT * FROM analytics.users_full'),
      await rowsOf(
        f.dst,
        'SELECT target, name, watermark, last_sequence, rows_loaded FROM wharf_state.sync_state',
      ),
    ];
    const before = await dump();
    const split = await runSyncs(loaded, { open: f.open, dryRun: true, batchRows: 5 });
    const dry = await runSyncs(loaded, { open: f.open, dryRun: true });
    expect(await dump()).toEqual(before);
    const real = await runSyncs(loaded, { open: f.open });
    for (const [i, s] of dry.syncs.entries()) {
      expect(s.dryRun?.counted).toBeUndefined();
      expect({ name: s.name, rows: s.rows, read: s.read }).toEqual({
        name: s.name,
        rows: real.syncs[i]!.rows,
        read: real.syncs[i]!.read,
      });
    }
    // In batches of 5 rows an incremental sync needs several batches: only the rows it would read.
    for (const s of split.syncs.filter((x) => x.mode !== 'full')) {
      expect({ name: s.name, counted: s.dryRun?.counted }).toEqual({ name: s.name, counted: false });
      expect(s.read).toBe(real.syncs.find((x) => x.name === s.name)!.read);
    }
  });

  it('JSON goes into SUPER through JSON_PARSE (a plain string would stay a string on Redshift)', async () => {
    const f = await setup();
    await f.src.query(`CREATE TABLE raw.props (id bigint NOT NULL, props jsonb, updated_at timestamp NOT NULL);
      INSERT INTO raw.props VALUES (1, '{"plan": "pro", "seats": 3}', '2026-01-01'), (2, NULL, '2026-01-01'), (3, '"just a string"', '2026-01-01')`);
    await f.dst.query(
      'CREATE TABLE analytics.props (id bigint NOT NULL, props rsemu.super, updated_at timestamp NOT NULL)',
    );
    const loaded = f.config(`- name: props
  from: { $FROMtable: raw.props }
  to: { table: analytics.props }
  mode: append
  cursor: { column: updated_at }`);
    expect((await runSyncs(loaded, { open: f.open })).syncs[0]!.rows.inserted).toBe(3);
    expect(await rowsOf(f.dst, 'SELECT id, props::jsonb AS props FROM analytics.props')).toEqual(
      await rowsOf(f.src, 'SELECT id, props FROM raw.props'),
    );
    const inserts = f.h.fake.executions.filter((e) => e.sql.startsWith('INSERT INTO wharf_src VALUES'));
    expect(inserts.map((e) => e.sql.match(/JSON_PARSE\(/g)?.length ?? 0)).toEqual([2]);
  });

  it('a cursor going backwards is refused on the source before anything is written', async () => {
    const f = await setup();
    await f.src.query(`INSERT INTO raw.events VALUES (1, 1, 'a', '2026-01-02')`);
    const loaded = f.config(ALL_SYNCS.split('- name: users')[0]!);
    expect((await runSyncs(loaded, { open: f.open })).ok).toBe(true);
    await f.src.query(`UPDATE raw.events SET updated_at = '2025-01-01'`);
    await f.src.query(`INSERT INTO raw.events VALUES (2, 1, 'b', '2025-01-01')`);
    const before = await rowsOf(f.dst, 'SELECT * FROM analytics.events');
    const r = await runSyncs(loaded, { open: f.open });
    expect(r.syncs[0]!.error).toMatch(/cursor updated_at went backwards/);
    expect(await rowsOf(f.dst, 'SELECT * FROM analytics.events')).toEqual(before);
  });

  it('wharf plan checks syncs into and out of Redshift against both catalogs; between two Redshift connections is an error', async () => {
    const f = await setup();
    const loaded = f.config(`- name: users
  from: { $FROMtable: raw.users }
  to: { table: analytics.users }
  mode: merge
  primaryKey: [user_id]
  cursor: { column: no_such_column }
- name: back
  from: { table: analytics.users }
  to: { connection: app, table: raw.users }
  mode: full
- name: across
  from: { table: analytics.users }
  to: { connection: other, table: analytics.users }
  mode: full`);
    const run = await planConfig(loaded, { open: f.open });
    await run.close();
    const messages = run.plan.diagnostics.map((d) => d.message);
    expect(messages).toContain(
      'sync users: cursor column no_such_column is not in the source table raw.users',
    );
    // Out of Redshift into PostgreSQL is checked too (and this one is fine).
    expect(messages.filter((m) => m.startsWith('sync back:'))).toEqual([]);
    expect(
      messages.some((m) => m.startsWith('sync across: warehouse -> other: rows move inside one connection')),
    ).toBe(true);
  });
});

describe('syncs from Redshift (emulated) into PostgreSQL', () => {
  it('append, merge, cdc and full equal their references after every round; one transaction per run', async () => {
    const f = await setup(false);
    const loaded = f.config(ALL_SYNCS);
    const w = new SourceWriter(f.src, rng(23));
    for (let round = 0; round < 5; round++) {
      await w.round(round === 2 ? 0 : 40);
      if (round === 4) await w.flush();
      const res = await runSyncs(loaded, { open: f.open });
      expect(res.syncs.map((s) => [s.name, s.status, s.error])).toEqual([
        ['events', 'ok', undefined],
        ['users', 'ok', undefined],
        ['cart', 'ok', undefined],
        ['users_full', 'ok', undefined],
      ]);
      await expectMatches(
        f,
        round === 4 ? ['events', 'users', 'cart', 'users_full'] : ['events', 'users', 'users_full'],
      );
    }
    const again = await runSyncs(loaded, { open: f.open });
    for (const s of again.syncs.filter((x) => x.mode !== 'full'))
      expect({ name: s.name, rows: s.rows }).toEqual({
        name: s.name,
        rows: { inserted: 0, updated: 0, deleted: 0 },
      });
  });

  it('values survive the trip exactly, --dry-run counts exactly and keeps nothing, a backwards cursor changes nothing', async () => {
    const f = await setup(false);
    const tricky = ["it's", 'back\\slash \\N', 'tab\there', 'new\nline\r', 'ünïcødé ✓', '', null];
    // Above 2^53: JavaScript numbers cannot hold it, the Data API sends BIGINT as a number.
    await f.src.query(`INSERT INTO raw.users VALUES (9007199254740993, 'big@x.io', 'pro', '2026-01-01')`);
    for (const [i, email] of tricky.entries())
      await f.src.query('INSERT INTO raw.users VALUES ($1, $2, $3, $4)', [
        i,
        email,
        i % 2 ? null : 'pro',
        '2026-01-01 00:00:00.123456',
      ]);
    const loaded = f.config(ALL_SYNCS.split('- name: cart')[0]!);
    const dry = await runSyncs(loaded, { open: f.open, dryRun: true });
    expect(await rowsOf(f.dst, 'SELECT * FROM analytics.users')).toEqual([]);
    const real = await runSyncs(loaded, { open: f.open });
    expect(dry.syncs.map((s) => s.rows)).toEqual(real.syncs.map((s) => s.rows));
    expect(real.syncs[1]!.rows.inserted).toBe(tricky.length + 1);
    await expectMatches(f, ['users', 'events']);
    await f.src.query(`UPDATE raw.users SET updated_at = '2020-01-01'`);
    const before = await rowsOf(f.dst, 'SELECT * FROM analytics.users');
    const back = await runSyncs(loaded, { open: f.open, names: ['users'] });
    expect(back.syncs[0]!.error).toMatch(/cursor updated_at went backwards/);
    expect(await rowsOf(f.dst, 'SELECT * FROM analytics.users')).toEqual(before);
  });
});

describe('examples/toplyne-redshift-syncs.yaml', () => {
  it('applies, then keeps toplyne.events (inside Redshift) and toplyne.users (from PostgreSQL) fresh', async () => {
    const f = await setup(true); // src: the app's PostgreSQL; dst: the emulated Redshift
    await f.dst.query(`DROP SCHEMA analytics CASCADE; CREATE SCHEMA analytics;
      CREATE TABLE analytics.events (user_id bigint NOT NULL, event_name varchar(256) NOT NULL, event_time timestamp NOT NULL,
        updated_at timestamp NOT NULL, source varchar(32));
      INSERT INTO analytics.events SELECT g % 7, 'e' || g, '2026-01-01'::timestamp + g * interval '1 minute',
        '2026-01-01'::timestamp + g * interval '1 minute', 'web' FROM generate_series(1, 50) g;`);
    await f.src.query(`CREATE TABLE public.users (user_id bigint PRIMARY KEY, email text, plan text, updated_at timestamp NOT NULL);
      INSERT INTO public.users SELECT g, 'u' || g || '@x.io', 'free', '2026-01-01'::timestamp + g * interval '1 s' FROM generate_series(1, 30) g;`);
    vi.stubEnv('APP_DATABASE_URL', server.rawUrl(f.src.database!));
    const loaded = loadConfigFile(
      path.join(import.meta.dirname, '..', 'examples', 'toplyne-redshift-syncs.yaml'),
    );
    expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const planned = await planConfig(loaded.loaded!, { open: f.open });
    expect(planned.plan.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const providers = new Map<string, WarehouseProvider>(
      [...planned.connections].map(([n, c]) => [n, c.provider] as const),
    );
    const applied = await applyPlan(planned.plan, providers, {
      allowDestroy: false,
      lockTimeoutMs: 0,
      holder: 'test',
    });
    await planned.close();
    expect(applied.ok).toBe(true);

    const events = 'SELECT user_id, event_name, event_time AS "timestamp", updated_at FROM analytics.events';
    const check = async () => {
      expect(await rowsOf(f.dst, 'SELECT * FROM toplyne.events')).toEqual(await rowsOf(f.dst, events));
      expect(await rowsOf(f.dst, 'SELECT * FROM toplyne.users')).toEqual(
        await rowsOf(f.src, 'SELECT * FROM public.users'),
      );
    };
    const first = await runSyncs(loaded.loaded!, { open: f.open });
    expect(first.syncs.map((s) => [s.name, s.status, s.rows.inserted])).toEqual([
      ['events', 'ok', 50],
      ['users', 'ok', 30],
    ]);
    await check();
    // New events (one late, inside the 10-minute lookback) and changed profiles.
    await f.dst.query(`INSERT INTO analytics.events VALUES (1, 'late', '2026-01-01 00:45:00', '2026-01-01 00:45:30', 'web'),
      (2, 'new', '2026-01-01 01:00:00', '2026-01-01 01:00:00', 'web')`);
    await f.src.query(`UPDATE public.users SET plan = 'pro', updated_at = '2026-02-01' WHERE user_id <= 5`);
    const second = await runSyncs(loaded.loaded!, { open: f.open });
    expect(second.syncs.map((s) => [s.name, s.rows])).toEqual([
      ['events', { inserted: 2, updated: 0, deleted: 0 }],
      ['users', { inserted: 0, updated: 5, deleted: 0 }],
    ]);
    await check();
    vi.stubEnv('APP_DATABASE_URL', undefined);
  });
});
