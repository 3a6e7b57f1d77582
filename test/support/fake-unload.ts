// UNLOAD for the fake Data API: parses a Redshift UNLOAD statement, refuses what Redshift
// refuses, runs the query on the statement's PostgreSQL session and writes the files and the
// manifest into an S3 server (the s3rver child of support/s3.ts), named as Redshift names them
// (https://docs.aws.amazon.com/redshift/latest/dg/r_UNLOAD.html,
// https://docs.aws.amazon.com/redshift/latest/dg/r_UNLOAD_command_examples.html):
//
// - the query is a string literal read the Redshift way: '' is a quote and a backslash escapes
//   the next character, so a query whose quotes were not doubled ends the literal early and
//   the statement is a syntax error;
// - authorization is IAM_ROLE '<role ARN>' (CREDENTIALS and access keys are refused here);
// - files are `<prefix><slice>_part_00[.parquet]`, with PARTITION BY under Hive-style folders
//   `<prefix><column>=<value>/` (NULL as `__HIVE_DEFAULT_PARTITION__`), the partition columns
//   left out of the files unless INCLUDE; the cluster has two slices, row i going to slice
//   i % 2, and a slice with no rows writes no file;
// - MANIFEST writes `<prefix>manifest`: `entries[].url` and `entries[].meta.content_length`,
//   and with VERBOSE `entries[].meta.record_count`, `schema.elements`, `meta` (the totals) and
//   `author`;
// - UNLOAD fails when objects are already under the prefix, unless ALLOWOVERWRITE (files
//   written again are replaced, others stay) or CLEANPATH (everything under the prefix, or
//   under the partition folders being written, is removed first); the two are exclusive;
// - a LIMIT in the outermost SELECT is refused; a partition column must be a result column;
// - the statement has no result set (like COPY, its ResultRows is 0): how many rows were
//   written is in the manifest.
//
// Served formats: PARQUET (written by DuckDB, Snappy-compressed), CSV (optionally GZIP) and
// JSON (one object per line, optionally GZIP). Pipe-delimited text, FIXEDWIDTH, BZIP2, ZSTD,
// ENCRYPTED, KMS keys and EXTENSION are refused as not served by this fake. MAXFILESIZE and
// PARALLEL are checked and recorded, but every slice writes one part.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  DeleteObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { loadModule, parseSync } from 'libpg-query';
import type pg from 'pg';
import { s3ClientFor } from './s3.js';

await loadModule();

/** Slices of the emulated cluster: UNLOAD writes one file per slice that holds rows. */
export const UNLOAD_SLICES = 2;
export const HIVE_NULL = '__HIVE_DEFAULT_PARTITION__';
const IAM_ROLE = /^arn:aws(?:-cn|-us-gov)?:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;

/** A refusal, reported by the fake as the statement's `ERROR: <message>`. */
export class UnloadError extends Error {}

export interface ParsedUnload {
  query: string;
  to: string;
  iamRole: string;
  format: 'text' | 'csv' | 'parquet' | 'json';
  partitionBy: string[];
  include: boolean;
  manifest: boolean;
  verbose: boolean;
  header: boolean;
  compression: 'none' | 'gzip' | 'bzip2' | 'zstd';
  allowOverwrite: boolean;
  cleanPath: boolean;
  parallel: boolean;
  maxFileSizeMb?: number;
  /** Options given, upper case, for the exclusivity checks. */
  options: Set<string>;
}

export function isUnload(sql: string): boolean {
  return /^\s*unload\b/i.test(sql);
}

// ---------------------------------------------------------------------------------------------
// Tokens, read as Redshift reads them.

type Token =
  | { kind: 'word'; text: string; value: string }
  | { kind: 'ident'; text: string; value: string }
  | { kind: 'string'; text: string; value: string }
  | { kind: 'number'; text: string; value: string }
  | { kind: 'punct'; text: string; value: string };

const ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw new UnloadError('unterminated /* comment');
      i = end + 2;
    } else if (c === "'") {
      // Redshift: '' is a quote, a backslash escapes the next character.
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= sql.length)
          throw new UnloadError(`unterminated quoted string at or near "${sql.slice(i, i + 40)}"`);
        const d = sql[j]!;
        if (d === '\\' && j + 1 < sql.length) {
          const e = sql[j + 1]!;
          value += ESCAPES[e] ?? e;
          j += 2;
        } else if (d === "'" && sql[j + 1] === "'") {
          value += "'";
          j += 2;
        } else if (d === "'") {
          j++;
          break;
        } else {
          value += d;
          j++;
        }
      }
      tokens.push({ kind: 'string', text: sql.slice(i, j), value });
      i = j;
    } else if (c === '"') {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= sql.length)
          throw new UnloadError(`unterminated quoted identifier at or near "${sql.slice(i, i + 40)}"`);
        if (sql[j] === '"' && sql[j + 1] === '"') {
          value += '"';
          j += 2;
        } else if (sql[j] === '"') {
          j++;
          break;
        } else value += sql[j++];
      }
      tokens.push({ kind: 'ident', text: sql.slice(i, j), value });
      i = j;
    } else if (/[0-9.]/.test(c)) {
      const m = /^[0-9]*\.?[0-9]+|^[0-9]+/.exec(sql.slice(i))!;
      tokens.push({ kind: 'number', text: m[0], value: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i))!;
      tokens.push({ kind: 'word', text: m[0], value: m[0].toUpperCase() });
      i += m[0].length;
    } else {
      tokens.push({ kind: 'punct', text: c, value: c });
      i++;
    }
  }
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// The statement.

const FLAGS = new Set([
  'HEADER',
  'ADDQUOTES',
  'ESCAPE',
  'ALLOWOVERWRITE',
  'CLEANPATH',
  'GZIP',
  'BZIP2',
  'ZSTD',
]);
const WITH_STRING = new Set(['DELIMITER', 'NULL', 'FIXEDWIDTH', 'REGION', 'EXTENSION', 'KMS_KEY_ID']);
const NOT_SERVED = new Set(['FIXEDWIDTH', 'ENCRYPTED', 'KMS_KEY_ID', 'EXTENSION', 'BZIP2', 'ZSTD']);

/** Parses an UNLOAD statement; throws UnloadError with the error Redshift reports. */
export function parseUnload(sql: string): ParsedUnload {
  const tokens = tokenize(sql);
  let at = 0;
  const peek = () => tokens[at];
  const syntaxError = (t = peek()): never => {
    throw new UnloadError(t ? `syntax error at or near "${t.text}"` : 'syntax error at end of input');
  };
  const next = () => tokens[at++] ?? syntaxError(undefined);
  const word = (w: string) => {
    const t = peek();
    if (t?.kind === 'word' && t.value === w) {
      at++;
      return true;
    }
    return false;
  };
  const expectWord = (w: string) => word(w) || syntaxError();
  const punct = (p: string) => {
    if (peek()?.kind === 'punct' && peek()!.value === p) {
      at++;
      return true;
    }
    return false;
  };
  const expectPunct = (p: string) => punct(p) || syntaxError();
  const string = () => {
    const t = next();
    return t.kind === 'string' ? t.value : syntaxError(t);
  };

  expectWord('UNLOAD');
  expectPunct('(');
  const query = string();
  expectPunct(')');
  expectWord('TO');
  const to = string();

  const options = new Set<string>();
  const seen = (name: string) => {
    if (options.has(name)) throw new UnloadError('conflicting or redundant options');
    options.add(name);
  };
  const u: ParsedUnload = {
    query,
    to,
    iamRole: '',
    format: 'text',
    partitionBy: [],
    include: false,
    manifest: false,
    verbose: false,
    header: false,
    compression: 'none',
    allowOverwrite: false,
    cleanPath: false,
    parallel: true,
    options,
  };
  let auth = false;
  while (peek() && !(peek()!.kind === 'punct' && peek()!.value === ';')) {
    const t = next();
    if (t.kind !== 'word') syntaxError(t);
    const name = t.value;
    if (name === 'IAM_ROLE') {
      seen('IAM_ROLE');
      auth = true;
      if (word('DEFAULT')) throw new UnloadError('IAM_ROLE default is not served by this fake');
      u.iamRole = string();
    } else if (name === 'CREDENTIALS' || name === 'ACCESS_KEY_ID' || name === 'WITH') {
      throw new UnloadError(`${name} authorization is not served by this fake; use IAM_ROLE`);
    } else if (name === 'FORMAT') {
      seen('FORMAT');
      word('AS');
      const f = next();
      if (f.kind !== 'word' || !['CSV', 'PARQUET', 'JSON'].includes(f.value)) syntaxError(f);
      u.format = f.value.toLowerCase() as ParsedUnload['format'];
    } else if (name === 'CSV' || name === 'PARQUET' || name === 'JSON') {
      seen('FORMAT');
      u.format = name.toLowerCase() as ParsedUnload['format'];
    } else if (name === 'PARTITION') {
      seen('PARTITION BY');
      expectWord('BY');
      expectPunct('(');
      do {
        const c = next();
        if (c.kind === 'ident') u.partitionBy.push(c.value);
        else if (c.kind === 'word') u.partitionBy.push(c.text.toLowerCase());
        else syntaxError(c);
      } while (punct(','));
      expectPunct(')');
      u.include = word('INCLUDE');
    } else if (name === 'MANIFEST') {
      seen('MANIFEST');
      u.manifest = true;
      u.verbose = word('VERBOSE');
    } else if (name === 'ENCRYPTED') {
      seen('ENCRYPTED');
      word('AUTO');
    } else if (name === 'PARALLEL') {
      seen('PARALLEL');
      if (word('OFF') || word('FALSE')) u.parallel = false;
      else word('ON') || word('TRUE');
    } else if (name === 'MAXFILESIZE' || name === 'ROWGROUPSIZE') {
      seen(name);
      word('AS');
      const n = next();
      if (n.kind !== 'number') syntaxError(n);
      const gb = word('GB');
      if (!gb) word('MB');
      const mb = Number(n.value) * (gb ? 1000 : 1);
      if (name === 'MAXFILESIZE') {
        // "a decimal value between 5 MB and 6.2 GB"
        if (mb < 5 || mb > 6200) throw new UnloadError('MAXFILESIZE must be between 5 MB and 6.2 GB');
        u.maxFileSizeMb = mb;
      }
    } else if (FLAGS.has(name)) {
      seen(name);
      if (name === 'HEADER') u.header = true;
      else if (name === 'ALLOWOVERWRITE') u.allowOverwrite = true;
      else if (name === 'CLEANPATH') u.cleanPath = true;
      else if (name === 'GZIP' || name === 'BZIP2' || name === 'ZSTD') {
        if (u.compression !== 'none') throw new UnloadError('conflicting or redundant options');
        u.compression = name.toLowerCase() as ParsedUnload['compression'];
      }
    } else if (WITH_STRING.has(name)) {
      seen(name);
      word('AS');
      string();
    } else syntaxError(t);
  }
  if (punct(';') && peek()) syntaxError();
  if (!auth)
    throw new UnloadError('UNLOAD requires authorization: specify IAM_ROLE, CREDENTIALS or ACCESS_KEY_ID');
  if (!IAM_ROLE.test(u.iamRole)) throw new UnloadError(`Invalid IAM role ARN: ${u.iamRole}`);
  if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/./.test(u.to))
    throw new UnloadError(`Invalid S3 path for UNLOAD: ${u.to}`);
  checkCombinations(u);
  for (const o of options) if (NOT_SERVED.has(o)) throw new UnloadError(`${o} is not served by this fake`);
  if (u.format === 'text')
    throw new UnloadError('pipe-delimited text is not served by this fake; use CSV, JSON or PARQUET');
  return u;
}

/** The option combinations the UNLOAD reference rules out. */
function checkCombinations(u: ParsedUnload): void {
  const has = (o: string) => u.options.has(o);
  const refuse = (format: string, banned: string[]) => {
    for (const o of banned) if (has(o)) throw new UnloadError(`${o} is not supported with ${format} format`);
  };
  if (u.format === 'parquet')
    refuse('PARQUET', [
      'DELIMITER',
      'FIXEDWIDTH',
      'ADDQUOTES',
      'ESCAPE',
      'NULL',
      'HEADER',
      'GZIP',
      'BZIP2',
      'ZSTD',
    ]);
  if (u.format === 'json')
    refuse('JSON', ['DELIMITER', 'FIXEDWIDTH', 'ADDQUOTES', 'ESCAPE', 'NULL', 'HEADER']);
  if (u.format === 'csv') refuse('CSV', ['FIXEDWIDTH', 'ADDQUOTES', 'ESCAPE']);
  if (has('ROWGROUPSIZE') && u.format !== 'parquet')
    throw new UnloadError('ROWGROUPSIZE is only supported with PARQUET format');
  if (u.allowOverwrite && u.cleanPath)
    throw new UnloadError('CLEANPATH and ALLOWOVERWRITE options cannot be used together');
  if (new Set(u.partitionBy).size !== u.partitionBy.length)
    throw new UnloadError('conflicting or redundant options');
}

/** Refuses a LIMIT in the outermost SELECT; the query must be one SELECT. */
function checkQuery(query: string): void {
  let tree: { stmts?: { stmt: Record<string, Record<string, unknown>> }[] };
  try {
    tree = parseSync(query) as typeof tree;
  } catch (e) {
    throw new UnloadError(e instanceof Error ? e.message : String(e));
  }
  const stmts = tree.stmts ?? [];
  const select = stmts.length === 1 ? stmts[0]!.stmt.SelectStmt : undefined;
  if (!select) throw new UnloadError('UNLOAD query must be a single SELECT statement');
  if (select.limitCount)
    throw new UnloadError('Limit clause is not supported: use a LIMIT in a nested SELECT');
}

// ---------------------------------------------------------------------------------------------
// Running it.

export interface RunUnloadOptions {
  /** The S3 server files are written to (the test S3 server's endpoint). */
  s3Endpoint?: string;
  /** The fake's rewriter (the Redshift emulator), applied to the unloaded query. */
  rewrite?: (sql: string) => string;
}

interface ResultColumn {
  name: string;
  /** format_type, e.g. `numeric(12,2)`, `character varying(40)`. */
  type: string;
}

/** Runs an UNLOAD on `client` (the statement's session); throws UnloadError for a refusal. */
export async function runUnload(client: pg.ClientBase, sql: string, opts: RunUnloadOptions): Promise<void> {
  const u = parseUnload(sql);
  checkQuery(u.query);
  if (!opts.s3Endpoint) throw new Error('UNLOAD needs the fake Data API started with s3Endpoint');
  const s3 = s3ClientFor(opts.s3Endpoint);
  try {
    const { bucket, prefix } = splitS3(u.to);
    try {
      await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch {
      throw new UnloadError(
        `S3ServiceException:The specified bucket does not exist,Status 404,Error NoSuchBucket,Rid ,ExtRid ,CanRetry 1`,
      );
    }
    const existing = await listKeys(s3, bucket, prefix);
    if (existing.length > 0 && !u.allowOverwrite && !u.cleanPath)
      throw new UnloadError(
        'Specified unload destination on S3 is not empty. Consider using a different bucket / prefix, manually removing the target files in S3, or using the ALLOWOVERWRITE option.',
      );

    const res = await client.query({
      text: opts.rewrite ? opts.rewrite(u.query) : u.query,
      rowMode: 'array',
      types: { getTypeParser: () => (v: string) => v } as unknown as pg.CustomTypesConfig,
    });
    const columns = await resultColumns(client, res.fields);
    const index = new Map(columns.map((c, i) => [c.name, i]));
    for (const p of u.partitionBy)
      if (!index.has(p))
        throw new UnloadError(`Partition column "${p}" is not in the UNLOAD query's select list`);
    const partIdx = u.partitionBy.map((p) => index.get(p)!);
    const keep = columns.map((_, i) => i).filter((i) => u.include || !partIdx.includes(i));
    const rows = res.rows as (string | null)[][];

    // Rows by partition folder, in first-seen order.
    const groups = new Map<string, (string | null)[][]>();
    for (const row of rows) {
      const folder = partIdx
        .map(
          (i, k) => `${hiveEscape(u.partitionBy[k]!)}=${row[i] === null ? HIVE_NULL : hiveEscape(row[i]!)}/`,
        )
        .join('');
      const g = groups.get(folder) ?? [];
      g.push(row);
      groups.set(folder, g);
    }
    if (u.cleanPath) {
      const doomed =
        u.partitionBy.length === 0
          ? existing
          : existing.filter((k) => [...groups.keys()].some((f) => k.startsWith(prefix + f)));
      for (const key of doomed) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    }

    const entries: { url: string; meta: { content_length: number; record_count?: number } }[] = [];
    const kept = keep.map((i) => columns[i]!);
    for (const [folder, groupRows] of groups) {
      for (let slice = 0; slice < UNLOAD_SLICES; slice++) {
        const sliceRows = groupRows
          .filter((_, i) => i % UNLOAD_SLICES === slice)
          .map((r) => keep.map((i) => r[i]!));
        if (sliceRows.length === 0) continue;
        const body = await encode(u, kept, sliceRows);
        const key = `${prefix}${folder}${String(slice).padStart(4, '0')}_part_00${extension(u)}`;
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
        entries.push({
          url: `s3://${bucket}/${key}`,
          meta: { content_length: body.length, ...(u.verbose ? { record_count: sliceRows.length } : {}) },
        });
      }
    }
    if (u.manifest) {
      const manifest = u.verbose
        ? {
            entries,
            schema: { elements: columns.map((c) => ({ name: c.name, type: schemaType(c.type) })) },
            meta: {
              content_length: entries.reduce((s, e) => s + e.meta.content_length, 0),
              record_count: rows.length,
            },
            author: { name: 'Amazon Redshift', version: '1.0.0' },
          }
        : { entries };
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `${prefix}manifest`,
          Body: JSON.stringify(manifest, null, 2),
        }),
      );
    }
  } finally {
    s3.destroy();
  }
}

function splitS3(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(url)!;
  return { bucket: m[1]!, prefix: m[2]! };
}

async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

async function resultColumns(client: pg.ClientBase, fields: pg.FieldDef[]): Promise<ResultColumn[]> {
  const out: ResultColumn[] = [];
  for (const f of fields) {
    const { rows } = await client.query<{ t: string }>('SELECT format_type($1::oid, $2::int) AS t', [
      f.dataTypeID,
      f.dataTypeModifier,
    ]);
    out.push({ name: f.name, type: rows[0]!.t });
  }
  return out;
}

/** Hive's escaping of partition folder names: these characters as %XX. */
function hiveEscape(s: string): string {
  return s.replace(
    /[\u0000-\u001f"#%'*/:=?\\\u007f{[\]^]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

function extension(u: ParsedUnload): string {
  if (u.format === 'parquet') return '.parquet';
  return u.compression === 'gzip' ? '.gz' : '';
}

/** The manifest's schema type for a format_type name. */
function schemaType(type: string): Record<string, unknown> {
  const m = /^([a-z ]+?)(?:\((\d+)(?:,(\d+))?\))?( with(?:out)? time zone)?$/.exec(type);
  if (!m) return { base: type };
  const base = `${m[1]}${m[4] ?? ''}`;
  if (m[1] === 'numeric' && m[2]) return { base, precision: Number(m[2]), scale: Number(m[3] ?? 0) };
  if (m[2] && /^(character|character varying)$/.test(m[1]!)) return { base, max_length: Number(m[2]) };
  return { base };
}

async function encode(u: ParsedUnload, columns: ResultColumn[], rows: (string | null)[][]): Promise<Buffer> {
  if (u.format === 'parquet') return parquet(columns, rows);
  let text: string;
  if (u.format === 'csv') {
    const field = (v: string | null) =>
      v === null ? '' : /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
    const lines = rows.map((r) => r.map(field).join(','));
    if (u.header) lines.unshift(columns.map((c) => field(c.name)).join(','));
    text = `${lines.join('\n')}\n`;
  } else {
    text =
      rows
        .map((r) =>
          JSON.stringify(Object.fromEntries(columns.map((c, i) => [c.name, jsonValue(r[i]!, c.type)]))),
        )
        .join('\n') + '\n';
  }
  const raw = Buffer.from(text);
  return u.compression === 'gzip' ? gzipSync(raw) : raw;
}

function jsonValue(v: string | null, type: string): unknown {
  if (v === null) return null;
  if (/^(smallint|integer|real|double precision)$/.test(type)) return Number(v);
  if (type === 'boolean') return v === 't';
  return v;
}

/** A DuckDB type for a PostgreSQL format_type name; text when nothing closer fits. */
function duckType(type: string): string {
  const m = /^numeric\((\d+),(\d+)\)$/.exec(type);
  if (m && Number(m[1]) <= 38) return `DECIMAL(${m[1]},${m[2]})`;
  const simple: Record<string, string> = {
    smallint: 'SMALLINT',
    integer: 'INTEGER',
    bigint: 'BIGINT',
    real: 'REAL',
    'double precision': 'DOUBLE',
    boolean: 'BOOLEAN',
    date: 'DATE',
    'timestamp without time zone': 'TIMESTAMP',
    'timestamp with time zone': 'TIMESTAMPTZ',
  };
  return simple[type.replace(/\(\d+\)/, '')] ?? 'VARCHAR';
}

const dq = (s: string) => `"${s.replace(/"/g, '""')}"`;

async function parquet(columns: ResultColumn[], rows: (string | null)[][]): Promise<Buffer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-unload-'));
  // Loaded on first use: most users of the fake never UNLOAD to parquet.
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await instance.connect();
  try {
    await conn.run(`CREATE TABLE t (${columns.map((_, i) => `c${i} VARCHAR`).join(', ')})`);
    const appender = await conn.createAppender('t');
    for (const row of rows) {
      for (const v of row) v === null ? appender.appendNull() : appender.appendVarchar(v);
      appender.endRow();
    }
    appender.closeSync();
    const file = path.join(dir, 'part.parquet');
    const select = columns.map((c, i) => `CAST(c${i} AS ${duckType(c.type)}) AS ${dq(c.name)}`).join(', ');
    await conn.run(
      `COPY (SELECT ${select} FROM t) TO '${file.replace(/'/g, "''")}' (FORMAT parquet, COMPRESSION snappy)`,
    );
    return fs.readFileSync(file);
  } finally {
    conn.closeSync();
    instance.closeSync();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
