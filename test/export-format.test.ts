// Export file writers (src/sync/export/format): rows read from a real PostgreSQL with
// `COPY (…) TO STDOUT` are written in every format × compression, read back by DuckDB as an
// independent reader, and compared value by value with PostgreSQL's own text for them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFields, copyOut } from '../src/sync/copy.js';
import { type FieldValue, rawFields, textFields } from '../src/sync/export/copy-fields.js';
import {
  type ByteSink,
  type ExportColumn,
  type ExportCompression,
  type ExportFormat,
  ExportTypeError,
  FORMAT_COMPRESSIONS,
  fieldInputs,
  fileExtension,
  fileTypes,
  openRowFile,
} from '../src/sync/export/format/index.js';
import { startTestServer, type TestServer } from './support/pg.js';

let server: TestServer;
let client: pg.Client;
let dir: string;
let duck: Awaited<ReturnType<DuckDBInstance['connect']>>;

const TABLE = `CREATE TABLE "src" (
  "id" integer, "big" bigint, "small" smallint, "amount" numeric(18,2), "wide" numeric(30,6),
  "anynum" numeric, "dbl" double precision, "r" real, "flag" boolean, "t" text,
  "vc" character varying(256), "ch" character(2), "d" date, "ts" timestamp without time zone,
  "tstz" timestamp with time zone, "tm" time without time zone, "j" json, "jb" jsonb, "u" uuid,
  "b" bytea, "iv" interval, "tags" text[], "nums" integer[]
)`;

// Around the US DST change of 2026-03-08 (02:00 PST -> 03:00 PDT, 10:00 UTC), microseconds,
// the extreme bigints, unicode, quotes, newlines, tabs, backslashes, the empty string vs NULL.
const ROWS = `INSERT INTO "src" VALUES
 (1, 9223372036854775807, 32767, 9999999999999999.99, 999999999999999999999999.999999,
  12345678901234567890.123456789, 1.7976931348623157e308, 3.4028235e38, true,
  'café ☕ “quoted” "double" ''single''', E'line one\\nline two\\r\\nline three', 'ab', '9999-12-31',
  '2026-03-08 01:59:59.999999', '2026-03-08 09:59:59.123456+00', '23:59:59.999999',
  '{"a": [1, 2.50, "x"],  "big": 1}', '{"k": "v\\"q", "n": null}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '\\x000aff', '1 year 2 mons 3 days 04:05:06.789', '{a,"b c","q\\"x",NULL,""}', '{1,NULL,-3}'),
 (2, -9223372036854775808, -32768, -0.01, -0.000001, -0.5, 0.1, 1.1, false,
  '', E'tab\\there back\\\\slash, comma; semi', 'x', '0001-01-01',
  '2026-03-08 03:00:00.000001', '2026-03-08 10:00:00.000001+00', '00:00:00',
  '[]', '"str"', '00000000-0000-0000-0000-000000000000', '\\x', '-00:00:01', '{}', '{}'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, 9007199254740993, 0, 0, 123.4, 0, -2.2250738585072014e-308, -1e-30, true,
  'emoji 🚀🎉 and CJK 漢字', E'"\\n"', '""', '2024-02-29',
  '1969-12-31 23:59:59.5', '1900-01-01 00:00:00+00', '12:00:00.5',
  '{"nested": {"deep": [true, false, null]}}', '[1, 2, 3]', NULL, '\\xdeadbeef', '0', '{NULL}', '{7}'),
 -- negative integers of every width that are read straight from the bytes (up to 15 digits)
 (5, -123456789012345, -7, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  '1970-01-01 00:00:00', '1969-12-31 23:59:59.999999+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{-1}')`;

const SESSION = `SET DateStyle = ISO, MDY; SET TimeZone = 'UTC'; SET IntervalStyle = postgres; SET extra_float_digits = 1`;

let columns: ExportColumn[];
/** The COPY output as it came, for the runner's own field readers. */
const chunks: Buffer[] = [];

/** The rows as the export runner hands them to a writer of `format` (copy-fields.ts). */
function runnerRows(format: ExportFormat): FieldValue[][] {
  const inputs = fieldInputs(format, columns);
  const rows: FieldValue[][] = [];
  for (const chunk of chunks) {
    if (inputs) rawFields(chunk, inputs, (f) => rows.push(f));
    else textFields(chunk, (f) => rows.push(f));
  }
  return rows;
}
let source: (string | null)[][];

/** DuckDB's types for reading csv/jsonl back (a reader is told the types; it does not guess). */
function duckType(pgType: string, format: ExportFormat): string {
  if (pgType.endsWith('[]')) return 'JSON';
  // DuckDB's JSON reader turns every number into a double first (9999999999999999.99 reads as
  // 1e16), so jsonl numerics are read back by PostgreSQL's jsonb instead (see the test).
  if (format === 'jsonl' && pgType.startsWith('numeric')) return 'VARCHAR';
  const m = /^numeric\((\d+),(\d+)\)$/.exec(pgType);
  if (m) return `DECIMAL(${m[1]},${m[2]})`;
  const map: Record<string, string> = {
    integer: 'INTEGER',
    bigint: 'BIGINT',
    smallint: 'SMALLINT',
    numeric: 'VARCHAR',
    'double precision': 'DOUBLE',
    real: 'FLOAT',
    boolean: 'BOOLEAN',
    date: 'DATE',
    'timestamp without time zone': 'TIMESTAMP',
    'timestamp with time zone': 'TIMESTAMPTZ',
    'time without time zone': 'TIME',
    json: 'JSON',
    jsonb: 'JSON',
  };
  return map[pgType] ?? 'VARCHAR';
}

/** How a column's value is compared: both PostgreSQL's text and DuckDB's value as the same string. */
function canonical(pgType: string, v: string): string {
  if (pgType === 'boolean') return v === 't' || v === 'true' ? 'true' : 'false';
  if (pgType.startsWith('numeric')) return v.includes('.') ? v.replace(/0+$/, '').replace(/\.$/, '') : v;
  if (pgType === 'double precision' || pgType === 'real') {
    const x = ({ inf: 'Infinity', '-inf': '-Infinity', nan: 'NaN' } as Record<string, string>)[v] ?? v;
    return String(Number(x));
  }
  if (pgType.startsWith('time') && !pgType.startsWith('timestamp')) return v;
  if (pgType.startsWith('timestamp')) return v.replace('T', ' ').replace(/Z$/, '+00');
  if (pgType === 'bytea') return v.toLowerCase();
  return v;
}

/** The reader's SQL for a column: VARCHAR that canonical() compares (hex for BLOB). */
function duckSelect(c: ExportColumn, format: ExportFormat): string {
  const q = `"${c.name.replaceAll('"', '""')}"`;
  if (c.type === 'bytea' && format === 'parquet')
    return `CASE WHEN ${q} IS NULL THEN NULL ELSE '\\x' || lower(hex(${q})) END`;
  return `${q}::VARCHAR`;
}

/** JSON compared parsed (a reader may re-serialize JSON it reads from text formats). */
const jsonish = (t: string) => t.endsWith('[]') || t === 'json' || t === 'jsonb';

class FileSink implements ByteSink {
  chunks = 0;
  bytes = 0;
  constructor(readonly file: string) {
    fs.writeFileSync(file, '');
  }
  async write(chunk: Uint8Array) {
    this.chunks++;
    this.bytes += chunk.length;
    await fs.promises.appendFile(this.file, chunk);
  }
}

async function duckRows(sql: string): Promise<Record<string, unknown>[]> {
  return (await duck.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}

function reader(format: ExportFormat, file: string): string {
  const f = `'${file.replaceAll("'", "''")}'`;
  if (format === 'parquet') return `read_parquet(${f})`;
  const cols = `{${columns.map((c) => `'${c.name}': '${duckType(c.type, format)}'`).join(', ')}}`;
  if (format === 'csv') {
    return `read_csv(${f}, header = true, delim = ',', quote = '"', escape = '"', columns = ${cols}, auto_detect = false, allow_quoted_nulls = false)`;
  }
  return `read_json(${f}, format = 'newline_delimited', columns = ${cols})`;
}

beforeAll(async () => {
  server = await startTestServer();
  const db = await server.createDatabase('export_format');
  client = await server.client(db);
  await client.query(SESSION);
  await client.query(TABLE);
  await client.query(ROWS);
  const cols = await client.query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
     WHERE a.attrelid = '"src"'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
  );
  columns = cols.rows;
  source = [];
  for await (const batch of copyOut(client, `COPY (SELECT * FROM "src" ORDER BY "id") TO STDOUT`, 1000)) {
    for (const chunk of batch.chunks) {
      chunks.push(chunk);
      let start = 0;
      for (let nl = chunk.indexOf(10, start); nl >= 0; nl = chunk.indexOf(10, start)) {
        source.push(copyFields(chunk.subarray(start, nl + 1)));
        start = nl + 1;
      }
    }
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-export-format-'));
  const instance = await DuckDBInstance.create(':memory:');
  duck = await instance.connect();
  await duck.run(`SET TimeZone = 'UTC'`);
}, 120_000);

afterAll(async () => {
  await client?.end();
  await server?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const CASES: [ExportFormat, ExportCompression][] = (['parquet', 'csv', 'jsonl'] as const).flatMap((f) =>
  FORMAT_COMPRESSIONS[f].allowed.map((c): [ExportFormat, ExportCompression] => [f, c]),
);

describe('every format and compression reads back in DuckDB equal to the PostgreSQL source', () => {
  it.each(CASES)('%s / %s', async (format, compression) => {
    expect(source).toHaveLength(5);
    const file = path.join(dir, `rows-${compression}${fileExtension(format, compression)}`);
    const sink = new FileSink(file);
    const w = openRowFile(format, compression, columns, sink);
    // The rows as the runner reads them: for parquet, text and JSON as the bytes COPY sent.
    const rows = runnerRows(format);
    expect(rows).toHaveLength(source.length);
    if (format === 'parquet')
      expect(rows[0]![columns.findIndex((c) => c.name === 'jb')]).toBeInstanceOf(Uint8Array);
    // Two writes: two row groups in parquet, two chunks in csv/jsonl.
    await w.write(rows.slice(0, 2));
    await w.write(rows.slice(2));
    const result = await w.finish();
    expect(result).toEqual({ rows: 5, bytes: fs.statSync(file).size });
    if (format === 'parquet') {
      const codecs = await duckRows(`SELECT DISTINCT compression FROM parquet_metadata('${file}')`);
      expect(codecs.map((r) => r.compression)).toEqual([
        compression === 'none' ? 'UNCOMPRESSED' : compression.toUpperCase(),
      ]);
      const groups = await duckRows(`SELECT DISTINCT row_group_id FROM parquet_metadata('${file}')`);
      expect(groups).toHaveLength(2);
    } else {
      // gzip's magic number, or plain text.
      expect(
        fs
          .readFileSync(file)
          .subarray(0, 2)
          .equals(Buffer.from([0x1f, 0x8b])),
      ).toBe(compression === 'gzip');
    }

    const select = columns.map((c) => `${duckSelect(c, format)} AS "${c.name}"`).join(', ');
    const got = await duckRows(`SELECT ${select} FROM ${reader(format, file)} ORDER BY "id"`);
    expect(got).toHaveLength(source.length);
    const text = fs.readFileSync(file);
    const lines = (compression === 'gzip' ? zlib.gunzipSync(text) : text).toString('utf8').split('\n');
    for (let i = 0; i < source.length; i++) {
      for (let j = 0; j < columns.length; j++) {
        const c = columns[j]!;
        const want = source[i]![j]!;
        const have = got[i]![c.name] as string | null;
        const where = `row ${i + 1} column ${c.name} (${c.type})`;
        if (want === null) {
          expect(have, where).toBeNull();
          continue;
        }
        expect(have, where).not.toBeNull();
        if (format === 'jsonl' && c.type.startsWith('numeric')) {
          const r = await client.query(`SELECT ($1::jsonb ->> $2) AS v`, [lines[i], c.name]);
          expect(canonical(c.type, r.rows[0].v), where).toBe(canonical(c.type, want));
        } else if (c.type.endsWith('[]')) {
          // PostgreSQL's own JSON of the array is the expectation.
          const r = await client.query(`SELECT to_json("${c.name}")::text AS j FROM "src" WHERE "id" = $1`, [
            i + 1,
          ]);
          expect(JSON.parse(have!), where).toEqual(JSON.parse(r.rows[0].j));
        } else if (jsonish(c.type) && format !== 'parquet') {
          expect(JSON.parse(have!), where).toEqual(JSON.parse(want));
        } else {
          expect(canonical(c.type, have!), where).toBe(canonical(c.type, want));
        }
      }
    }
  });
});

describe('parquet file types', () => {
  it('DuckDB sees the declared types: JSON text stored as is, decimals, timestamps with and without UTC', async () => {
    const file = path.join(dir, 'types.parquet');
    const w = openRowFile('parquet', 'zstd', columns, new FileSink(file));
    await w.write(source);
    await w.finish();
    const types = Object.fromEntries(
      (await duckRows(`DESCRIBE SELECT * FROM read_parquet('${file}')`)).map((r) => [
        r.column_name,
        r.column_type,
      ]),
    );
    expect(types).toMatchObject({
      big: 'BIGINT',
      small: 'SMALLINT',
      amount: 'DECIMAL(18,2)',
      wide: 'DECIMAL(30,6)',
      anynum: 'DECIMAL(38,9)',
      dbl: 'DOUBLE',
      r: 'FLOAT',
      flag: 'BOOLEAN',
      t: 'VARCHAR',
      d: 'DATE',
      ts: 'TIMESTAMP',
      tstz: 'TIMESTAMP WITH TIME ZONE',
      tm: 'TIME',
      j: 'JSON',
      jb: 'JSON',
      b: 'BLOB',
      nums: 'JSON',
    });
    // The JSON text, spacing and all, not a JSON string of it.
    const [row] = await duckRows(
      `SELECT j::VARCHAR AS j, j->>'a' AS a FROM read_parquet('${file}') WHERE id = 1`,
    );
    expect(row!.j).toBe(source[0]![columns.findIndex((c) => c.name === 'j')]);
    expect(JSON.parse(row!.a as string)).toEqual([1, 2.5, 'x']);
    // fileTypes() names what the file holds.
    expect(Object.fromEntries(fileTypes('parquet', columns).map((t) => [t.column, t.type]))).toMatchObject({
      amount: 'DECIMAL(18,2)',
      tstz: 'TIMESTAMP(MICROS, UTC)',
      ts: 'TIMESTAMP(MICROS, local)',
      j: 'JSON',
    });
  });

  it('each write() is a row group whose bytes reach the sink before finish()', async () => {
    const file = path.join(dir, 'groups.parquet');
    const sink = new FileSink(file);
    const cols = [
      { name: 'n', type: 'bigint' },
      { name: 's', type: 'text' },
    ];
    const w = openRowFile('parquet', 'snappy', cols, sink);
    for (let g = 0; g < 10; g++) {
      const rows = Array.from({ length: 1000 }, (_, i) => [String(g * 1000 + i), `row ${g * 1000 + i}`]);
      await w.write(rows);
      expect(sink.chunks, `after row group ${g + 1}`).toBe(g + 1);
    }
    const before = sink.bytes;
    const result = await w.finish();
    expect(result.rows).toBe(10_000);
    expect(before).toBeGreaterThan(result.bytes / 2);
    const [meta] = await duckRows(
      `SELECT count(DISTINCT row_group_id)::INTEGER AS groups FROM parquet_metadata('${file}')`,
    );
    expect(meta!.groups).toBe(10);
    const [agg] = await duckRows(
      `SELECT count(*)::INTEGER AS n, sum(n)::VARCHAR AS s FROM read_parquet('${file}')`,
    );
    expect(agg).toEqual({ n: 10_000, s: String((9999 * 10000) / 2) });
  });
});

describe('a file with no rows', () => {
  it.each(CASES)('%s / %s reads back empty, with its columns', async (format, compression) => {
    const file = path.join(dir, `empty-${compression}${fileExtension(format, compression)}`);
    const w = openRowFile(format, compression, columns, new FileSink(file));
    expect(await w.finish()).toEqual({ rows: 0, bytes: fs.statSync(file).size });
    const raw = fs.readFileSync(file);
    const text = (compression === 'gzip' ? zlib.gunzipSync(raw) : raw).toString('utf8');
    if (format === 'jsonl') {
      expect(text).toBe('');
      return;
    }
    // csv: the header row alone.
    if (format === 'csv') expect(text).toBe(`${columns.map((c) => c.name).join(',')}\r\n`);
    const [n] = await duckRows(`SELECT count(*)::INTEGER AS n FROM ${reader(format, file)}`);
    expect(n!.n).toBe(0);
    const names = (await duckRows(`DESCRIBE SELECT * FROM ${reader(format, file)}`)).map(
      (r) => r.column_name,
    );
    expect(names).toEqual(columns.map((c) => c.name));
  });
});

describe('refusals name the column and what to do', () => {
  it('types no file type fits', () => {
    expect(() => fileTypes('parquet', [{ name: 'p', type: 'point' }])).toThrow(ExportTypeError);
    expect(() => fileTypes('csv', [{ name: 'p', type: 'point' }])).toThrow(
      /column "p" has type point.*cast it/,
    );
    expect(() => fileTypes('parquet', [{ name: 'x', type: 'numeric(50,2)' }])).toThrow(/precision up to 38/);
    // csv/jsonl write numbers as text: any precision.
    expect(fileTypes('csv', [{ name: 'x', type: 'numeric(50,2)' }])).toEqual([
      { column: 'x', type: 'number' },
    ]);
    expect(() =>
      fileTypes('jsonl', [
        { name: 'a', type: 'text' },
        { name: 'a', type: 'text' },
      ]),
    ).toThrow(/appears twice/);
  });

  it('values that do not fit', async () => {
    const sink = { write() {} };
    const num = openRowFile('parquet', 'none', [{ name: 'n', type: 'numeric' }], sink);
    await expect(num.write([['1.0123456789']])).rejects.toThrow(
      /column "n".*more than 9 digits after the point/,
    );
    const big = openRowFile('parquet', 'none', [{ name: 'n', type: 'numeric' }], sink);
    await expect(big.write([['1'.repeat(30)]])).rejects.toThrow(/more than 38 digits/);
    for (const format of ['parquet', 'csv', 'jsonl'] as const) {
      const ts = openRowFile(format, 'none', [{ name: 't', type: 'timestamp with time zone' }], sink);
      await expect(ts.write([['infinity']])).rejects.toThrow(/column "t".*infinite/);
      const d = openRowFile(format, 'none', [{ name: 'd', type: 'date' }], sink);
      await expect(d.write([['0044-03-15 BC']])).rejects.toThrow(/outside 0001-01-01/);
    }
  });
});

describe('csv and jsonl text', () => {
  it('csv tells NULL from the empty string; jsonl keeps big numbers exact', async () => {
    const cols = [
      { name: 's', type: 'text' },
      { name: 'n', type: 'bigint' },
      { name: 'x', type: 'numeric' },
    ];
    const out: Buffer[] = [];
    const sink = { write: (c: Uint8Array) => void out.push(Buffer.from(c)) };
    const csv = openRowFile('csv', 'none', cols, sink);
    await csv.write([
      ['', null, '1.50'],
      [null, '-9223372036854775808', null],
    ]);
    await csv.finish();
    expect(Buffer.concat(out).toString()).toBe('s,n,x\r\n"",,1.50\r\n,-9223372036854775808,\r\n');
    out.length = 0;
    const jsonl = openRowFile('jsonl', 'none', cols, sink);
    await jsonl.write([['a\nb', '9223372036854775807', '123456789012345678901234567890.5']]);
    await jsonl.finish();
    expect(Buffer.concat(out).toString()).toBe(
      '{"s":"a\\nb","n":9223372036854775807,"x":123456789012345678901234567890.5}\n',
    );
  });

  it('a timestamptz printed with an offset (a session not in UTC) is written in UTC', async () => {
    const out: Buffer[] = [];
    const w = openRowFile('jsonl', 'none', [{ name: 't', type: 'timestamp with time zone' }], {
      write: (c: Uint8Array) => void out.push(Buffer.from(c)),
    });
    await w.write([['2026-03-08 01:59:59.5-08'], ['2026-03-08 15:30:00+05:30']]);
    await w.finish();
    expect(Buffer.concat(out).toString()).toBe(
      '{"t":"2026-03-08T09:59:59.5Z"}\n{"t":"2026-03-08T10:00:00Z"}\n',
    );
  });
});
