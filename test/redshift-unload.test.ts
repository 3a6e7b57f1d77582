// Redshift UNLOAD for bucket exports: the statement wharf builds (golden SQL), the manifest it
// reads, and UNLOAD run end to end through the real RedshiftDataClient against the fake Data
// API, which writes the files into the S3 test server; they are read back with DuckDB and
// compared with the source rows on PostgreSQL.
//
// Reference: https://docs.aws.amazon.com/redshift/latest/dg/r_UNLOAD.html
// - the query is a single-quoted literal; quotes and backslashes inside it must be escaped
//   (Redshift reads a backslash in '…' as an escape, so both are doubled, as QUOTE_LITERAL does:
//   https://docs.aws.amazon.com/redshift/latest/dg/r_QUOTE_LITERAL.html);
// - no LIMIT in the outer SELECT (a nested one is fine);
// - PARTITION BY writes Hive-style `column=value/` folders and leaves the partition columns out
//   of the files unless INCLUDE;
// - MANIFEST VERBOSE adds meta.record_count per file and for the whole unload, beside
//   meta.content_length (https://docs.aws.amazon.com/redshift/latest/dg/loading-data-files-using-manifest.html);
// - UNLOAD fails on a prefix that already holds files unless ALLOWOVERWRITE (or CLEANPATH,
//   exclusive with it); MAXFILESIZE is 5 MB to 6.2 GB; PARQUET takes no GZIP/BZIP2/ZSTD.
// Backslashes: a backslash left single in the UNLOAD literal is read as an escape (`\b` became a
// backspace in https://github.com/aws/amazon-redshift-jdbc-driver/issues/124; unescaped
// backslashes broke UNLOAD in https://github.com/databricks/spark-redshift/issues/215).
// File names follow the examples (https://docs.aws.amazon.com/redshift/latest/dg/r_UNLOAD_command_examples.html):
// `<prefix>0000_part_00.parquet`, one or more per slice.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DescribeStatementCommand,
  type DescribeStatementCommandOutput,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseUnloadManifest, type UnloadSpec, unloadSql } from '../src/providers/redshift/unload-sql.js';
import { type FakeDataApi, startFakeDataApi } from './support/fake-data-api.js';
import { golden } from './support/golden.js';
import { startTestServer, type TestServer } from './support/pg.js';
import { installRedshiftEmulator } from './support/redshift-emulator.js';
import { startS3Server, type TestS3Server } from './support/s3.js';

const ROLE = 'arn:aws:iam::123456789012:role/wharf-unload';
const BUCKET = 'exports';
// Quotes, a backslash, a double quote: what the SELECT wharf builds may hold.
const SELECT = `SELECT "id", "amount", "at", "note", "day" FROM "public"."events" WHERE "note" IS DISTINCT FROM 'skip ''me''' AND "note" IS DISTINCT FROM 'back\\\\slash' ORDER BY "id"`;

describe('unloadSql', () => {
  const specs: [string, UnloadSpec][] = [
    [
      'parquet, partitioned by day',
      {
        select: SELECT,
        to: 's3://exports/staging/run-1/',
        iamRole: ROLE,
        format: 'parquet',
        partitionBy: ['day'],
        maxFileSizeMb: 256,
      },
    ],
    [
      'parquet, partition column kept, overwrite',
      {
        select: 'SELECT 1 AS "a", CURRENT_DATE AS "Day"',
        to: 's3://exports/staging/run-2/',
        iamRole: ROLE,
        format: 'parquet',
        partitionBy: ['Day'],
        includePartitionColumns: true,
        existing: 'overwrite',
      },
    ],
    [
      'csv, gzip, header, clean path',
      {
        select: "SELECT 'it''s' AS \"x\"",
        to: 's3://exports/csv/',
        iamRole: 'arn:aws:iam::123456789012:role/service/wharf',
        format: 'csv',
        compression: 'gzip',
        header: true,
        existing: 'clean',
      },
    ],
    [
      'json, zstd',
      {
        select: 'SELECT 1 AS "a"',
        to: 's3://exports/json/part_',
        iamRole: ROLE,
        format: 'json',
        compression: 'zstd',
      },
    ],
  ];
  it('builds the statements kept in the golden file', () => {
    const text = specs.map(([name, spec]) => `-- ${name}\n${unloadSql(spec)};\n`).join('\n');
    expect(text).toBe(golden(path.join(import.meta.dirname, 'fixtures', 'unload', 'statements.sql'), text));
  });

  it('doubles quotes and backslashes in the query literal', () => {
    const sql = unloadSql({
      select: "SELECT 'a''b' || 'c\\d'",
      to: 's3://exports/x/',
      iamRole: ROLE,
      format: 'parquet',
    });
    expect(sql.split('\n')[0]).toBe("UNLOAD ('SELECT ''a''''b'' || ''c\\\\d''')");
  });

  it('refuses what Redshift refuses', () => {
    const base: UnloadSpec = { select: 'SELECT 1', to: 's3://exports/x/', iamRole: ROLE, format: 'parquet' };
    expect(() => unloadSql({ ...base, iamRole: 'arn:aws:iam::123:role/x' })).toThrow(/not an IAM role ARN/);
    expect(() => unloadSql({ ...base, iamRole: 'arn:aws:iam::123456789012:user/x' })).toThrow(
      /not an IAM role ARN/,
    );
    expect(() => unloadSql({ ...base, iamRole: `${ROLE}' ACCESS_KEY_ID 'x` })).toThrow(/not an IAM role ARN/);
    expect(() => unloadSql({ ...base, to: 'https://exports/x/' })).toThrow(/not an s3:\/\/bucket\/prefix/);
    expect(() => unloadSql({ ...base, compression: 'gzip' })).toThrow(/PARQUET takes no compression/);
    expect(() => unloadSql({ ...base, maxFileSizeMb: 4 })).toThrow(/MAXFILESIZE/);
    expect(() => unloadSql({ ...base, maxFileSizeMb: 6201 })).toThrow(/MAXFILESIZE/);
    expect(() => unloadSql({ ...base, header: true })).toThrow(/HEADER is for CSV/);
    expect(() => unloadSql({ ...base, partitionBy: ['a', 'a'] })).toThrow(/repeated/);
    expect(() => unloadSql({ ...base, select: '  ' })).toThrow(/empty/);
  });
});

describe('parseUnloadManifest', () => {
  it('reads entries, sizes and counts, and refuses what is not a manifest', () => {
    const m = parseUnloadManifest(
      JSON.stringify({
        entries: [
          { url: 's3://b/p/0000_part_00.parquet', meta: { content_length: 10, record_count: 2 } },
          { url: 's3://b/p/0001_part_00.parquet', meta: { content_length: 20, record_count: 3 } },
        ],
        meta: { content_length: 30, record_count: 5 },
      }),
    );
    expect(m).toEqual({
      entries: [
        { url: 's3://b/p/0000_part_00.parquet', rows: 2, bytes: 10 },
        { url: 's3://b/p/0001_part_00.parquet', rows: 3, bytes: 20 },
      ],
      rows: 5,
    });
    expect(parseUnloadManifest('{"entries":[]}')).toEqual({ entries: [] });
    expect(() =>
      parseUnloadManifest(
        '{"entries":[{"url":"s3://b/x","meta":{"record_count":1}}],"meta":{"record_count":2}}',
      ),
    ).toThrow(/says 2/);
    expect(() => parseUnloadManifest('{"entries":')).toThrow(/not JSON/);
    expect(() => parseUnloadManifest('{}')).toThrow(/no entries/);
    expect(() => parseUnloadManifest('{"entries":[{"url":"/tmp/x"}]}')).toThrow(/s3:\/\//);
    expect(() => parseUnloadManifest('{"entries":[{"url":"s3://b/x","meta":{"record_count":-1}}]}')).toThrow(
      /not a count/,
    );
  });
});

describe('UNLOAD through the Data API', () => {
  let server: TestServer;
  let db: pg.Client;
  let s3: TestS3Server;
  let fake: FakeDataApi;
  let sdk: RedshiftDataClient;
  let runId = 0;

  beforeAll(async () => {
    server = await startTestServer();
    db = await server.client(await server.createDatabase('unload'));
    const emulator = await installRedshiftEmulator(db);
    await db.query(
      `CREATE TABLE "public"."events" ("id" bigint, "amount" numeric(12,2), "at" timestamp, "note" text, "day" date)`,
    );
    await db.query(`INSERT INTO "public"."events" VALUES
      (9007199254740993, 12.50, '2024-06-01 10:00:00.123456', 'it''s "quoted", with a comma', '2024-06-01'),
      (2, -0.01, '2024-06-01 23:59:59', NULL, '2024-06-01'),
      (3, NULL, NULL, 'line one
line two', '2024-06-02'),
      (4, 99999.99, '2024-06-02 00:00:00', 'skip ''me''', '2024-06-02'),
      (5, 1.00, '2024-06-03 12:00:00', 'back\\\\slash', NULL),
      (6, 2.00, '2024-06-03 12:00:00', 'kept \\\\ backslash', '2024-06-03')`);
    s3 = await startS3Server();
    await s3.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    fake = await startFakeDataApi({ pg: db, rewrite: emulator.rewrite, s3Endpoint: s3.endpoint });
    sdk = new RedshiftDataClient({
      endpoint: fake.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  }, 60_000);
  afterAll(async () => {
    sdk?.destroy();
    await fake?.close();
    await s3?.stop();
    await db?.end();
    await server?.stop();
  });

  async function run(sql: string): Promise<DescribeStatementCommandOutput> {
    const { Id } = await sdk.send(
      new ExecuteStatementCommand({ ClusterIdentifier: 'analytics', Database: 'dev', Sql: sql }),
    );
    for (;;) {
      const d = await sdk.send(new DescribeStatementCommand({ Id }));
      if (d.Status === 'FINISHED' || d.Status === 'FAILED' || d.Status === 'ABORTED') return d;
    }
  }
  async function text(key: string): Promise<string> {
    const o = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return o.Body!.transformToString();
  }
  async function keys(prefix: string): Promise<string[]> {
    const page = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    return (page.Contents ?? []).map((o) => o.Key!).sort();
  }
  const prefix = () => `staging/run-${++runId}/`;
  const spec = (to: string, extra: Partial<UnloadSpec> = {}): UnloadSpec => ({
    select: SELECT,
    to: `s3://${BUCKET}/${to}`,
    iamRole: ROLE,
    format: 'parquet',
    ...extra,
  });

  /** The unloaded files, downloaded, read by DuckDB as one table; each column as text. */
  async function readBack(
    urls: string[],
    hive: boolean,
  ): Promise<{ columns: Record<string, string>; rows: (string | null)[][] }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-unload-test-'));
    const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    const conn = await instance.connect();
    try {
      const files: string[] = [];
      for (const url of urls) {
        const key = url.slice(`s3://${BUCKET}/`.length);
        const o = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
        const file = path.join(dir, key);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, await o.Body!.transformToByteArray());
        files.push(file);
      }
      const list = files.map((f) => `'${f.replace(/'/g, "''")}'`).join(', ');
      const from = `read_parquet([${list}], hive_partitioning = ${hive})`;
      const described = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`);
      const columns = Object.fromEntries(
        described.getRowObjectsJS().map((r) => [String(r.column_name), String(r.column_type)]),
      );
      const cast = Object.keys(columns)
        .map((c) => `CAST("${c}" AS VARCHAR)`)
        .join(', ');
      const result = await conn.runAndReadAll(`SELECT ${cast} FROM ${from} ORDER BY "id"`);
      return { columns, rows: result.getRowsJS() as (string | null)[][] };
    } finally {
      conn.closeSync();
      instance.closeSync();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /** The source rows the SELECT picks, each column as PostgreSQL's text. */
  async function expected(columns: string[]): Promise<(string | null)[][]> {
    const { rows } = await db.query({
      text: `SELECT ${columns.map((c) => `"${c}"::text`).join(', ')} FROM (${SELECT}) s ORDER BY "id"`,
      rowMode: 'array',
    });
    return rows as (string | null)[][];
  }

  it('writes parquet files partitioned by day and a verbose manifest; the statement has no result set', async () => {
    const to = prefix();
    const d = await run(unloadSql(spec(to, { partitionBy: ['day'] })));
    expect(d.Error).toBeUndefined();
    expect(d.Status).toBe('FINISHED');
    expect(d.HasResultSet).toBe(false);
    expect(d.ResultRows).toBe(0);
    await expect(sdk.send(new GetStatementResultCommand({ Id: d.Id }))).rejects.toThrow(
      /does not have result/,
    );

    const manifest = parseUnloadManifest(await text(`${to}manifest`));
    const source = await expected(['id', 'amount', 'at', 'note', 'day']);
    expect(source.length).toBeGreaterThan(0);
    expect(manifest.rows).toBe(source.length);
    const listed = await keys(to);
    expect(listed).toEqual(
      [`${to}manifest`, ...manifest.entries.map((e) => e.url.slice(`s3://${BUCKET}/`.length))].sort(),
    );
    for (const e of manifest.entries) {
      expect(e.url).toMatch(
        new RegExp(
          `^s3://${BUCKET}/${to}day=(\\d{4}-\\d{2}-\\d{2}|__HIVE_DEFAULT_PARTITION__)/\\d{4}_part_\\d{2}\\.parquet$`,
        ),
      );
      const o = await s3.client.send(
        new GetObjectCommand({ Bucket: BUCKET, Key: e.url.slice(`s3://${BUCKET}/`.length) }),
      );
      expect(o.ContentLength).toBe(e.bytes);
    }
    const days = new Set(source.map((r) => r[4] ?? '__HIVE_DEFAULT_PARTITION__'));
    expect(new Set(manifest.entries.map((e) => /day=([^/]+)\//.exec(e.url)![1]))).toEqual(days);

    // The files hold every column but the partition column; the folders give it back.
    const plain = await readBack(
      manifest.entries.map((e) => e.url),
      false,
    );
    expect(plain.columns).toEqual({
      id: 'BIGINT',
      amount: 'DECIMAL(12,2)',
      at: 'TIMESTAMP',
      note: 'VARCHAR',
    });
    expect(plain.rows).toEqual(source.map((r) => r.slice(0, 4)));
    const hive = await readBack(
      manifest.entries.map((e) => e.url),
      true,
    );
    expect(hive.rows.map((r) => (r[4] === '__HIVE_DEFAULT_PARTITION__' ? null : r[4]))).toEqual(
      source.map((r) => r[4]),
    );

    // The verbose manifest: schema, totals and author, as the reference shows.
    const raw = JSON.parse(await text(`${to}manifest`));
    expect(raw.schema.elements.map((e: { name: string }) => e.name)).toEqual([
      'id',
      'amount',
      'at',
      'note',
      'day',
    ]);
    expect(raw.schema.elements[1].type).toEqual({ base: 'numeric', precision: 12, scale: 2 });
    expect(raw.meta.content_length).toBe(manifest.entries.reduce((s, e) => s + e.bytes!, 0));
    expect(raw.author.name).toBe('Amazon Redshift');
  }, 60_000);

  it('keeps the partition column in the files with INCLUDE', async () => {
    const to = prefix();
    const d = await run(unloadSql(spec(to, { partitionBy: ['day'], includePartitionColumns: true })));
    expect(d.Status).toBe('FINISHED');
    const manifest = parseUnloadManifest(await text(`${to}manifest`));
    const back = await readBack(
      manifest.entries.map((e) => e.url),
      false,
    );
    expect(back.columns.day).toBe('DATE');
    expect(back.rows).toEqual(await expected(['id', 'amount', 'at', 'note', 'day']));
  }, 60_000);

  it('writes CSV with a header, NULL as an empty field', async () => {
    const to = prefix();
    const d = await run(unloadSql(spec(to, { format: 'csv', header: true })));
    expect(d.Status).toBe('FINISHED');
    const manifest = parseUnloadManifest(await text(`${to}manifest`));
    expect(manifest.entries.every((e) => /\/\d{4}_part_00$/.test(e.url))).toBe(true);
    const bodies = await Promise.all(
      manifest.entries.map((e) => text(e.url.slice(`s3://${BUCKET}/`.length))),
    );
    for (const b of bodies) expect(b.split('\n')[0]).toBe('id,amount,at,note,day');
    expect(bodies.join('')).toContain('"it\'s ""quoted"", with a comma"');
    expect(manifest.rows).toBe((await expected(['id'])).length);
  }, 60_000);

  it('keeps a backslash in the query: a quoted name holding \\b is not read as a backspace', async () => {
    const to = prefix();
    const select = 'SELECT "id" AS "a\\b", "note" AS "it\'s" FROM "public"."events" WHERE "id" = 2';
    const d = await run(unloadSql(spec(to, { select, format: 'csv', header: true })));
    expect(d.Status).toBe('FINISHED');
    const manifest = parseUnloadManifest(await text(`${to}manifest`));
    expect(manifest.rows).toBe(1);
    const body = await text(manifest.entries[0]!.url.slice(`s3://${BUCKET}/`.length));
    expect(body.split('\n')[0]).toBe("a\\b,it's");
  });

  it('an UNLOAD of no rows writes no data file and a manifest with no entries', async () => {
    const to = prefix();
    const d = await run(
      unloadSql(
        spec(to, { select: `${SELECT.replace(' ORDER BY "id"', '')} AND false`, partitionBy: ['day'] }),
      ),
    );
    expect(d.Status).toBe('FINISHED');
    expect(parseUnloadManifest(await text(`${to}manifest`))).toEqual({ entries: [], rows: 0 });
    expect(await keys(to)).toEqual([`${to}manifest`]);
  });

  describe('refusals, with the error Redshift reports', () => {
    const sqlFor = (to: string) => unloadSql(spec(to));

    it('no IAM_ROLE', async () => {
      const sql = sqlFor(prefix())
        .split('\n')
        .filter((l) => !l.startsWith('IAM_ROLE'))
        .join('\n');
      const d = await run(sql);
      expect(d.Status).toBe('FAILED');
      expect(d.Error).toMatch(/^ERROR: UNLOAD requires authorization/);
    });

    it('a query whose quotes are not doubled', async () => {
      const to = prefix();
      const d = await run(
        `UNLOAD ('SELECT * FROM "public"."events" WHERE "note" = 'x'') TO 's3://${BUCKET}/${to}' IAM_ROLE '${ROLE}' FORMAT AS PARQUET`,
      );
      expect(d.Status).toBe('FAILED');
      expect(d.Error).toBe('ERROR: syntax error at or near "x"');
      expect(await keys(to)).toEqual([]);
    });

    it('an unknown option', async () => {
      const d = await run(`${sqlFor(prefix())}\nCOMPRESSED`);
      expect(d.Status).toBe('FAILED');
      expect(d.Error).toBe('ERROR: syntax error at or near "COMPRESSED"');
    });

    it('PARTITION BY a column the query does not return', async () => {
      const d = await run(unloadSql(spec(prefix(), { partitionBy: ['hour'] })));
      expect(d.Status).toBe('FAILED');
      expect(d.Error).toBe('ERROR: Partition column "hour" is not in the UNLOAD query\'s select list');
    });

    it('files already under the prefix, unless ALLOWOVERWRITE', async () => {
      const to = prefix();
      expect((await run(unloadSql(spec(to)))).Status).toBe('FINISHED');
      const again = await run(unloadSql(spec(to)));
      expect(again.Status).toBe('FAILED');
      expect(again.Error).toBe(
        'ERROR: Specified unload destination on S3 is not empty. Consider using a different bucket / prefix, manually removing the target files in S3, or using the ALLOWOVERWRITE option.',
      );
      expect((await run(unloadSql(spec(to, { existing: 'overwrite' })))).Status).toBe('FINISHED');
      // Only an unrelated object under the prefix: still refused, and CLEANPATH removes it.
      const other = prefix();
      await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${other}stale.txt`, Body: 'x' }));
      expect((await run(unloadSql(spec(other)))).Status).toBe('FAILED');
      expect((await run(unloadSql(spec(other, { existing: 'clean' })))).Status).toBe('FINISHED');
      expect(await keys(other)).not.toContain(`${other}stale.txt`);
    }, 30_000);

    it('a LIMIT in the outermost SELECT, but not in a nested one', async () => {
      const d = await run(
        unloadSql({ ...spec(prefix()), select: 'SELECT "id" FROM "public"."events" ORDER BY "id" LIMIT 2' }),
      );
      expect(d.Status).toBe('FAILED');
      expect(d.Error).toMatch(/^ERROR: Limit clause is not supported/);
      const to = prefix();
      const nested = await run(
        unloadSql({
          ...spec(to),
          select:
            'SELECT "id" FROM "public"."events" WHERE "id" IN (SELECT "id" FROM "public"."events" ORDER BY "id" LIMIT 2)',
        }),
      );
      expect(nested.Status).toBe('FINISHED');
      expect(parseUnloadManifest(await text(`${to}manifest`)).rows).toBe(2);
    });

    it('a compression keyword with PARQUET, and CLEANPATH with ALLOWOVERWRITE', async () => {
      const base = sqlFor(prefix());
      const gzip = await run(`${base}\nGZIP`);
      expect(gzip.Error).toBe('ERROR: GZIP is not supported with PARQUET format');
      const both = await run(`${base}\nALLOWOVERWRITE\nCLEANPATH`);
      expect(both.Error).toBe('ERROR: CLEANPATH and ALLOWOVERWRITE options cannot be used together');
    });
  });
});
