// Helpers for the bucket-export tests: a source database with an event table, a wharf file
// exporting it into a local bucket (a folder) or a bucket on the S3 test server, and DuckDB as
// the independent reader of what landed there.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import type pg from 'pg';
import { runCli } from './cli.js';
import { startTestServer, type TestServer } from './pg.js';
import { startS3Server, type TestS3Server } from './s3.js';

export const EVENTS_DDL = `
CREATE SCHEMA raw;
CREATE TABLE raw.events (
  event_id bigint PRIMARY KEY,
  user_id bigint NOT NULL,
  event_name text NOT NULL,
  "timestamp" timestamp NOT NULL,
  updated_at timestamp NOT NULL,
  amount numeric(18,2),
  properties jsonb
);
CREATE INDEX ON raw.events (updated_at);`;

export interface ExportFixture {
  src: pg.Client;
  dir: string;
  file: string;
  bucket: string;
  /** Where the local bucket's objects are (local only). */
  bucketDir: string;
  /** Writes the wharf file with these syncs (YAML list items, indented by the caller's two spaces). */
  write(syncs: string, opts?: { buckets?: string }): void;
  /** Creates the local bucket (wharf apply); nothing to do on S3, where the test made it. */
  apply(): Promise<void>;
  /** Every object key under a prefix, sorted. */
  keys(prefix?: string): Promise<string[]>;
  /** Reads an object's bytes into a file DuckDB can open; returns its path. */
  localCopy(key: string): Promise<string>;
  close(): Promise<void>;
}

export async function exportFixture(
  server: TestServer,
  opts: { s3?: { endpoint: string; client: S3Client } } = {},
): Promise<ExportFixture> {
  const db = await server.createDatabase('exp');
  const src = await server.client(db);
  await src.query(EVENTS_DDL);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-export-'));
  const file = path.join(dir, 'wharf.yaml');
  const bucket = `exports-${path
    .basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')}`.slice(0, 60);
  const bucketDir = path.join(dir, '.wharf', 'buckets', bucket);
  if (opts.s3) await opts.s3.client.send(new CreateBucketCommand({ Bucket: bucket }));
  const files = opts.s3
    ? `  files: { type: s3, region: us-east-1, endpoint: "${opts.s3.endpoint}", forcePathStyle: true }`
    : '  files: { type: local-bucket }';
  return {
    src,
    dir,
    file,
    bucket,
    bucketDir,
    write(syncs, w = {}) {
      fs.writeFileSync(
        file,
        `version: 1
connections:
  warehouse: { type: postgres, url: "${server.urlFor(db)}" }
${files}
defaultConnection: warehouse
buckets:
  - name: ${bucket}
${opts.s3 ? '' : '    create: true\n'}${w.buckets ?? ''}
syncs:
${syncs}
`,
      );
    },
    async apply() {
      if (opts.s3) return;
      const r = await runCli(['apply', '-f', file, '--auto-approve']);
      if (r.code !== 0) throw new Error(`apply failed: ${r.stderr}${r.stdout}`);
    },
    async keys(prefix = '') {
      if (opts.s3) {
        const out: string[] = [];
        let token: string | undefined;
        do {
          const r = await opts.s3.client.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
          );
          for (const o of r.Contents ?? []) if (o.Key && !o.Key.endsWith('/')) out.push(o.Key);
          token = r.IsTruncated ? r.NextContinuationToken : undefined;
        } while (token);
        return out.sort();
      }
      const out: string[] = [];
      const walk = (rel: string) => {
        const abs = path.join(bucketDir, rel);
        if (!fs.existsSync(abs)) return;
        for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
          const k = rel ? `${rel}/${e.name}` : e.name;
          if (e.isDirectory()) walk(k);
          else if (k.startsWith(prefix)) out.push(k);
        }
      };
      walk('');
      return out.sort();
    },
    async localCopy(key) {
      if (!opts.s3) return path.join(bucketDir, key);
      const r = await opts.s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const to = path.join(dir, 'copies', key);
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.writeFileSync(to, await r.Body!.transformToByteArray());
      return to;
    },
    async close() {
      await src.end().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

type Duck = { runAndReadAll(sql: string): Promise<{ getRowObjectsJson(): Record<string, unknown>[] }> };
let duckConn: Promise<Duck> | undefined;

/** One DuckDB connection per test file, opened on first use. */
export function duck(): Promise<Duck> {
  duckConn ??= (async () => {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
    return (await inst.connect()) as unknown as Duck;
  })();
  return duckConn;
}

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Rows of parquet files, read by DuckDB, as JSON-ready objects. */
export async function readParquet(
  files: readonly string[],
  select = '*',
): Promise<Record<string, unknown>[]> {
  if (files.length === 0) return [];
  const d = await duck();
  const r = await d.runAndReadAll(`SELECT ${select} FROM read_parquet([${files.map(lit).join(', ')}])`);
  return r.getRowObjectsJson();
}

/**
 * A PostgreSQL server and the S3 test server for an export test file, with the S3 server's
 * credentials in the environment (the SDK's default chain that wharf and its children use).
 */
export async function startExportServers(): Promise<{ server: TestServer; s3: TestS3Server }> {
  const [server, s3] = await Promise.all([startTestServer(), startS3Server()]);
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  return { server, s3 };
}
