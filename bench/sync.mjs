// Benchmark: the sync runner against hand-written baselines, measured in this run on the same
// real PostgreSQL server (the embedded one on 127.0.0.1 in a temp folder, or the installation
// in WHARF_BENCH_PG_BIN).
//
// 1. merge: 100,000 changed rows (90,000 updates, 10,000 new) into a 1,000,000-row table, by
//    `wharf sync` (mode merge, same engine) and by one hand-written MERGE statement (on a new
//    connection, as a scheduled job runs it, and on a warm session), on identical copies, six
//    rounds, rotating which goes first. Target: wharf / MERGE <= 1.3.
// 2. copy: 1,000,000 event rows from one database to another, by `wharf sync` (mode append,
//    across connections, the real executable) and by
//    `psql -c "\copy (…) to stdout" | psql -c "\copy … from stdin"`. Target: wharf's throughput
//    >= 0.7x the pipe's, peak RSS < 256 MB.
// 3. nothing new: an incremental run over a 1,000,000-row source that finds nothing new.
//    Reports the engine's execution time of the sync statement (EXPLAIN ANALYZE) and whether it
//    reads the cursor through an index, and the whole run's wall time. Target: < 100 ms engine.
// 4. merge-sizes: 10,000, 100,000 and 1,000,000 changed rows (90 % updates, 10 % new) into a
//    2,000,000-row table, by `wharf sync` (merge, same engine) and by one hand-written MERGE on
//    a warm session, on identical copies, rounds alternating which goes first. Target: wharf /
//    MERGE <= 1.2 at every size (PostgreSQL 15 and 16 run a plain MERGE, 17+ MERGE … RETURNING).
//    BENCH_MERGE_SIZES=10000,100000 picks sizes, BENCH_MERGE_TABLE=… the table size.
// 5. cross-merge: a catch-up of changed rows at --batch-rows 20 into a destination of
//    BENCH_XMERGE_ROWS (32,000) rows across connections: milliseconds per batch, and the
//    engine's time of the batch statement, which must not grow with the destination.
//
// Not a test: prints figures and writes bench/results/sync.json. Run: npm run build && node bench/sync.mjs
// (BENCH_ROWS=… to scale, BENCH_ONLY=merge,copy,nothing-new,merge-sizes,cross-merge to pick
// sections; the default runs the first three).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { acquireLocalServer, loadConfigText } from '../dist/index.js';
import { runSyncs } from '../dist/sync/run.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const CHANGED = Math.round(ROWS / 10);
const ONLY = new Set((process.env.BENCH_ONLY ?? 'merge,copy,nothing-new').split(','));
const PSQL = ['/usr/lib/postgresql/15/bin/psql', '/usr/bin/psql'].find((p) => fs.existsSync(p));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-bench-sync-'));
const server = await acquireLocalServer({
  dir,
  database: 'postgres',
  binDir: process.env.WHARF_BENCH_PG_BIN || undefined,
});
process.env.WHARF_BENCH_PASSWORD = server.password;
const url = (db) => `postgres://${server.user}:\${env:WHARF_BENCH_PASSWORD}@127.0.0.1:${server.port}/${db}`;
const client = async (db) => {
  const c = new pg.Client({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database: db,
  });
  await c.connect();
  return c;
};
const admin = await client('postgres');
for (const db of ['bench_src', 'bench_dst']) await admin.query(`CREATE DATABASE ${db}`);
await admin.end();
const src = await client('bench_src');
const dst = await client('bench_dst');
const results = { rows: ROWS, server: (await src.query('SHOW server_version')).rows[0].server_version };

function config(syncs) {
  const file = path.join(dir, 'wharf.yaml');
  const text = `version: 1
connections:
  source: { type: postgres, url: "${url('bench_src')}" }
  warehouse: { type: postgres, url: "${url('bench_dst')}" }
defaultConnection: warehouse
syncs:
${syncs}
`;
  fs.writeFileSync(file, text);
  const { loaded, diagnostics } = loadConfigText(text, file);
  if (!loaded) throw new Error(JSON.stringify(diagnostics));
  return { loaded, file };
}

async function timed(fn) {
  const t0 = performance.now();
  const r = await fn();
  return { ms: performance.now() - t0, r };
}
// The time of wharf's own data statement inside a run (the rest is connecting, catalog checks,
// lock and state): timed at the client around the statement that starts with WITH.
let statementMs = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (...args) {
  const text = typeof args[0] === 'string' ? args[0] : '';
  const r = query.apply(this, args);
  if (text.startsWith('WITH ') && r && typeof r.then === 'function') {
    const t0 = performance.now();
    r.then(
      () => {
        statementMs += performance.now() - t0;
      },
      () => {},
    );
  }
  return r;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const log = (s) => process.stdout.write(`${s}\n`);

// ---- 1. merge versus one MERGE statement ------------------------------------------------
// Three identical copies, merged each round by: wharf (`runSyncs`, which opens its session like
// any scheduled run), the hand-written MERGE run the way a scheduled job runs it (a new
// connection: connect, MERGE, disconnect), and the same MERGE on the benchmark's long-lived,
// warm session. A new server process pays for its first touches of the shared buffers and
// catalogs; the fresh-connection baseline pays the same, so wharf / fresh-MERGE is wharf's
// own overhead, and wharf / warm-MERGE is reported beside it.
if (ONLY.has('merge')) {
  log(`merge: ${ROWS.toLocaleString()} rows, ${CHANGED.toLocaleString()} changed per round`);
  const copies = ['analytics.users_wharf', 'analytics.users_fresh', 'analytics.users_warm'];
  await dst.query(`
    CREATE SCHEMA raw; CREATE SCHEMA analytics;
    CREATE TABLE raw.users (user_id bigint PRIMARY KEY, email text, plan text, score int, updated_at timestamp NOT NULL);
    INSERT INTO raw.users SELECT g, 'user' || g || '@example.com', 'free', g % 100,
      '2026-01-01'::timestamp + g * interval '1 ms' FROM generate_series(1, ${ROWS}) g;
    CREATE INDEX ON raw.users (updated_at);
    ${copies.map((t) => `CREATE TABLE ${t} (LIKE raw.users INCLUDING ALL); INSERT INTO ${t} SELECT * FROM raw.users;`).join('\n')}`);
  // Autovacuum would run on one copy while another is being merged (2 cores): off here, and
  // every copy is vacuumed before every round instead.
  for (const t of ['raw.users', ...copies]) {
    await dst.query(`ALTER TABLE ${t} SET (autovacuum_enabled = off)`);
    await dst.query(`VACUUM ANALYZE ${t}`);
  }
  const { loaded } = config(`  - name: users
    from: { table: raw.users }
    to: { table: analytics.users_wharf }
    mode: merge
    primaryKey: [user_id]
    cursor: { column: updated_at }`);
  // The first run reads everything (the copies are already equal: nothing changes) and sets the watermark.
  const first = await runSyncs(loaded);
  if (!first.ok) throw new Error(first.syncs[0].error);
  let watermark = first.syncs[0].watermark;
  const rounds = [];
  const ROUNDS = 6;
  for (let round = 1; round <= ROUNDS; round++) {
    const at = `2026-06-0${round}`;
    await dst.query(
      `UPDATE raw.users SET plan = 'pro${round}', score = score + 1, updated_at = $1::timestamp + user_id * interval '1 us'
                      WHERE user_id % 100 < 9 AND user_id <= ${ROWS}`,
      [at],
    );
    await dst.query(
      `INSERT INTO raw.users SELECT ${ROWS} + (${round} - 1) * ${CHANGED / 10} + g, 'new' || g, 'free', 0,
                       $1::timestamp + interval '1 hour' + g * interval '1 us' FROM generate_series(1, ${CHANGED / 10}) g`,
      [at],
    );
    for (const t of ['raw.users', ...copies]) await dst.query(`VACUUM ANALYZE ${t}`);
    await dst.query('CHECKPOINT');
    const mergeSql = (t) => `MERGE INTO ${t} d
      USING (SELECT * FROM raw.users WHERE updated_at >= '${watermark}'::timestamp) s ON d.user_id = s.user_id
      WHEN MATCHED THEN UPDATE SET email = s.email, plan = s.plan, score = s.score, updated_at = s.updated_at
      WHEN NOT MATCHED THEN INSERT VALUES (s.user_id, s.email, s.plan, s.score, s.updated_at)`;
    // Each side starts with its own table just read (the others' runs would otherwise have
    // pushed it out of the caches, and whichever runs later would pay for it).
    const warm = (t) => dst.query(`SELECT sum(length(email)) + sum(score) FROM ${t}`);
    const sides = {
      wharf: async () => {
        await warm(copies[0]);
        statementMs = 0;
        return timed(() => runSyncs(loaded));
      },
      fresh: async () => {
        await warm(copies[1]);
        return timed(async () => {
          const c = await client('bench_dst');
          await c.query(mergeSql(copies[1]));
          await c.end();
        });
      },
      warm: async () => {
        await warm(copies[2]);
        return timed(() => dst.query(mergeSql(copies[2])));
      },
    };
    // Every side runs first, second and third equally often across the rounds.
    const order = ['wharf', 'fresh', 'warm'];
    for (let i = 0; i < (round - 1) % 3; i++) order.push(order.shift());
    const t = {};
    for (const [i, side] of order.entries()) {
      if (i > 0) await dst.query('CHECKPOINT');
      t[side] = await sides[side]();
    }
    const s = t.wharf.r.syncs[0];
    if (s.status !== 'ok') throw new Error(s.error);
    watermark = s.watermark;
    const stmt = statementMs;
    const r = {
      order: order.join(' > '),
      wharfMs: Math.round(t.wharf.ms),
      statementMs: Math.round(stmt),
      freshMergeMs: Math.round(t.fresh.ms),
      warmMergeMs: Math.round(t.warm.ms),
      ratio: +(t.wharf.ms / t.fresh.ms).toFixed(2),
      ratioWarm: +(t.wharf.ms / t.warm.ms).toFixed(2),
      statementRatioWarm: +(stmt / t.warm.ms).toFixed(2),
      rows: s.rows,
    };
    rounds.push(r);
    log(
      `  round ${round} (${r.order}): wharf ${r.wharfMs} ms (${s.rows.inserted} inserted, ${s.rows.updated} updated; statement ${r.statementMs} ms), MERGE new connection ${r.freshMergeMs} ms, MERGE warm session ${r.warmMergeMs} ms; ratios ${r.ratio} / ${r.ratioWarm}`,
    );
  }
  const same = await dst.query(
    `SELECT ${copies
      .slice(1)
      .map(
        (c, i) => `(SELECT count(*) FROM (SELECT * FROM ${copies[0]} EXCEPT SELECT * FROM ${c}) x) AS d${i}`,
      )
      .join(', ')}`,
  );
  results.merge = {
    rounds,
    medianRatio: median(rounds.map((r) => r.ratio)),
    medianRatioWarm: median(rounds.map((r) => r.ratioWarm)),
    medianStatementRatioWarm: median(rounds.map((r) => r.statementRatioWarm)),
    identicalResults: Object.values(same.rows[0]).every((d) => d === '0'),
    target: '<= 1.3',
  };
  log(
    `  median ratio wharf / MERGE on a new connection: ${results.merge.medianRatio} (target <= 1.3); wharf / MERGE on a warm session: ${results.merge.medianRatioWarm} (statement alone ${results.merge.medianStatementRatioWarm}); results identical: ${results.merge.identicalResults}`,
  );
}

// ---- 2. cross-connection copy versus psql \copy | psql \copy -------------------------------
if (ONLY.has('copy')) {
  log(`copy: ${ROWS.toLocaleString()} event rows across databases`);
  const ddl = (
    t,
  ) => `CREATE TABLE ${t} (event_id bigint NOT NULL, user_id bigint NOT NULL, event_name text NOT NULL,
      event_time timestamp NOT NULL, updated_at timestamp NOT NULL, properties jsonb)`;
  await src.query(`CREATE SCHEMA raw; ${ddl('raw.events')};
    INSERT INTO raw.events SELECT g, g % 5000, (ARRAY['login','click','pay'])[1 + g % 3], '2026-01-01'::timestamp + g * interval '1 s',
      '2026-01-01'::timestamp + g * interval '1 ms', jsonb_build_object('amount', g % 1000, 'page', 'p' || (g % 50))
      FROM generate_series(1, ${ROWS}) g;
    CREATE INDEX ON raw.events (updated_at);`);
  await src.query('VACUUM ANALYZE raw.events');
  await dst.query(
    `CREATE SCHEMA IF NOT EXISTS analytics; ${ddl('analytics.events_wharf')}; ${ddl('analytics.events_psql')};`,
  );
  const bytes = (await src.query(`SELECT pg_size_pretty(pg_total_relation_size('raw.events')) AS s`)).rows[0]
    .s;
  let psqlMs = null;
  if (PSQL) {
    const env = { ...process.env, PGPASSWORD: server.password };
    const conn = (db) => [
      '-h',
      '127.0.0.1',
      '-p',
      String(server.port),
      '-U',
      server.user,
      '-d',
      db,
      '-v',
      'ON_ERROR_STOP=1',
      '-q',
    ];
    const t0 = performance.now();
    const r = spawnSync(
      'bash',
      [
        '-c',
        `"${PSQL}" ${conn('bench_src').join(' ')} -c "\\copy (SELECT * FROM raw.events) to stdout" | "${PSQL}" ${conn('bench_dst').join(' ')} -c "\\copy analytics.events_psql from stdin"`,
      ],
      { env, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    psqlMs = performance.now() - t0;
    if (r.status !== 0) throw new Error('psql pipe failed');
  }
  await dst.query('CHECKPOINT');
  const { file } = config(`  - name: events
    from: { connection: source, table: raw.events }
    to: { table: analytics.events_wharf }
    mode: append
    cursor: { column: updated_at }`);
  // The real executable, in a child whose peak RSS it reports itself at exit.
  const wrapper = `import { main } from ${JSON.stringify(path.join(ROOT, 'dist', 'cli', 'main.js'))};
    const code = await main(['sync', '-f', ${JSON.stringify(file)}, '--json']);
    const u = process.resourceUsage();
    process.stderr.write('MAXRSS ' + u.maxRSS + ' CPU ' + Math.round((u.userCPUTime + u.systemCPUTime) / 1000) + '\\n'); process.exit(code);`;
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--input-type=module', '-e', wrapper], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise((r) => child.on('exit', r));
  const wharfMs = performance.now() - t0;
  if (code !== 0) throw new Error(`wharf sync failed: ${out} ${err}`);
  const rssMb = Math.round(Number(/MAXRSS (\d+)/.exec(err)?.[1] ?? 0) / 1024);
  const cpuMs = Number(/CPU (\d+)/.exec(err)?.[1] ?? 0);
  const n = (await dst.query('SELECT count(*)::int AS n FROM analytics.events_wharf')).rows[0].n;
  results.copy = {
    rows: n,
    tableSize: bytes,
    wharfMs: Math.round(wharfMs),
    wharfRowsPerSec: Math.round((n * 1000) / wharfMs),
    psqlMs: psqlMs && Math.round(psqlMs),
    psqlRowsPerSec: psqlMs && Math.round((ROWS * 1000) / psqlMs),
    throughputRatio: psqlMs && +(psqlMs / wharfMs).toFixed(2),
    peakRssMb: rssMb,
    wharfCpuMs: cpuMs,
    target: 'throughput >= 0.7x psql, peak RSS < 256 MB',
  };
  log(
    `  wharf ${Math.round(wharfMs)} ms (${results.copy.wharfRowsPerSec.toLocaleString()} rows/s, peak RSS ${rssMb} MB, ${cpuMs} ms of CPU in wharf, ${n} rows)`,
  );
  log(
    psqlMs
      ? `  psql pipe ${Math.round(psqlMs)} ms; wharf throughput / psql: ${results.copy.throughputRatio} (target >= 0.7)`
      : '  psql not found: baseline skipped',
  );
}

// ---- 3. an incremental run that finds nothing new (needs the copy section's tables) --------
if (ONLY.has('nothing-new') && ONLY.has('copy')) {
  log(`nothing new: incremental run over ${ROWS.toLocaleString()} source rows`);
  await dst.query(`CREATE SCHEMA IF NOT EXISTS raw; CREATE TABLE raw.events (LIKE analytics.events_wharf); INSERT INTO raw.events SELECT * FROM analytics.events_wharf;
    CREATE INDEX ON raw.events (updated_at); CREATE INDEX ON analytics.events_wharf (updated_at);`);
  await dst.query('VACUUM ANALYZE raw.events');
  await dst.query('VACUUM ANALYZE analytics.events_wharf');
  const same = config(`  - name: events-local
    from: { table: raw.events }
    to: { table: analytics.events_wharf }
    mode: append
    cursor: { column: updated_at }`);
  const cross = config(`  - name: events
    from: { connection: source, table: raw.events }
    to: { table: analytics.events_wharf }
    mode: append
    cursor: { column: updated_at }`);
  const out = {};
  for (const [label, cfg] of [
    ['same engine', same],
    ['across connections', cross],
  ]) {
    const loaded = cfg.loaded;
    if (label === 'same engine') {
      // Set the watermark without moving rows: the table already holds them all.
      const w = (await dst.query('SELECT max(updated_at)::text AS w FROM raw.events')).rows[0].w;
      await dst.query(
        `INSERT INTO wharf_state.sync_state (target, name, mode, watermark)
         VALUES ('"analytics"."events_wharf"', 'events-local', 'append', $1)`,
        [w],
      );
    }
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push(await timed(() => runSyncs(loaded)));
    const last = runs[runs.length - 1].r.syncs[0];
    if (last.status !== 'ok' || last.rows.inserted !== 0)
      throw new Error(`unexpected: ${JSON.stringify(last)}`);
    // The engine's time for the statements the run executes on the data (one on the same
    // engine; across connections the boundary-window read and the read above the watermark),
    // and whether they read the cursor through its index.
    const dry = (await runSyncs(loaded, { dryRun: true })).syncs[0].dryRun.statements;
    const sqls =
      label === 'same engine'
        ? [dry[0]]
        : dry.filter((x) => x.startsWith('COPY (')).map((x) => /^COPY \((.*)\) TO STDOUT/s.exec(x)[1]);
    const db = label === 'same engine' ? dst : src;
    let engineMs = 0;
    let planningMs = 0;
    let seqScan = false;
    let indexed = true;
    for (const sql of sqls) {
      await db.query('BEGIN');
      const plan = (await db.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`)).rows[0]['QUERY PLAN'][0];
      await db.query('ROLLBACK');
      const text = JSON.stringify(plan.Plan);
      engineMs += plan['Execution Time'];
      planningMs += plan['Planning Time'];
      seqScan ||= /"Node Type":"Seq Scan"[^}]*"Relation Name":"events"[^}]*"Schema":"raw"/.test(text);
      indexed &&= /Index (Only )?Scan|Bitmap Index Scan/.test(text);
    }
    out[label] = {
      statements: sqls.length,
      engineMs: +engineMs.toFixed(2),
      planningMs: +planningMs.toFixed(2),
      cursorByIndex: indexed && !seqScan,
      seqScanOnSource: seqScan,
      wallMsMedian: Math.round(median(runs.map((r) => r.ms))),
    };
    log(
      `  ${label}: engine ${out[label].engineMs} ms (+${out[label].planningMs} ms planning), cursor by index: ${out[label].cursorByIndex}, whole run ${out[label].wallMsMedian} ms (median of 5)`,
    );
  }
  results.nothingNew = { ...out, target: '< 100 ms engine time' };
}

// ---- 4. merge at several sizes versus one MERGE statement --------------------------------
if (ONLY.has('merge-sizes')) {
  const TABLE = Number(process.env.BENCH_MERGE_TABLE ?? 2_000_000);
  const sizes = (process.env.BENCH_MERGE_SIZES ?? '10000,100000,1000000').split(',').map(Number);
  log(
    `merge-sizes: into ${TABLE.toLocaleString()} rows, ${sizes.map((n) => n.toLocaleString()).join(' / ')} changed (${results.server})`,
  );
  const db = await client('bench_dst');
  const [a, b] = ['analytics.msz_wharf', 'analytics.msz_merge'];
  // Where wharf's run spends its time: each statement it sends, by its first words.
  const statements = new Map();
  let measuring = false;
  const q1 = pg.Client.prototype.query;
  pg.Client.prototype.query = function (...args) {
    const text = typeof args[0] === 'string' ? args[0] : '';
    const r = q1.apply(this, args);
    if (measuring && text && r && typeof r.then === 'function') {
      const t0 = performance.now();
      const k = text.slice(0, 24).replace(/\s+/g, ' ');
      r.then(
        () => statements.set(k, (statements.get(k) ?? 0) + performance.now() - t0),
        () => {},
      );
    }
    return r;
  };
  await db.query(`
    CREATE SCHEMA IF NOT EXISTS raw; CREATE SCHEMA IF NOT EXISTS analytics;
    CREATE TABLE raw.msz (user_id bigint PRIMARY KEY, email text, plan text, score int, updated_at timestamp NOT NULL);
    INSERT INTO raw.msz SELECT g, 'user' || g || '@example.com', 'free', g % 100,
      '2026-01-01'::timestamp + g * interval '1 ms' FROM generate_series(1, ${TABLE}) g;
    CREATE INDEX ON raw.msz (updated_at);
    CREATE TABLE ${a} (LIKE raw.msz INCLUDING ALL); INSERT INTO ${a} SELECT * FROM raw.msz;
    CREATE TABLE ${b} (LIKE raw.msz INCLUDING ALL); INSERT INTO ${b} SELECT * FROM raw.msz;`);
  for (const t of ['raw.msz', a, b]) {
    await db.query(`ALTER TABLE ${t} SET (autovacuum_enabled = off)`);
    await db.query(`VACUUM ANALYZE ${t}`);
  }
  const { loaded } = config(`  - name: msz
    from: { table: raw.msz }
    to: { table: ${a} }
    mode: merge
    primaryKey: [user_id]
    cursor: { column: updated_at }`);
  const first = await runSyncs(loaded);
  if (!first.ok) throw new Error(first.syncs[0].error);
  let watermark = first.syncs[0].watermark;
  let next = TABLE;
  let day = 0;
  const out = [];
  for (const n of sizes) {
    const rounds = [];
    const ROUNDS = n >= 1_000_000 ? 2 : 4;
    for (let round = 1; round <= ROUNDS; round++) {
      day++;
      const at = `2026-07-01'::timestamp + interval '${day} days`;
      const updates = Math.round(n * 0.9);
      // `updates` existing rows spread over the table, then n / 10 new ones.
      const step = Math.max(1, Math.floor(TABLE / updates));
      await db.query(
        `UPDATE raw.msz SET plan = 'p${day}', score = score + 1, updated_at = '${at}' + user_id * interval '1 us'
          WHERE user_id IN (SELECT 1 + (g * ${step} + ${day}) % ${TABLE} FROM generate_series(0, ${updates - 1}) g)`,
      );
      await db.query(
        `INSERT INTO raw.msz SELECT ${next} + g, 'new' || g, 'free', 0, '${at}' + interval '1 hour' + g * interval '1 us'
          FROM generate_series(1, ${n - updates}) g`,
      );
      next += n - updates;
      for (const t of ['raw.msz', a, b]) await db.query(`VACUUM ANALYZE ${t}`);
      await db.query('CHECKPOINT');
      const mergeSql = `MERGE INTO ${b} d
        USING (SELECT * FROM raw.msz WHERE updated_at >= '${watermark}'::timestamp) s ON d.user_id = s.user_id
        WHEN MATCHED THEN UPDATE SET email = s.email, plan = s.plan, score = s.score, updated_at = s.updated_at
        WHEN NOT MATCHED THEN INSERT VALUES (s.user_id, s.email, s.plan, s.score, s.updated_at)`;
      const warm = (t) => db.query(`SELECT sum(length(email)) + sum(score) FROM ${t}`);
      const sides = {
        wharf: async () => {
          await warm(a);
          statements.clear();
          measuring = true;
          try {
            return await timed(() => runSyncs(loaded));
          } finally {
            measuring = false;
          }
        },
        // The hand-written MERGE on a new connection, as a scheduled job runs it (odd rounds),
        // and on the benchmark's warm session (even rounds).
        fresh: async () => {
          await warm(b);
          return timed(async () => {
            const c = await client('bench_dst');
            await c.query(mergeSql);
            await c.end();
          });
        },
        warm: async () => {
          await warm(b);
          return timed(() => db.query(mergeSql));
        },
      };
      const baseline = round % 2 ? 'fresh' : 'warm';
      const order = round % 4 === 1 || round % 4 === 2 ? ['wharf', baseline] : [baseline, 'wharf'];
      const t = {};
      for (const [i, side] of order.entries()) {
        if (i > 0) await db.query('CHECKPOINT');
        t[side] = await sides[side]();
      }
      const s = t.wharf.r.syncs[0];
      if (s.status !== 'ok') throw new Error(s.error);
      if (s.rows.inserted + s.rows.updated < n * 0.99)
        throw new Error(`unexpected counts ${JSON.stringify(s.rows)}`);
      watermark = s.watermark;
      const top = [...statements.entries()].sort((x, y) => y[1] - x[1]).slice(0, 3);
      rounds.push({
        baseline,
        wharfMs: Math.round(t.wharf.ms),
        mergeMs: Math.round(t[baseline].ms),
        ratio: +(t.wharf.ms / t[baseline].ms).toFixed(2),
        rows: s.rows,
        slowest: Object.fromEntries(top.map(([k, v]) => [k, Math.round(v)])),
      });
      log(
        `  ${n.toLocaleString()} changed, round ${round} (${order.join(' > ')}): wharf ${Math.round(t.wharf.ms)} ms (${s.rows.inserted} inserted, ${s.rows.updated} updated; ${top.map(([k, v]) => `"${k}…" ${Math.round(v)} ms`).join(', ')}), MERGE on a ${baseline === 'fresh' ? 'new connection' : 'warm session'} ${Math.round(t[baseline].ms)} ms, ratio ${rounds.at(-1).ratio}`,
      );
    }
    const ratio = (b) => median(rounds.filter((r) => r.baseline === b).map((r) => r.ratio));
    out.push({ changed: n, rounds, ratioNewConnection: ratio('fresh'), ratioWarmSession: ratio('warm') });
    log(
      `  ${n.toLocaleString()} changed: wharf / MERGE on a new connection ${out.at(-1).ratioNewConnection}, on a warm session ${out.at(-1).ratioWarmSession} (medians; target <= 1.2)`,
    );
  }
  const diff = await db.query(
    `SELECT count(*)::int AS n FROM (SELECT * FROM ${a} EXCEPT SELECT * FROM ${b}) x`,
  );
  pg.Client.prototype.query = q1;
  results.mergeSizes = { table: TABLE, sizes: out, identicalResults: diff.rows[0].n === 0, target: '<= 1.2' };
  log(`  results identical: ${results.mergeSizes.identicalResults}`);
  await db.end();
}

// ---- 5. cross-connection merge: a batch costs its rows, not the destination ------------------
if (ONLY.has('cross-merge')) {
  const DST = Number(process.env.BENCH_XMERGE_ROWS ?? 32_000);
  const BATCH = 20;
  log(`cross-merge: catch-up at --batch-rows ${BATCH} into ${DST.toLocaleString()} destination rows`);
  await src.query(`CREATE SCHEMA IF NOT EXISTS raw;
    CREATE TABLE raw.xm (user_id bigint PRIMARY KEY, email text, plan text, updated_at timestamp NOT NULL);
    CREATE INDEX ON raw.xm (updated_at);
    INSERT INTO raw.xm SELECT g, 'u' || g, 'free', '2026-01-01'::timestamp + g * interval '1 ms' FROM generate_series(1, ${DST}) g;
    ANALYZE raw.xm;`);
  await dst.query(`CREATE SCHEMA IF NOT EXISTS analytics;
    CREATE TABLE analytics.xm (user_id bigint PRIMARY KEY, email text, plan text, updated_at timestamp NOT NULL);`);
  const { loaded } = config(`  - name: xm
    from: { connection: source, table: raw.xm }
    to: { table: analytics.xm }
    mode: merge
    primaryKey: [user_id]
    cursor: { column: updated_at }`);
  const first = await runSyncs(loaded);
  if (!first.ok) throw new Error(first.syncs[0].error);
  await dst.query('ANALYZE analytics.xm');
  await src.query(
    `UPDATE raw.xm SET plan = 'pro', updated_at = '2026-06-01'::timestamp + user_id * interval '1 ms' WHERE user_id % 16 = 0`,
  );
  // The time of the statements that apply a batch (the merge and, on 15/16, its facts and
  // counters), timed at the client.
  let batchStatementMs = 0;
  const q0 = pg.Client.prototype.query;
  pg.Client.prototype.query = function (...args) {
    const text = typeof args[0] === 'string' ? args[0] : '';
    const r = q0.apply(this, args);
    if (
      /^(WITH|MERGE INTO|SELECT \(SELECT count|SELECT coalesce\(sum\(pg_stat)/.test(text) &&
      r &&
      typeof r.then === 'function'
    ) {
      const t0 = performance.now();
      r.then(
        () => {
          batchStatementMs += performance.now() - t0;
        },
        () => {},
      );
    }
    return r;
  };
  const run = await timed(() => runSyncs(loaded, { batchRows: BATCH }));
  pg.Client.prototype.query = q0;
  const s = run.r.syncs[0];
  if (s.status !== 'ok') throw new Error(s.error);
  results.crossMerge = {
    destinationRows: DST,
    rows: s.read,
    batchRows: BATCH,
    totalMs: Math.round(run.ms),
    msPerBatch: +(run.ms / Math.ceil(s.read / BATCH)).toFixed(2),
    statementMsPerBatch: +(batchStatementMs / Math.ceil(s.read / BATCH)).toFixed(2),
  };
  log(
    `  ${s.read.toLocaleString()} rows in ${Math.round(run.ms)} ms: ${results.crossMerge.msPerBatch} ms per batch, of which the merge statement ${results.crossMerge.statementMsPerBatch} ms`,
  );
}

await src.end();
await dst.end();
await server.release();
fs.rmSync(dir, { recursive: true, force: true });
fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'bench', 'results', 'sync.json'), `${JSON.stringify(results, null, 2)}\n`);
log('results in bench/results/sync.json');
