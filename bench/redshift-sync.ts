// Benchmark: Data API calls and time of `wharf sync` with Redshift, through the real SDK
// client against the loopback fake Data API on the Redshift emulator (statements run on a
// real PostgreSQL), for 1,000, 10,000 and 100,000 source rows (BENCH_SYNC_ROWS):
//
// - inside Redshift (append, source and destination on the one connection): the first load,
//   an incremental run with 10% new rows, and a run that finds nothing new; baseline: the
//   same rows moved by one hand-written `INSERT INTO … SELECT` in one ExecuteStatement, the
//   least any tool can send, measured in the same run;
// - from PostgreSQL into Redshift, and from Redshift into PostgreSQL (merge): the first load.
//
// The emulator's times say nothing about a real cluster's; the submissions are what carry
// over (the service is rate limited and every submission costs a poll loop). Targets: inside
// Redshift, submissions constant (2 per run) whatever the size. Prints a table and writes
// bench/results/redshift-sync.json. Run with `npm run bench:redshift`.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, it } from 'vitest';
import { loadConfigText } from '../src/config/load.js';
import type { ConnectionConfig } from '../src/config/types.js';
import { openConnection } from '../src/providers/connect.js';
import { runSyncs } from '../src/sync/run.js';
import { startTestServer, type TestServer } from '../test/support/pg.js';
import { startRedshiftHarness } from '../test/support/redshift-harness.js';

const SIZES = (process.env.BENCH_SYNC_ROWS ?? '1000,10000,100000').split(',').map(Number);
const SUBMIT = new Set(['ExecuteStatement', 'BatchExecuteStatement']);

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const EVENTS = `(event_id bigint NOT NULL, user_id bigint NOT NULL, event_name varchar(64) NOT NULL, updated_at timestamp NOT NULL)`;
const fill = (table: string, from: number, to: number) =>
  `INSERT INTO ${table} SELECT g, g % 5000, 'e' || (g % 7), '2026-01-01'::timestamp + g * interval '1 s' FROM generate_series(${from}, ${to}) g`;

it('sync with Redshift: Data API submissions and time by size', async () => {
  const rows: Record<string, unknown>[] = [];
  for (const n of SIZES) {
    const pgDb = await server.createDatabase('benchpg');
    const rsDb = await server.createDatabase('benchrs');
    const pgc = await server.client(pgDb);
    const emu = await server.client(rsDb);
    const rs = await server.client(rsDb);
    const h = await startRedshiftHarness(emu);
    await rs.query(
      `CREATE SCHEMA raw; CREATE TABLE raw.events ${EVENTS}; CREATE INDEX ON raw.events (updated_at); ${fill('raw.events', 1, n)};
       CREATE SCHEMA toplyne; CREATE TABLE toplyne.events ${EVENTS}; CREATE TABLE toplyne.events_baseline ${EVENTS};
       CREATE TABLE toplyne.users (user_id bigint PRIMARY KEY, email varchar(320), plan varchar(64), updated_at timestamp NOT NULL)`,
    );
    await pgc.query(
      `CREATE TABLE public.users (user_id bigint PRIMARY KEY, email text, plan text, updated_at timestamp NOT NULL);
       INSERT INTO public.users SELECT g, 'u' || g || '@example.com', 'free', '2026-01-01'::timestamp + g * interval '1 s' FROM generate_series(1, ${n}) g;
       CREATE SCHEMA copies; CREATE TABLE copies.events ${EVENTS};`,
    );
    const open = (name: string, cfg: ConnectionConfig, baseDir: string) =>
      cfg.type === 'redshift' ? h.open(name, cfg) : openConnection(name, cfg, baseDir);
    const loaded = loadConfigText(
      `version: 1
connections:
  warehouse: { type: redshift, cluster: analytics, database: dev, dbUser: wharf }
  app: { type: postgres, url: "${server.urlFor(pgDb)}" }
defaultConnection: warehouse
syncs:
  - { name: events, from: { table: raw.events }, to: { table: toplyne.events }, mode: append, cursor: { column: updated_at } }
  - { name: users, from: { connection: app, table: public.users }, to: { table: toplyne.users }, mode: merge, primaryKey: [user_id], cursor: { column: updated_at } }
  - { name: back, from: { table: raw.events }, to: { connection: app, table: copies.events }, mode: append, cursor: { column: updated_at } }
`,
      'bench.yaml',
    ).loaded!;
    const measure = async (names: string[]) => {
      const start = h.fake.calls.length;
      const t0 = performance.now();
      const r = await runSyncs(loaded, { open, names });
      const ms = Math.round(performance.now() - t0);
      if (!r.ok) throw new Error(JSON.stringify(r.syncs.map((s) => s.error)));
      const calls = h.fake.calls.slice(start);
      return {
        ms,
        submissions: calls.filter((c) => SUBMIT.has(c.operation)).length,
        polls: calls.filter((c) => c.operation === 'DescribeStatement').length,
        pages: calls.filter((c) => c.operation === 'GetStatementResult').length,
        rows: r.syncs[0]!.rows,
      };
    };
    // Baseline: the same rows by one INSERT … SELECT, one ExecuteStatement.
    const api = (await h.open('warehouse', loaded.connections.warehouse!)).dataApi!;
    const b0 = performance.now();
    await api.query('INSERT INTO toplyne.events_baseline SELECT * FROM raw.events');
    const baselineMs = Math.round(performance.now() - b0);
    const first = await measure(['events']);
    await rs.query(fill('raw.events', n + 1, n + n / 10));
    const incremental = await measure(['events']);
    const nothing = await measure(['events']);
    const into = await measure(['users']);
    const outOf = await measure(['back']);
    rows.push({
      rows: n,
      baselineMs,
      inside: { first, incremental, nothing },
      intoRedshift: into,
      outOfRedshift: outOf,
    });
    await h.close();
    for (const c of [pgc, emu, rs]) await c.end();
  }
  console.log('\nSyncs with Redshift (emulated): submissions / polls / result pages, time');
  for (const r of rows) {
    const i = r.inside as Record<string, { ms: number; submissions: number; polls: number; pages: number }>;
    const f = (x: { ms: number; submissions: number; polls: number; pages: number }) =>
      `${x.submissions} / ${x.polls} / ${x.pages} (${x.ms} ms)`;
    console.log(
      `  ${String(r.rows).padStart(7)} rows: inside first ${f(i.first!)}, +10% ${f(i.incremental!)}, nothing new ${f(i.nothing!)}; ` +
        `baseline INSERT…SELECT ${r.baselineMs} ms (first load ${(i.first!.ms / (r.baselineMs as number)).toFixed(1)}x); ` +
        `into Redshift ${f(r.intoRedshift as never)}; out of Redshift ${f(r.outOfRedshift as never)}`,
    );
  }
  fs.mkdirSync(path.join(import.meta.dirname, 'results'), { recursive: true });
  fs.writeFileSync(
    path.join(import.meta.dirname, 'results', 'redshift-sync.json'),
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, sizes: rows }, null, 2)}\n`,
  );
});
