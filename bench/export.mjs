// Benchmark: bucket exports (`to: { bucket, prefix }`) against baselines measured in the same run
// on the same real PostgreSQL server (the embedded one on 127.0.0.1 in a temp folder, or the
// installation in WHARF_BENCH_PG_BIN).
//
// The source: BENCH_ROWS (default 1,000,000) event rows in the seeds' event shape — user_id and
// account_id bigints, event_name text, "timestamp" and updated_at timestamps, a ~200-byte jsonb
// event_properties — spread over 31 days, with an index on updated_at.
//
// 1. export: the real executable (`wharf sync --json`, in a child process that reports its own
//    peak RSS and CPU at exit) writes the rows to a local bucket as parquet, one folder per day
//    (UTC), once with zstd (the default) and once with snappy.
// 2. baselines:
//    - the read limit: `psql -c "\copy (<the export's own SELECT>) TO STDOUT" > /dev/null`, and
//      the same for a plain `SELECT * FROM raw.events` (no period column, no ordering);
//    - DuckDB (@duckdb/node-api, in a child process): a CSV dump of the same rows (its time is
//      reported apart) converted to parquet partitioned by day,
//      `COPY (SELECT … FROM read_csv(…)) TO … (FORMAT parquet, COMPRESSION …, PARTITION_BY (day))`.
//    Targets: wharf's throughput >= 0.5x the COPY-out of its own SELECT, peak RSS < 256 MB.
// 3. nothing new: the zstd sync run again (nothing changed): the run's own durationMs from
//    --json, the child's wall time, and the engine's execution time of the statement the run
//    sends (EXPLAIN ANALYZE of the dry run's SELECT) and whether it reads the cursor's index.
//    Target: < 100 ms engine.
// 4. check: DuckDB reads every file back: the row count, the rows per day folder and the sum of
//    account_id match the source, and the columns' types are the exported ones.
//
// Not a test: prints figures and writes bench/results/export.json. Run: npm run bench:export
// (BENCH_ROWS=10000000 for the large run; BENCH_CODECS=zstd picks codecs).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { acquireLocalServer } from '../dist/index.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const CODECS = (process.env.BENCH_CODECS ?? 'zstd,snappy').split(',');
const DAYS = 31;
const PSQL = ['/usr/lib/postgresql/15/bin/psql', '/usr/bin/psql'].find((p) => fs.existsSync(p));
if (!PSQL) throw new Error('psql not found: the COPY baseline needs it');

const log = (s) => process.stdout.write(`${s}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const perSec = (n, ms) => Math.round((n * 1000) / ms);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-bench-export-'));
const server = await acquireLocalServer({
  dir: path.join(dir, 'pg'),
  database: 'postgres',
  binDir: process.env.WHARF_BENCH_PG_BIN || undefined,
});
process.env.WHARF_BENCH_PASSWORD = server.password;
try {
  const connect = async (database) => {
    const c = new pg.Client({
      host: server.host,
      port: server.port,
      user: server.user,
      password: server.password,
      database,
    });
    // A failed step releases the server under an open session: its error is expected then.
    c.on('error', () => {});
    await c.connect();
    return c;
  };
  const admin = await connect('postgres');
  await admin.query('CREATE DATABASE "bench_export"');
  await admin.end();
  const db = await connect('bench_export');
  const results = {
    rows: ROWS,
    server: (await db.query('SHOW server_version')).rows[0].server_version,
    cpus: os.cpus().length,
  };

  // ---- the source ---------------------------------------------------------------------------
  log(`source: ${ROWS.toLocaleString()} event rows over ${DAYS} days (PostgreSQL ${results.server})`);
  {
    const t0 = performance.now();
    await db.query(`CREATE SCHEMA "raw";
    CREATE TABLE "raw"."events" (
      "user_id" bigint NOT NULL, "account_id" bigint NOT NULL, "event_name" text NOT NULL,
      "timestamp" timestamp NOT NULL, "updated_at" timestamp NOT NULL, "event_properties" jsonb);
    INSERT INTO "raw"."events"
    SELECT 1000000000000 + (g::bigint * 7919) % 5000000, 1000 + g % 20000,
           (ARRAY['Payment_Initiated','Trial_Ended','page_view','signup','feature_used'])[1 + g % 5],
           '2026-01-01'::timestamp + ((g - 1)::float8 / ${ROWS} * ${DAYS}) * interval '1 day' + (g % 1000) * interval '1 us',
           '2026-02-01'::timestamp + g * interval '1 ms',
           jsonb_build_object('paymentid', g, 'amount', g % 1000, 'currency', 'EUR',
             'page', '/products/' || (g % 997) || '/details', 'campaign', 'spring_' || (g % 13),
             'referrer', 'https://example.com/search?q=w%C3%A4rf',
             'device', jsonb_build_object('os', CASE WHEN g % 2 = 0 THEN 'ios' ELSE 'android' END,
                                          'version', '17.' || (g % 9) || '.1', 'locale', 'de-DE'))
      FROM generate_series(1, ${ROWS}) g;
    CREATE INDEX ON "raw"."events" ("updated_at");`);
    await db.query('VACUUM ANALYZE "raw"."events"');
    const s = (
      await db.query(`SELECT pg_size_pretty(pg_total_relation_size('"raw"."events"')) AS size,
      (SELECT round(avg(length("event_properties"::text))) FROM (SELECT "event_properties" FROM "raw"."events" LIMIT 10000) x) AS props`)
    ).rows[0];
    results.source = {
      tableSize: s.size,
      propertiesBytes: Number(s.props),
      loadMs: Math.round(performance.now() - t0),
    };
    log(
      `  ${s.size} on disk, event_properties ~${s.props} bytes as text, loaded in ${results.source.loadMs} ms`,
    );
  }

  // ---- the wharf file: one sync per codec, into one local bucket ------------------------------
  const file = path.join(dir, 'wharf.yaml');
  const bucket = 'bench-exports';
  const bucketDir = path.join(dir, '.wharf', 'buckets', bucket);
  fs.writeFileSync(
    file,
    `version: 1
connections:
  warehouse: { type: postgres, url: "postgres://${server.user}:\${env:WHARF_BENCH_PASSWORD}@127.0.0.1:${server.port}/bench_export" }
  files: { type: local-bucket }
defaultConnection: warehouse
buckets:
  - name: ${bucket}
    create: true
syncs:
${CODECS.map(
  (codec) => `  - name: events-${codec}
    from: { table: raw.events }
    to:
      bucket: ${bucket}
      prefix: events-${codec}/
      format: parquet
      compression: ${codec}
      partition: { by: timestamp, granularity: day, timeZone: UTC }
    mode: append
    cursor: { column: updated_at }
`,
).join('')}  - name: events-probe
    from: { table: raw.events }
    to: { bucket: ${bucket}, prefix: probe/, partition: { by: timestamp, granularity: day, timeZone: UTC } }
    mode: append
    cursor: { column: updated_at }
`,
  );

  /**
   * Runs the real executable in a child that reports its own peak RSS and CPU at exit
   * (process.resourceUsage); returns the parsed --json output, wall time, RSS and CPU.
   */
  async function wharf(args) {
    const wrapper = `import { main } from ${JSON.stringify(path.join(ROOT, 'dist', 'cli', 'main.js'))};
    const code = await main(${JSON.stringify(args)});
    const u = process.resourceUsage();
    process.stderr.write('MAXRSS ' + u.maxRSS + ' CPU ' + Math.round((u.userCPUTime + u.systemCPUTime) / 1000) + '\\n'); process.exit(code);`;
    const t0 = performance.now();
    const child = spawn(process.execPath, [...nodeFlags(), '--input-type=module', '-e', wrapper], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise((r) => child.on('exit', r));
    const ms = performance.now() - t0;
    if (code !== 0) throw new Error(`wharf ${args[0]} failed (${code}): ${out} ${err}`);
    return {
      ms,
      json: args.includes('--json') ? JSON.parse(out) : null,
      rssMb: Math.round(Number(/MAXRSS (\d+)/.exec(err)?.[1] ?? 0) / 1024),
      cpuMs: Number(/CPU (\d+)/.exec(err)?.[1] ?? 0),
    };
  }
  // BENCH_CPU_PROF=<folder> profiles wharf's child processes (node --cpu-prof); BENCH_NODE_FLAGS
  // passes more flags to them (e.g. --max-old-space-size=128 to see how much of the RSS is live).
  function nodeFlags() {
    const p = process.env.BENCH_CPU_PROF;
    const more = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
    return [...(p ? ['--cpu-prof', `--cpu-prof-dir=${p}`] : []), ...more];
  }

  const psqlConn = [
    '-h',
    '127.0.0.1',
    '-p',
    String(server.port),
    '-U',
    server.user,
    '-d',
    'bench_export',
    '-v',
    'ON_ERROR_STOP=1',
    '-q',
  ];
  const psqlEnv = { ...process.env, PGPASSWORD: server.password };
  /** `psql -c <command>` with stdout to `out` (a path, or 'ignore' for /dev/null); returns ms. */
  function psql(command, out = 'ignore') {
    const fd = out === 'ignore' ? 'ignore' : fs.openSync(out, 'w');
    const t0 = performance.now();
    const r = spawnSync(PSQL, [...psqlConn, '-c', command], {
      env: psqlEnv,
      stdio: ['ignore', fd, 'inherit'],
    });
    const ms = performance.now() - t0;
    if (typeof fd === 'number') fs.closeSync(fd);
    if (r.status !== 0) throw new Error(`psql failed: ${command.slice(0, 80)}`);
    return ms;
  }

  {
    const r = await wharf(['apply', '-f', file, '--auto-approve']);
    if (!fs.existsSync(bucketDir)) throw new Error(`apply made no bucket folder (${r.ms} ms)`);
  }

  // ---- wharf sync ---------------------------------------------------------------------------
  log('wharf sync');
  results.wharf = {};
  for (const codec of CODECS) {
    await db.query('CHECKPOINT');
    const r = await wharf(['sync', '-f', file, '--json', `events-${codec}`]);
    const s = r.json.syncs[0];
    if (s.status !== 'ok' || s.rows.inserted !== ROWS)
      throw new Error(`unexpected: ${JSON.stringify(s).slice(0, 500)}`);
    results.wharf[codec] = {
      ms: Math.round(r.ms),
      durationMs: s.durationMs,
      rowsPerSec: perSec(ROWS, r.ms),
      peakRssMb: r.rssMb,
      cpuMs: r.cpuMs,
      files: s.export.files.length,
      mb: mb(path.join(bucketDir, `events-${codec}`)),
    };
    const w = results.wharf[codec];
    log(
      `  parquet ${codec}: ${w.ms} ms wall (sync's durationMs ${w.durationMs}), ${w.rowsPerSec.toLocaleString()} rows/s, peak RSS ${w.peakRssMb} MB (target < 256), ${w.cpuMs} ms CPU in wharf, ${w.files} files, ${w.mb} MB`,
    );
  }

  // The statement a first run sends, from the dry run of a sync that has not run (one line:
  // psql's \copy reads to the end of its line). A dry run before any export has run on the
  // database fails (see the benchmark doc), so it is asked after the runs above.
  const dry = await wharf(['sync', '-f', file, '--json', '--dry-run', 'events-probe']);
  const copySql = dry.json.syncs[0].dryRun.statements[0];
  const exportSelect = /^COPY \((.*)\) TO STDOUT$/s.exec(copySql)[1].replace(/\s+/g, ' ');

  // ---- baselines: the read limit ------------------------------------------------------------
  log('baselines');
  await db.query('CHECKPOINT');
  const copyRuns = [psql(`\\copy (${exportSelect}) TO STDOUT`), psql(`\\copy (${exportSelect}) TO STDOUT`)];
  const copyMs = Math.min(...copyRuns);
  const plainMs = psql('\\copy (SELECT * FROM "raw"."events") TO STDOUT');
  results.copyOut = {
    exportSelectMs: Math.round(copyMs),
    exportSelectRuns: copyRuns.map(Math.round),
    exportSelectRowsPerSec: perSec(ROWS, copyMs),
    plainSelectMs: Math.round(plainMs),
    plainSelectRowsPerSec: perSec(ROWS, plainMs),
  };
  log(
    `  psql \\copy (the export's SELECT) TO STDOUT > /dev/null: ${Math.round(copyMs)} ms (best of ${copyRuns.map(Math.round).join(', ')}), ${results.copyOut.exportSelectRowsPerSec.toLocaleString()} rows/s`,
  );
  log(
    `  psql \\copy (SELECT * FROM raw.events) TO STDOUT > /dev/null: ${Math.round(plainMs)} ms, ${results.copyOut.plainSelectRowsPerSec.toLocaleString()} rows/s`,
  );

  for (const codec of CODECS) {
    const w = results.wharf[codec];
    w.ratioToCopy = +(copyMs / w.ms).toFixed(2);
    log(`  wharf parquet ${codec} / COPY-out throughput: ${w.ratioToCopy}x (target >= 0.5)`);
  }

  // ---- baseline: DuckDB, CSV dump to partitioned parquet --------------------------------------
  const csv = path.join(dir, 'events.csv');
  const dumpMs = psql(
    `\\copy (SELECT *, to_char("timestamp", 'YYYY-MM-DD') AS "day" FROM "raw"."events") TO '${csv}' WITH (FORMAT csv, HEADER)`,
  );
  results.duckdb = { csvDumpMs: Math.round(dumpMs), csvMb: Math.round(fs.statSync(csv).size / 2 ** 20) };
  log(`  CSV dump (psql \\copy … TO file): ${Math.round(dumpMs)} ms, ${results.duckdb.csvMb} MB`);
  for (const codec of CODECS) {
    const out = path.join(dir, `duckdb-${codec}`);
    const script = `import { DuckDBInstance } from '@duckdb/node-api';
    const i = await DuckDBInstance.create(':memory:');
    const c = await i.connect();
    await c.run(${JSON.stringify(`COPY (SELECT * FROM read_csv('${csv}', header = true, columns = {'user_id': 'BIGINT', 'account_id': 'BIGINT', 'event_name': 'VARCHAR', 'timestamp': 'TIMESTAMP', 'updated_at': 'TIMESTAMP', 'event_properties': 'JSON', 'day': 'VARCHAR'})) TO '${out}' (FORMAT parquet, COMPRESSION ${codec}, PARTITION_BY ("day"))`)});
    const u = process.resourceUsage();
    process.stderr.write('MAXRSS ' + u.maxRSS + ' CPU ' + Math.round((u.userCPUTime + u.systemCPUTime) / 1000) + '\\n');`;
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`duckdb failed: ${r.stderr}`);
    const rssMb = Math.round(Number(/MAXRSS (\d+)/.exec(r.stderr)?.[1] ?? 0) / 1024);
    const cpuMs = Number(/CPU (\d+)/.exec(r.stderr)?.[1] ?? 0);
    results.duckdb[codec] = {
      ms: Math.round(ms),
      rowsPerSec: perSec(ROWS, ms),
      peakRssMb: rssMb,
      cpuMs,
      mb: mb(out),
    };
    log(
      `  DuckDB CSV -> parquet ${codec} by day: ${Math.round(ms)} ms, ${perSec(ROWS, ms).toLocaleString()} rows/s (${perSec(ROWS, ms + dumpMs).toLocaleString()} with the dump), peak RSS ${rssMb} MB, ${cpuMs} ms CPU, ${results.duckdb[codec].mb} MB of files`,
    );
  }

  function mb(folder) {
    let n = 0;
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else n += fs.statSync(p).size;
      }
    };
    walk(folder);
    return +(n / 2 ** 20).toFixed(1);
  }

  // ---- a second run that finds nothing new ----------------------------------------------------
  {
    const codec = CODECS[0];
    const runs = [];
    for (let i = 0; i < 5; i++) {
      const r = await wharf(['sync', '-f', file, '--json', `events-${codec}`]);
      const s = r.json.syncs[0];
      if (s.status !== 'ok' || s.rows.inserted !== 0 || s.export.files.length !== 0)
        throw new Error(`second run found something: ${JSON.stringify(s).slice(0, 500)}`);
      runs.push({ wall: r.ms, duration: s.durationMs, rss: r.rssMb });
    }
    const d = await wharf(['sync', '-f', file, '--json', '--dry-run', `events-${codec}`]);
    const sql = /^COPY \((.*)\) TO STDOUT$/s.exec(d.json.syncs[0].dryRun.statements[0])[1];
    const engine = [];
    let plan;
    for (let i = 0; i < 5; i++) {
      plan = (await db.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`)).rows[0]['QUERY PLAN'][0];
      engine.push(plan['Execution Time']);
    }
    const text = JSON.stringify(plan.Plan);
    results.nothingNew = {
      durationMsMedian: median(runs.map((r) => r.duration)),
      wallMsMedian: Math.round(median(runs.map((r) => r.wall))),
      peakRssMb: median(runs.map((r) => r.rss)),
      engineMsMedian: +median(engine).toFixed(2),
      planningMs: +plan['Planning Time'].toFixed(2),
      cursorByIndex:
        /Index (Only )?Scan|Bitmap Index Scan/.test(text) && !/"Node Type":"Seq Scan"/.test(text),
      target: '< 100 ms engine',
    };
    const n = results.nothingNew;
    log(
      `nothing new (${codec}, 5 runs): engine ${n.engineMsMedian} ms (+${n.planningMs} ms planning), cursor by index: ${n.cursorByIndex}; sync's durationMs ${n.durationMsMedian} ms, whole child ${n.wallMsMedian} ms, peak RSS ${n.peakRssMb} MB (medians)`,
    );
  }

  // ---- read back with DuckDB ------------------------------------------------------------------
  {
    const src = (
      await db.query(
        `SELECT count(*)::text AS n, sum("account_id")::text AS a, count(DISTINCT "timestamp"::date)::int AS days FROM "raw"."events"`,
      )
    ).rows[0];
    const perDay = new Map(
      (
        await db.query(
          `SELECT to_char("timestamp", 'YYYY-MM-DD') AS d, count(*)::text AS n FROM "raw"."events" GROUP BY 1`,
        )
      ).rows.map((r) => [r.d, r.n]),
    );
    const duck = await DuckDBInstance.create(':memory:');
    const c = await duck.connect();
    results.readBack = {};
    for (const codec of CODECS) {
      const glob = `${path.join(bucketDir, `events-${codec}`)}/**/*.parquet`;
      const rows = async (sql) => (await c.runAndReadAll(sql)).getRowObjectsJS();
      const [t] = await rows(
        `SELECT count(*)::VARCHAR AS n, sum(account_id)::VARCHAR AS a FROM read_parquet('${glob}')`,
      );
      const days = await rows(
        `SELECT regexp_extract(filename, '/([0-9]{4}-[0-9]{2}-[0-9]{2})/', 1) AS d, count(*)::VARCHAR AS n,
              count(*) FILTER (WHERE strftime("timestamp", '%Y-%m-%d') <> regexp_extract(filename, '/([0-9]{4}-[0-9]{2}-[0-9]{2})/', 1))::INTEGER AS misplaced
         FROM read_parquet('${glob}', filename = true) GROUP BY 1`,
      );
      const types = Object.fromEntries(
        (await rows(`DESCRIBE SELECT * FROM read_parquet('${glob}')`)).map((r) => [
          r.column_name,
          r.column_type,
        ]),
      );
      const dayOk =
        days.length === perDay.size && days.every((r) => perDay.get(r.d) === r.n && r.misplaced === 0);
      const ok =
        t.n === String(ROWS) &&
        t.n === src.n &&
        t.a === src.a &&
        dayOk &&
        types.user_id === 'BIGINT' &&
        types.account_id === 'BIGINT' &&
        types.timestamp === 'TIMESTAMP' &&
        types.event_properties === 'JSON';
      results.readBack[codec] = { rows: Number(t.n), days: days.length, types, ok };
      log(
        `read back (${codec}): ${Number(t.n).toLocaleString()} rows in ${days.length} day folders, rows per day and sum(account_id) match the source: ${dayOk && t.a === src.a}; types ${JSON.stringify(types)}`,
      );
      if (!ok) {
        process.exitCode = 1;
        log(`  MISMATCH: source ${JSON.stringify(src)}, files ${JSON.stringify(t)}`);
      }
    }
    c.closeSync();
  }

  await db.end();
  fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  fs.writeFileSync(
    path.join(ROOT, 'bench', 'results', ROWS === 1_000_000 ? 'export.json' : `export-${ROWS}.json`),
    `${JSON.stringify(results, null, 2)}\n`,
  );
  log('results in bench/results/');
} finally {
  // The server outlives this process unless released: released on failure too.
  await server.release();
  fs.rmSync(dir, { recursive: true, force: true });
}
