// Benchmark: candidate parquet writers for file exports (issue: S3 file exports), on the same
// generated event rows (the seeds' event shape: a bigint user id with values above 2^53, unicode
// text with quotes and newlines, microsecond timestamps, a numeric(18,2), a boolean, a date, a
// ~200-byte JSON properties string, NULLs in nullable columns). Rows are generated in batches of
// BENCH_BATCH rows (default 100,000), each batch handed to the writer as one row group where the
// writer allows it. Each candidate runs in its own child process, so wall time and peak RSS
// (process.resourceUsage().maxRSS) are per candidate. Every file is read back with DuckDB as an
// independent reader and checked column by column.
// Not a test: it prints a table and writes bench/results/parquet-writers.json.
// Run with `npm run bench:parquet`; BENCH_ROWS=N (default 1,000,000) sets the row count.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const ROOT = path.resolve(import.meta.dirname, '..');
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 100_000);
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 180_000);

// ---------------------------------------------------------------------------------------------
// Rows. Row i is a pure function of i, so the checker can recompute any row.

const BIG_USER = 9007199254740993n; // 2^53 + 1: not representable as a JS number
const MAX_BIGINT = 9223372036854775807n;
const MAX_AMOUNT = 999999999999999999n; // 9999999999999999.99 as numeric(18,2), unscaled
const BASE_US = 1772928000000000n; // 2026-03-08T00:00:00Z, the day US clocks change
const NAMES = ['page_view', 'signup', 'purchase', 'app_open', 'feature_used'];
const ODD_NAMES = [
  'café ☕ “quoted” "double" \'single\'',
  'line one\nline two\r\nline three',
  'emoji 🚀🎉 and CJK 漢字, tab\there',
  'back\\slash, comma, semi;colon',
];
const nullEvery = { amount: 11, is_test: 13, properties: 7 };

function userId(i) {
  if (i % 1000 === 1) return BIG_USER;
  if (i === 2) return MAX_BIGINT;
  return 1_000_000_000_000n + BigInt((i * 7919) % 5_000_000);
}
function eventName(i) {
  return i % 10 === 3 ? ODD_NAMES[((i / 10) % ODD_NAMES.length) | 0] : NAMES[i % NAMES.length];
}
function tsMicros(i) {
  return BASE_US + BigInt(i) * 86_400_123n; // ~86 s apart, odd microseconds
}
function amount(i) {
  if (i % nullEvery.amount === 0) return null;
  if (i === 4) return MAX_AMOUNT;
  return BigInt((i * 104729) % 10_000_000) - 3_000_000n; // cents, some negative
}
function isTest(i) {
  return i % nullEvery.is_test === 0 ? null : i % 3 === 0;
}
function eventDay(i) {
  return Number(tsMicros(i) / 86_400_000_000n);
}
function properties(i) {
  if (i % nullEvery.properties === 0) return null;
  return JSON.stringify({
    page: `/products/${i % 997}/details`,
    referrer: 'https://example.com/search?q=w%C3%A4rf&ref=newsletter',
    campaign: `spring_${i % 13}`,
    device: { os: i % 2 ? 'ios' : 'android', version: `17.${i % 9}.1`, locale: 'de-DE' },
    note: i % 5 === 0 ? 'ünïcödé "q"' : 'plain',
    n: i,
  });
}

/** Columnar batch of rows [start, start + n). */
function batch(start, n) {
  const b = {
    event_id: new BigInt64Array(n),
    user_id: new BigInt64Array(n),
    event_name: new Array(n),
    ts: new BigInt64Array(n),
    amount: new Array(n),
    is_test: new Array(n),
    event_date: new Int32Array(n),
    properties: new Array(n),
  };
  for (let k = 0; k < n; k++) {
    const i = start + k;
    b.event_id[k] = BigInt(i);
    b.user_id[k] = userId(i);
    b.event_name[k] = eventName(i);
    b.ts[k] = tsMicros(i);
    b.amount[k] = amount(i);
    b.is_test[k] = isTest(i);
    b.event_date[k] = eventDay(i);
    b.properties[k] = properties(i);
  }
  return b;
}

function* batches() {
  for (let start = 0; start < ROWS; start += BATCH) yield batch(start, Math.min(BATCH, ROWS - start));
}

// ---------------------------------------------------------------------------------------------
// Candidates (each runs in a child process).

const CANDIDATES = {
  baseline: {
    label: 'generate the rows only, write nothing (the floor under every writer)',
    packages: [],
    async write(file) {
      let n = 0;
      for (const b of batches()) n += b.event_id.length;
      fs.writeFileSync(file, String(n));
      return { codec: 'none' };
    },
  },
  duckdb: {
    label: '@duckdb/node-api (appender, COPY TO zstd)',
    packages: ['@duckdb/node-api', '@duckdb/node-bindings', '@duckdb/node-bindings-linux-x64'],
    async write(file) {
      const { DuckDBInstance, DuckDBDecimalValue, DuckDBTimestampTZValue, DuckDBDateValue } = await import(
        '@duckdb/node-api'
      );
      const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
      const conn = await instance.connect();
      await conn.run(
        'CREATE TABLE "events" ("event_id" BIGINT NOT NULL, "user_id" BIGINT NOT NULL, "event_name" VARCHAR NOT NULL, "ts" TIMESTAMPTZ NOT NULL, "amount" DECIMAL(18,2), "is_test" BOOLEAN, "event_date" DATE NOT NULL, "properties" JSON)',
      );
      const appender = await conn.createAppender('events');
      for (const b of batches()) {
        for (let k = 0; k < b.event_id.length; k++) {
          appender.appendBigInt(b.event_id[k]);
          appender.appendBigInt(b.user_id[k]);
          appender.appendVarchar(b.event_name[k]);
          appender.appendTimestampTZ(new DuckDBTimestampTZValue(b.ts[k]));
          const a = b.amount[k];
          if (a === null) appender.appendNull();
          else appender.appendDecimal(new DuckDBDecimalValue(a, 18, 2));
          const t = b.is_test[k];
          if (t === null) appender.appendNull();
          else appender.appendBoolean(t);
          appender.appendDate(new DuckDBDateValue(b.event_date[k]));
          const p = b.properties[k];
          if (p === null) appender.appendNull();
          else appender.appendVarchar(p);
          appender.endRow();
        }
        appender.flushSync();
      }
      appender.closeSync();
      const quoted = file.replaceAll("'", "''");
      await conn.run(
        `COPY "events" TO '${quoted}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${BATCH})`,
      );
      conn.closeSync();
      return { codec: 'zstd' };
    },
  },
  'parquet-wasm': {
    label: 'parquet-wasm + apache-arrow (streamed record batches, zstd)',
    packages: ['parquet-wasm', 'apache-arrow'],
    async write(file) {
      const arrow = await import('apache-arrow');
      const pw = await import('parquet-wasm/node');
      const schema = new arrow.Schema([
        new arrow.Field('event_id', new arrow.Int64(), false),
        new arrow.Field('user_id', new arrow.Int64(), false),
        new arrow.Field('event_name', new arrow.Utf8(), false),
        new arrow.Field('ts', new arrow.TimestampMicrosecond('UTC'), false),
        new arrow.Field('amount', new arrow.Decimal(2, 18, 128), true),
        new arrow.Field('is_test', new arrow.Bool(), true),
        new arrow.Field('event_date', new arrow.DateDay(), false),
        // Arrow JS has no JSON type; the canonical extension name is set, but see the checks.
        new arrow.Field(
          'properties',
          new arrow.Utf8(),
          true,
          new Map([['ARROW:extension:name', 'arrow.json']]),
        ),
      ]);
      const encoder = new TextEncoder();
      const validity = (values) => {
        const bits = new Uint8Array((values.length + 7) >> 3);
        let nulls = 0;
        for (let k = 0; k < values.length; k++) {
          if (values[k] === null) nulls++;
          else bits[k >> 3] |= 1 << (k & 7);
        }
        return { nullBitmap: bits, nullCount: nulls };
      };
      const utf8 = (type, values) => {
        const offsets = new Int32Array(values.length + 1);
        const parts = [];
        let length = 0;
        for (let k = 0; k < values.length; k++) {
          if (values[k] !== null) {
            const bytes = encoder.encode(values[k]);
            parts.push(bytes);
            length += bytes.length;
          }
          offsets[k + 1] = length;
        }
        const data = new Uint8Array(length);
        let at = 0;
        for (const p of parts) {
          data.set(p, at);
          at += p.length;
        }
        return arrow.makeData({
          type,
          length: values.length,
          valueOffsets: offsets,
          data,
          ...validity(values),
        });
      };
      const toWasmBatches = (b) => {
        const n = b.event_id.length;
        const fields = schema.fields;
        const dec = new BigInt64Array(n * 2); // little-endian 128-bit: low word, sign-extended high word
        for (let k = 0; k < n; k++) {
          const a = b.amount[k] ?? 0n;
          dec[2 * k] = a;
          dec[2 * k + 1] = a < 0n ? -1n : 0n;
        }
        const bools = new Uint8Array((n + 7) >> 3);
        for (let k = 0; k < n; k++) if (b.is_test[k]) bools[k >> 3] |= 1 << (k & 7);
        const children = [
          arrow.makeData({ type: fields[0].type, length: n, data: b.event_id }),
          arrow.makeData({ type: fields[1].type, length: n, data: b.user_id }),
          utf8(fields[2].type, b.event_name),
          arrow.makeData({ type: fields[3].type, length: n, data: b.ts }),
          arrow.makeData({
            type: fields[4].type,
            length: n,
            data: new Uint32Array(dec.buffer),
            ...validity(b.amount),
          }),
          arrow.makeData({ type: fields[5].type, length: n, data: bools, ...validity(b.is_test) }),
          arrow.makeData({ type: fields[6].type, length: n, data: b.event_date }),
          utf8(fields[7].type, b.properties),
        ];
        const struct = arrow.makeData({ type: new arrow.Struct(fields), length: n, children, nullCount: 0 });
        const rb = new arrow.RecordBatch(schema, struct);
        const table = pw.Table.fromIPCStream(arrow.tableToIPC(new arrow.Table(schema, [rb]), 'stream'));
        return table.recordBatches();
      };
      const props = new pw.WriterPropertiesBuilder()
        .setCompression(pw.Compression.ZSTD)
        .setMaxRowGroupSize(BATCH)
        .build();
      const gen = batches();
      let pending = [];
      const input = new ReadableStream({
        pull(controller) {
          if (pending.length === 0) {
            const next = gen.next();
            if (next.done) {
              controller.close();
              return;
            }
            pending = toWasmBatches(next.value);
          }
          controller.enqueue(pending.shift());
        },
      });
      const output = await pw.transformParquetStream(input, props);
      const fd = fs.openSync(file, 'w');
      for await (const chunk of output) fs.writeSync(fd, chunk);
      fs.closeSync(fd);
      return { codec: 'zstd' };
    },
  },
  'hyparquet-writer': {
    label: 'hyparquet-writer (ParquetWriter, snappy)',
    packages: ['hyparquet-writer', 'hyparquet'],
    async write(file) {
      const { ParquetWriter, fileWriter } = await import('hyparquet-writer');
      const schema = [
        { name: 'root', num_children: 8 },
        { name: 'event_id', type: 'INT64', repetition_type: 'REQUIRED' },
        { name: 'user_id', type: 'INT64', repetition_type: 'REQUIRED' },
        {
          name: 'event_name',
          type: 'BYTE_ARRAY',
          converted_type: 'UTF8',
          logical_type: { type: 'STRING' },
          repetition_type: 'REQUIRED',
        },
        {
          name: 'ts',
          type: 'INT64',
          converted_type: 'TIMESTAMP_MICROS',
          logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
          repetition_type: 'REQUIRED',
        },
        {
          name: 'amount',
          type: 'INT64',
          converted_type: 'DECIMAL',
          precision: 18,
          scale: 2,
          logical_type: { type: 'DECIMAL', precision: 18, scale: 2 },
          repetition_type: 'OPTIONAL',
        },
        { name: 'is_test', type: 'BOOLEAN', repetition_type: 'OPTIONAL' },
        {
          name: 'event_date',
          type: 'INT32',
          converted_type: 'DATE',
          logical_type: { type: 'DATE' },
          repetition_type: 'REQUIRED',
        },
        // Plain UTF-8: with converted_type JSON the writer JSON.stringify()s each value, which
        // double-encodes JSON text; passing parsed values instead loses numbers above 2^53 and the
        // source's formatting, and a JSON logical type without a converted type reads back as BLOB.
        {
          name: 'properties',
          type: 'BYTE_ARRAY',
          converted_type: 'UTF8',
          logical_type: { type: 'STRING' },
          repetition_type: 'OPTIONAL',
        },
      ];
      const writer = new ParquetWriter({ writer: fileWriter(file), schema, codec: 'SNAPPY' });
      for (const b of batches()) {
        const columnData = Object.entries(b).map(([name, data]) => ({ name, data }));
        await writer.write({ columnData, rowGroupSize: b.event_id.length });
      }
      await writer.finish();
      // zstd would need the separate hyparquet-compressors package.
      return { codec: 'snappy' };
    },
  },
};

// ---------------------------------------------------------------------------------------------
// Child: write one file, report time and peak RSS.

if (process.argv[2] === '--child') {
  const [name, file] = process.argv.slice(3);
  const started = performance.now();
  const info = await CANDIDATES[name].write(file);
  const wallMs = performance.now() - started;
  const maxRssMB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ wallMs, maxRssMB, ...info })}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Parent: run each candidate, measure install size, check the file with DuckDB.

function duMB(pkgs) {
  let bytes = 0;
  for (const p of pkgs) {
    const dir = path.join(ROOT, 'node_modules', p);
    if (!fs.existsSync(dir)) continue;
    const r = spawnSync('du', ['-sk', dir], { encoding: 'utf8' });
    bytes += Number(r.stdout.split(/\s/)[0]) * 1024;
  }
  return bytes / 1024 / 1024;
}

function countNulls(every) {
  return Math.ceil(ROWS / every);
}

const SAMPLE_IDS = [0, 1, 2, 3, 4, 13, 23, 33, 43, 1001, ROWS - 1].filter((i) => i < ROWS);

function expectedRow(i) {
  const a = amount(i);
  const t = isTest(i);
  const day = eventDay(i);
  const dec = (v) => {
    const neg = v < 0n;
    const s = (neg ? -v : v).toString().padStart(3, '0');
    return `${neg ? '-' : ''}${s.slice(0, -2)}.${s.slice(-2)}`;
  };
  return {
    event_id: String(i),
    user_id: String(userId(i)),
    event_name: eventName(i),
    ts_us: String(tsMicros(i)),
    amount: a === null ? null : dec(a),
    is_test: t === null ? null : String(t),
    event_date: new Date(day * 86_400_000).toISOString().slice(0, 10),
    properties: properties(i),
  };
}

async function check(conn, file) {
  const src = `read_parquet('${file.replaceAll("'", "''")}')`;
  const all = async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJS();
  const types = Object.fromEntries(
    (await all(`DESCRIBE SELECT * FROM ${src}`)).map((r) => [r.column_name, r.column_type]),
  );
  const schema = Object.fromEntries(
    (await all(`SELECT name, type, converted_type, logical_type FROM parquet_schema('${file}')`)).map((r) => [
      r.name,
      r,
    ]),
  );
  const [agg] = await all(
    `SELECT count(*)::BIGINT AS n, count(*) FILTER (WHERE "amount" IS NULL)::BIGINT AS amount_nulls,
       count(*) FILTER (WHERE "is_test" IS NULL)::BIGINT AS is_test_nulls,
       count(*) FILTER (WHERE "properties" IS NULL)::BIGINT AS properties_nulls,
       count(*) FILTER (WHERE "properties"::VARCHAR = '' OR "event_name" = '')::BIGINT AS empty_strings,
       count(*) FILTER (WHERE "user_id"::VARCHAR = '${BIG_USER}')::BIGINT AS big_users
     FROM ${src}`,
  );
  const rows = await all(
    `SELECT "event_id"::VARCHAR AS event_id, "user_id"::VARCHAR AS user_id, "event_name"::VARCHAR AS event_name,
       epoch_us("ts")::VARCHAR AS ts_us, "amount"::VARCHAR AS amount, "is_test"::VARCHAR AS is_test,
       "event_date"::VARCHAR AS event_date, "properties"::VARCHAR AS properties
     FROM ${src} WHERE "event_id"::VARCHAR IN (${SAMPLE_IDS.map((i) => `'${i}'`).join(', ')})`,
  );
  const got = new Map(rows.map((r) => [r.event_id, r]));
  const same = (col) => SAMPLE_IDS.every((i) => got.get(String(i))?.[col] === expectedRow(i)[col]);
  const bigUsers = Math.ceil((ROWS - 1) / 1000);
  const logical = (col) => `${schema[col]?.logical_type ?? ''} ${schema[col]?.converted_type ?? ''}`;
  return {
    types,
    checks: {
      rows: Number(agg.n) === ROWS,
      'bigint >2^53 exact':
        types.user_id === 'BIGINT' && Number(agg.big_users) === bigUsers && same('user_id'),
      'decimal(18,2)': types.amount === 'DECIMAL(18,2)' && same('amount'),
      'timestamp µs': /^TIMESTAMP/.test(types.ts) && same('ts_us'),
      date: types.event_date === 'DATE' && same('event_date'),
      boolean: types.is_test === 'BOOLEAN' && same('is_test'),
      'NULL stays NULL':
        Number(agg.amount_nulls) === countNulls(nullEvery.amount) &&
        Number(agg.is_test_nulls) === countNulls(nullEvery.is_test) &&
        Number(agg.properties_nulls) === countNulls(nullEvery.properties) &&
        Number(agg.empty_strings) === 0,
      'unicode text exact': types.event_name === 'VARCHAR' && same('event_name'),
      'JSON string exact': same('properties'),
      'JSON marked as JSON': /JSON/i.test(logical('properties')) || types.properties === 'JSON',
    },
  };
}

const only = process.env.BENCH_ONLY?.split(',');
const names = Object.keys(CANDIDATES).filter((n) => !only || only.includes(n));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-parquet-'));
const { DuckDBInstance } = await import('@duckdb/node-api');
const reader = await (await DuckDBInstance.create(':memory:')).connect();
const results = [];
console.log(`parquet writers: ${ROWS.toLocaleString('en')} rows, batches of ${BATCH.toLocaleString('en')}`);
for (const name of names) {
  const file = path.join(dir, `${name}.parquet`);
  const child = spawnSync(process.execPath, [import.meta.filename, '--child', name, file], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
    env: process.env,
  });
  const result = { name, label: CANDIDATES[name].label, installMB: duMB(CANDIDATES[name].packages) };
  if (child.status !== 0) {
    result.error =
      child.error?.code === 'ETIMEDOUT'
        ? `timed out after ${TIMEOUT_MS / 1000} s`
        : `exit ${child.status ?? child.signal}: ${child.stderr.trim().split('\n').slice(-3).join(' | ')}`;
    console.log(`${name}: FAILED ${result.error}`);
    results.push(result);
    continue;
  }
  const out = JSON.parse(child.stdout.trim().split('\n').at(-1));
  Object.assign(result, out, {
    rowsPerSec: ROWS / (out.wallMs / 1000),
    fileMB: name === 'baseline' ? undefined : fs.statSync(file).size / 1024 / 1024,
  });
  try {
    if (name !== 'baseline') Object.assign(result, await check(reader, file));
  } catch (e) {
    result.checkError = String(e);
  }
  fs.rmSync(file, { force: true });
  results.push(result);
  console.log(`${name}: done in ${(out.wallMs / 1000).toFixed(1)} s`);
}
fs.rmSync(dir, { recursive: true, force: true });

const fmt = (v, d = 1) => (v === undefined ? '—' : v.toLocaleString('en', { maximumFractionDigits: d }));
console.log('\n| writer | codec | wall s | rows/s | peak RSS MB | file MB | install MB |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const r of results)
  console.log(
    `| ${r.name} | ${r.codec ?? r.error} | ${fmt(r.wallMs && r.wallMs / 1000)} | ${fmt(r.rowsPerSec, 0)} | ${fmt(r.maxRssMB, 0)} | ${fmt(r.fileMB)} | ${fmt(r.installMB)} |`,
  );
const checkNames = Object.keys(results.find((r) => r.checks)?.checks ?? {});
console.log(`\n| type check | ${results.map((r) => r.name).join(' | ')} |`);
console.log(`|---|${results.map(() => '---').join('|')}|`);
for (const c of checkNames)
  console.log(
    `| ${c} | ${results.map((r) => (r.checks ? (r.checks[c] ? 'yes' : 'no') : '—')).join(' | ')} |`,
  );
console.log(`\n| read-back type (DuckDB) | ${results.map((r) => r.name).join(' | ')} |`);
console.log(`|---|${results.map(() => '---').join('|')}|`);
for (const col of Object.keys(results.find((r) => r.types)?.types ?? {}))
  console.log(`| ${col} | ${results.map((r) => r.types?.[col] ?? '—').join(' | ')} |`);

fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
fs.writeFileSync(
  path.join(ROOT, 'bench', 'results', 'parquet-writers.json'),
  `${JSON.stringify({ rows: ROWS, batch: BATCH, node: process.version, cpus: os.cpus().length, results }, null, 2)}\n`,
);
