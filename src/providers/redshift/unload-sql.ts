// Redshift UNLOAD for bucket exports: the statement that writes a SELECT's rows to S3 without
// them passing through wharf, and the reading of the manifest UNLOAD leaves next to the files
// (https://docs.aws.amazon.com/redshift/latest/dg/r_UNLOAD.html).
//
// - The query is a string literal: Redshift reads a backslash inside '…' as an escape, so both
//   quotes and backslashes are doubled (the reference: quotes and backslashes in the query text
//   must be escaped), and Redshift gives back the SELECT exactly as wharf built it.
// - Authorization is always IAM_ROLE with one role ARN; nothing else is accepted.
// - MANIFEST VERBOSE is always written: the manifest lists every file with meta.content_length
//   and meta.record_count, and meta.record_count for the whole unload, so wharf learns what was
//   written without listing the bucket.
// - PARTITION BY writes Hive-style folders `<prefix><column>=<value>/`; the partition columns
//   are left out of the files unless INCLUDE is given.
// - PARQUET takes no compression keyword (its row groups are compressed with Snappy); CSV and
//   JSON take GZIP, BZIP2 or ZSTD.
// - MAXFILESIZE is between 5 MB and 6.2 GB.
// - By default UNLOAD fails when objects are already under the prefix; ALLOWOVERWRITE replaces
//   files it writes again, CLEANPATH first removes what is under the prefix (the two are
//   exclusive).
import { quoteIdent, quoteRedshiftLiteral } from '../sql-quote.js';

export type UnloadFormat = 'parquet' | 'csv' | 'json';
export type UnloadCompression = 'none' | 'gzip' | 'bzip2' | 'zstd';

export interface UnloadSpec {
  /** The SELECT to unload, as wharf built it (may hold quotes and backslashes). No LIMIT in its outermost SELECT. */
  select: string;
  /** 's3://bucket/key-prefix': a staging prefix; file and manifest names are appended to it. */
  to: string;
  /** arn:aws:iam::<12-digit account>:role/<name>, one role. */
  iamRole: string;
  format: UnloadFormat;
  /** Columns of the SELECT's result; Hive-style folders `column=value/`, in this order. */
  partitionBy?: string[];
  /** Keep the partition columns in the files too (PARTITION BY … INCLUDE). */
  includePartitionColumns?: boolean;
  /** MAXFILESIZE in MB, 5 to 6200 (6.2 GB). */
  maxFileSizeMb?: number;
  /** CSV and JSON only; PARQUET is always Snappy-compressed by Redshift. */
  compression?: UnloadCompression;
  /** CSV only: a header line in each file. */
  header?: boolean;
  /** What happens to objects already under the prefix: fail (default), ALLOWOVERWRITE or CLEANPATH. */
  existing?: 'fail' | 'overwrite' | 'clean';
}

export interface UnloadManifestEntry {
  /** s3://bucket/key of one file UNLOAD wrote. */
  url: string;
  /** meta.record_count (MANIFEST VERBOSE). */
  rows?: number;
  /** meta.content_length: the file's size in bytes. */
  bytes?: number;
}

export interface UnloadManifest {
  entries: UnloadManifestEntry[];
  /** The whole unload's meta.record_count (MANIFEST VERBOSE). */
  rows?: number;
}

const IAM_ROLE = /^arn:aws(?:-cn|-us-gov)?:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
const S3_URL = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/;
/** MAXFILESIZE bounds, in MB (5 MB to 6.2 GB). */
export const MIN_FILE_SIZE_MB = 5;
export const MAX_FILE_SIZE_MB = 6200;
const COMPRESSION_KEYWORD: Record<Exclude<UnloadCompression, 'none'>, string> = {
  gzip: 'GZIP',
  bzip2: 'BZIP2',
  zstd: 'ZSTD',
};

/** The UNLOAD statement for `spec`; throws when the spec asks for something Redshift refuses. */
export function unloadSql(spec: UnloadSpec): string {
  const select = spec.select.trim();
  if (!select) throw new Error('unload: the SELECT is empty');
  if (!['parquet', 'csv', 'json'].includes(spec.format))
    throw new Error(`unload: unknown format ${spec.format}`);
  const to = S3_URL.exec(spec.to);
  if (!to) throw new Error(`unload: ${JSON.stringify(spec.to)} is not an s3://bucket/prefix URL`);
  if (/[\u0000-\u001f\u007f]/.test(spec.to))
    throw new Error('unload: the S3 prefix contains a control character');
  if (!IAM_ROLE.test(spec.iamRole))
    throw new Error(
      `unload: ${JSON.stringify(spec.iamRole)} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)`,
    );
  const lines = [
    `UNLOAD (${quoteRedshiftLiteral(select)})`,
    `TO ${quoteRedshiftLiteral(spec.to)}`,
    `IAM_ROLE ${quoteRedshiftLiteral(spec.iamRole)}`,
    `FORMAT AS ${spec.format.toUpperCase()}`,
  ];
  const partitionBy = spec.partitionBy ?? [];
  if (new Set(partitionBy).size !== partitionBy.length)
    throw new Error('unload: a partition column is repeated');
  if (partitionBy.length > 0)
    lines.push(
      `PARTITION BY (${partitionBy.map(quoteIdent).join(', ')})${spec.includePartitionColumns ? ' INCLUDE' : ''}`,
    );
  else if (spec.includePartitionColumns) throw new Error('unload: INCLUDE needs partition columns');
  if (spec.header) {
    if (spec.format !== 'csv') throw new Error('unload: HEADER is for CSV only');
    lines.push('HEADER');
  }
  const compression = spec.compression ?? 'none';
  if (compression !== 'none') {
    if (spec.format === 'parquet')
      throw new Error('unload: PARQUET takes no compression option (Redshift compresses it with Snappy)');
    lines.push(COMPRESSION_KEYWORD[compression]);
  }
  if (spec.maxFileSizeMb !== undefined) {
    const mb = spec.maxFileSizeMb;
    if (
      !Number.isFinite(mb) ||
      mb < MIN_FILE_SIZE_MB ||
      mb > MAX_FILE_SIZE_MB ||
      Math.round(mb * 10) !== mb * 10
    )
      throw new Error(
        `unload: MAXFILESIZE must be ${MIN_FILE_SIZE_MB} to ${MAX_FILE_SIZE_MB} MB (one decimal at most)`,
      );
    lines.push(`MAXFILESIZE ${mb} MB`);
  }
  lines.push('MANIFEST VERBOSE');
  if (spec.existing === 'overwrite') lines.push('ALLOWOVERWRITE');
  else if (spec.existing === 'clean') lines.push('CLEANPATH');
  return lines.join('\n');
}

/** The URL of the manifest an UNLOAD to `to` writes: the prefix followed by `manifest`. */
export function unloadManifestUrl(to: string): string {
  return `${to}manifest`;
}

/**
 * Reads an UNLOAD manifest: `entries[].url` with, under MANIFEST VERBOSE, `entries[].meta`
 * (`content_length`, `record_count`) and a top-level `meta.record_count`. Throws on anything
 * else, so a truncated or foreign file is not taken for an empty unload.
 */
export function parseUnloadManifest(json: string): UnloadManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (e) {
    throw new Error(`unload manifest is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!isObject(doc) || !Array.isArray(doc.entries)) throw new Error('unload manifest has no entries array');
  const entries = doc.entries.map((e, i): UnloadManifestEntry => {
    if (!isObject(e) || typeof e.url !== 'string' || !e.url.startsWith('s3://'))
      throw new Error(`unload manifest entry ${i} has no s3:// url`);
    const meta = e.meta === undefined ? {} : e.meta;
    if (!isObject(meta)) throw new Error(`unload manifest entry ${i}: meta is not an object`);
    const rows = count(meta.record_count, `entry ${i} meta.record_count`);
    const bytes = count(meta.content_length, `entry ${i} meta.content_length`);
    return { url: e.url, ...(rows !== undefined ? { rows } : {}), ...(bytes !== undefined ? { bytes } : {}) };
  });
  const meta = doc.meta === undefined ? {} : doc.meta;
  if (!isObject(meta)) throw new Error('unload manifest meta is not an object');
  const rows = count(meta.record_count, 'meta.record_count');
  if (rows !== undefined && entries.every((e) => e.rows !== undefined)) {
    const sum = entries.reduce((s, e) => s + e.rows!, 0);
    if (sum !== rows)
      throw new Error(`unload manifest: entries hold ${sum} records, meta.record_count says ${rows}`);
  }
  return { entries, ...(rows !== undefined ? { rows } : {}) };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function count(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new Error(`unload manifest: ${what} is not a count`);
  return v;
}
