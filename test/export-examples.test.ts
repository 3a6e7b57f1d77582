// The Statsig and Toplyne S3 examples, end to end: applied on the embedded warehouse with a
// local bucket, fed rows in the vendors' shapes, synced, and the files read back with DuckDB;
// then the same exports against the S3 test server. The plan lists each export with its
// file types and the vendor principal that may read it, and the vendors' conventions pass.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { readParquet, startExportServers } from './support/export.js';
import type { TestServer } from './support/pg.js';
import type { TestS3Server } from './support/s3.js';

const ROOT = path.join(import.meta.dirname, '..');

let server: TestServer;
let s3: TestS3Server;
let work: string;
beforeAll(async () => {
  ({ server, s3 } = await startExportServers());
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-export-examples-'));
}, 60_000);
afterAll(async () => {
  await Promise.all([server?.stop(), s3?.stop()]);
  fs.rmSync(work, { recursive: true, force: true });
});

interface Example {
  file: string;
  bucket: string;
  connection: string;
  region: string;
  /** Rows in the vendor's shapes. */
  seed: string;
  /** Prefix -> source query whose rows (as text, sorted) the files must hold, and the day column. */
  expect: Record<string, { sql: string; columns: string }>;
  reader: string;
}

const EXAMPLES: Example[] = [
  {
    file: 'statsig-s3.yaml',
    bucket: 'acme-statsig-drop',
    connection: 'drop',
    region: 'us-west-2',
    seed: `
      INSERT INTO statsig.events (user_id, event_name, event_value, event_metadata, "timestamp", updated_at) VALUES
        ('u1', 'purchase', '12.5', '{"sku": "a"}', '2026-11-28 07:59:59', '2026-11-28 08:00:00'),
        ('u2', 'page_view', NULL, NULL, '2026-11-28 08:00:00', '2026-11-28 08:00:00'),
        ('u3', 'signup', 'x', '{"q": "it''s"}', '2026-11-30 23:00:00', '2026-11-30 23:00:00');
      INSERT INTO statsig.metrics (unit_id, id_type, date, metric_name, metric_value, numerator, denominator, updated_at) VALUES
        ('u1', 'user_id', '2026-11-27', 'revenue', 12.5, NULL, NULL, '2026-11-28 01:00:00'),
        ('u2', 'user_id', '2026-11-28', 'ctr', NULL, 3, 40, '2026-11-29 01:00:00');`,
    expect: {
      'events/': {
        sql: `SELECT user_id, event_name, event_value, "timestamp"::text AS ts FROM statsig.events`,
        columns: `user_id, event_name, event_value, strftime("timestamp", '%Y-%m-%d %H:%M:%S') AS ts`,
      },
      'metrics/': {
        sql: `SELECT unit_id, metric_name, date::text AS d, metric_value::text AS v FROM statsig.metrics`,
        columns: `unit_id, metric_name, strftime(date, '%Y-%m-%d') AS d, metric_value::VARCHAR AS v`,
      },
    },
    reader: 'arn:aws:iam::111122223333:user/statsig-ingest',
  },
  {
    file: 'toplyne-s3.yaml',
    bucket: 'acme-toplyne-share',
    connection: 'share',
    region: 'us-east-1',
    seed: `
      INSERT INTO toplyne.events VALUES
        (129, 823, 'Payment_Initiated', '2022-10-26 07:08:34', '2023-01-09 17:08:34', '{"paymentid": 123, "amount": 200}'),
        (156, 777, 'Trial_Ended', '2022-11-01 20:01:14', '2023-01-09 17:08:34', '{"accountid": 77}');
      INSERT INTO toplyne.users VALUES
        (1296, '2022-10-26 07:08:34', '2022-11-26 07:08:34', 'a@example.com', 'UK', 'Annual Plan'),
        (2676, '2022-11-01 20:01:14', '2022-12-01 20:01:14', 'b@example.com', 'UK', 'Monthly Plan');`,
    expect: {
      'events/': {
        sql: `SELECT user_id::text AS u, event_name AS e, "timestamp"::text AS ts FROM toplyne.events`,
        columns: `user_id::VARCHAR AS u, event_name AS e, strftime("timestamp", '%Y-%m-%d %H:%M:%S') AS ts`,
      },
      'users/': {
        sql: `SELECT user_id::text AS u, email AS e, updated_at::text AS ts FROM toplyne.users`,
        columns: `user_id::VARCHAR AS u, email AS e, strftime(updated_at, '%Y-%m-%d %H:%M:%S') AS ts`,
      },
    },
    reader: 'arn:aws:iam::388856629077:role/ToplyneServiceRoleForCustomerDataAccess',
  },
];

/** The example with its warehouse on the test server and its bucket connection replaced. */
function variant(ex: Example, db: string, bucketConnection: string): string {
  return fs
    .readFileSync(path.join(ROOT, 'examples', ex.file), 'utf8')
    .replace(
      /warehouse:\n {4}type: local[^\n]*/,
      `warehouse:\n    type: postgres\n    url: "${server.urlFor(db)}"`,
    )
    .replace(
      `${ex.connection}:\n    type: s3\n    region: ${ex.region}`,
      `${ex.connection}:\n    ${bucketConnection}`,
    );
}

async function sortedRows(c: pg.Client, sql: string): Promise<string[]> {
  return (await c.query(sql)).rows.map((r) => JSON.stringify(r)).sort();
}

describe.each(EXAMPLES)('examples/$file', (ex) => {
  it('applies, syncs its exports into a local bucket, and the files hold exactly the source rows', async () => {
    const db = await server.createDatabase('ex');
    const dir = fs.mkdtempSync(path.join(work, 'local-'));
    const file = path.join(dir, ex.file);
    fs.writeFileSync(file, variant(ex, db, 'type: local-bucket'));
    const applied = await runCli(['apply', '-f', file, '--auto-approve', '--allow-widen']);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const c = await server.client(db);
    try {
      await c.query(ex.seed);
      // The plan lists the exports: file types, and the vendor among those who may read them.
      const plan = await runCli(['plan', '-f', file, '--json']);
      const p = JSON.parse(plan.stdout);
      expect(p.changes).toEqual([]);
      expect(p.diagnostics.filter((d: { severity: string }) => d.severity !== 'info')).toEqual([]);
      expect(p.exports.map((e: { prefix: string }) => e.prefix)).toEqual(Object.keys(ex.expect));
      for (const e of p.exports) {
        expect(e.readers.some((r: string) => r.startsWith(ex.reader))).toBe(true);
        expect(e.columns.length).toBeGreaterThan(3);
        for (const col of e.columns) expect(col.fileType).not.toBe('?');
      }
      const text = await runCli(['plan', '-f', file]);
      expect(text.stdout).toContain('Exports (written by wharf sync, not by apply):');

      const r = await runCli(['sync', '-f', file, '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const bucketDir = path.join(dir, '.wharf', 'buckets', ex.bucket);
      for (const [prefix, want] of Object.entries(ex.expect)) {
        const files = fs
          .readdirSync(path.join(bucketDir, prefix), { recursive: true, encoding: 'utf8' })
          .filter((f) => f.endsWith('.parquet'))
          .map((f) => path.join(bucketDir, prefix, f));
        expect(files.length).toBeGreaterThan(0);
        const got = (await readParquet(files, want.columns)).map((x) => JSON.stringify(x)).sort();
        expect({ prefix, rows: got }).toEqual({ prefix, rows: await sortedRows(c, want.sql) });
      }
      // A second run finds nothing new.
      const again = JSON.parse((await runCli(['sync', '-f', file, '--json'])).stdout);
      for (const s of again.syncs) expect(s.export.files).toEqual([]);
    } finally {
      await c.end();
    }
  }, 120_000);

  it('syncs the same exports into a bucket on the S3 test server', async () => {
    const db = await server.createDatabase('ex');
    const dir = fs.mkdtempSync(path.join(work, 's3-'));
    // The tables come from applying the example on its local variant; the bucket is made on
    // the server (it does not serve the bucket-policy calls apply would make).
    const local = path.join(dir, `local-${ex.file}`);
    fs.writeFileSync(local, variant(ex, db, 'type: local-bucket'));
    expect((await runCli(['apply', '-f', local, '--auto-approve', '--allow-widen'])).code).toBe(0);
    const bucket = `${ex.bucket}-${path
      .basename(dir)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '')}`.slice(0, 63);
    await s3.client.send(new CreateBucketCommand({ Bucket: bucket }));
    const file = path.join(dir, ex.file);
    fs.writeFileSync(
      file,
      variant(
        ex,
        db,
        `type: s3\n    region: us-east-1\n    endpoint: "${s3.endpoint}"\n    forcePathStyle: true`,
      ).replaceAll(ex.bucket, bucket),
    );
    const c = await server.client(db);
    try {
      await c.query(ex.seed);
      const r = await runCli(['sync', '-f', file]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      for (const [prefix, want] of Object.entries(ex.expect)) {
        const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
        const keys = (listed.Contents ?? []).map((o) => o.Key!).filter((k) => k.endsWith('.parquet'));
        expect(keys.length).toBeGreaterThan(0);
        const files: string[] = [];
        for (const k of keys) {
          const o = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: k }));
          const to = path.join(dir, 'copy', k);
          fs.mkdirSync(path.dirname(to), { recursive: true });
          fs.writeFileSync(to, await o.Body!.transformToByteArray());
          files.push(to);
        }
        const got = (await readParquet(files, want.columns)).map((x) => JSON.stringify(x)).sort();
        expect({ prefix, rows: got }).toEqual({ prefix, rows: await sortedRows(c, want.sql) });
      }
    } finally {
      await c.end();
    }
  }, 120_000);
});
