// Bucket exports in a wharf file: a sync whose `to` names a bucket and a prefix writes the
// source's rows as files there (parquet, csv or jsonl), one folder per day (or hour, or month)
// in a time zone, and may signal the days whose files are complete (`ready`). This file holds
// their typed shape and the static rules; the runner is in run.ts, the file writers in format/.
import { durationProblem, parseDuration } from '../../config/duration.js';
import type { YamlPath } from '../../config/load.js';
import type { BucketConfig } from '../../config/types.js';
import { foldIdent } from '../../plan/normalize.js';

export type ExportFormatName = 'parquet' | 'csv' | 'jsonl';
export type ExportCompressionName = 'zstd' | 'snappy' | 'gzip' | 'none';
export type ExportConventionName =
  | 'statsig-events'
  | 'statsig-metrics'
  | 'toplyne-events'
  | 'toplyne-profiles';

export interface ExportPartition {
  /** A date or timestamp column of the source. */
  by: string;
  /** Default day. */
  granularity?: 'hour' | 'day' | 'month';
  /** IANA time zone the periods are cut in. Default UTC. */
  timeZone?: string;
  /** plain (default): `2026-11-30/`; hive: `date=2026-11-30/`. */
  style?: 'plain' | 'hive';
}

export interface ExportTarget {
  /** A bucket declared under `buckets:`; the files go to its connection. */
  bucket: string;
  /** Ends with `/`. */
  prefix: string;
  format?: ExportFormatName;
  compression?: ExportCompressionName;
  partition?: ExportPartition;
  conventions?: ExportConventionName;
  /** Most rows in one file (default 1,000,000). */
  fileRows?: number;
}

export interface ExportReady {
  /** Where the signal files go (ends with `/`), in the export's bucket. */
  prefix: string;
  /** The one column of the signal dataset. Default `finished_date`. */
  column?: string;
  /** A day is finished once the watermark is past its end plus this (default 0s). */
  after?: string;
}

export const DEFAULT_FILE_ROWS = 1_000_000;
export const DEFAULT_READY_COLUMN = 'finished_date';

/** The compressions each format takes, the first being its default. */
export const FORMAT_COMPRESSION: Record<ExportFormatName, readonly ExportCompressionName[]> = {
  parquet: ['zstd', 'snappy', 'none'],
  csv: ['none', 'gzip'],
  jsonl: ['none', 'gzip'],
};

/** The export's settings with their defaults filled in. */
export interface ResolvedExport {
  bucket: string;
  prefix: string;
  format: ExportFormatName;
  compression: ExportCompressionName;
  partition?: Required<ExportPartition>;
  conventions?: ExportConventionName;
  fileRows: number;
  ready?: { prefix: string; column: string; afterSeconds: number };
}

/** `events` and `events/` are the same folder. */
export function folderPrefix(prefix: string): string {
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}

export function resolveExport(to: ExportTarget, ready: ExportReady | undefined): ResolvedExport {
  const format = to.format ?? 'parquet';
  return {
    bucket: to.bucket,
    prefix: folderPrefix(to.prefix),
    format,
    compression: to.compression ?? FORMAT_COMPRESSION[format][0]!,
    ...(to.partition
      ? {
          partition: {
            by: foldIdent(to.partition.by),
            granularity: to.partition.granularity ?? 'day',
            timeZone: to.partition.timeZone ?? 'UTC',
            style: to.partition.style ?? 'plain',
          },
        }
      : {}),
    ...(to.conventions ? { conventions: to.conventions } : {}),
    fileRows: to.fileRows ?? DEFAULT_FILE_ROWS,
    ...(ready
      ? {
          ready: {
            prefix: folderPrefix(ready.prefix),
            column: foldIdent(ready.column ?? DEFAULT_READY_COLUMN),
            afterSeconds: (parseDuration(ready.after ?? '0') ?? 0) / 1000,
          },
        }
      : {}),
  };
}

let zones: Set<string> | undefined;
/** An IANA zone name this runtime knows (and so PostgreSQL's tz database does too). */
export function knownTimeZone(name: string): boolean {
  if (name === 'UTC') return true;
  zones ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (zones.has(name)) return true;
  try {
    // Aliases (e.g. US/Pacific) are not in the canonical list but are accepted by both.
    new Intl.DateTimeFormat('en', { timeZone: name });
    return /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(name);
  } catch {
    return false;
  }
}

type Report = (path: YamlPath, code: string, message: string) => void;

interface ExportSyncShape {
  name: string;
  mode: string;
  to: ExportTarget & { connection?: string; table?: string };
  ready?: ExportReady;
  cursor?: unknown;
  cdc?: unknown;
}

/**
 * Static rules of one bucket export (`syncs[i]` at `p`). `buckets`: the file's buckets with
 * the connection type each lives on (undefined when the bucket's connection is unknown).
 */
export function checkExportRules(
  s: ExportSyncShape,
  p: YamlPath,
  buckets: ReadonlyMap<string, { index: number; bucket: BucketConfig; connectionType?: string }>,
  err: Report,
): void {
  const name = s.name;
  const to = s.to;
  if (to.table !== undefined)
    err([...p, 'to', 'table'], 'sync', `sync ${name}: "to" takes a table or a bucket, not both`);
  if (to.connection !== undefined)
    err(
      [...p, 'to', 'connection'],
      'sync',
      `sync ${name}: a bucket export writes through the bucket's own connection; remove "to.connection" (set "connection" on bucket ${to.bucket} instead)`,
    );
  if (to.prefix === undefined)
    err(
      [...p, 'to'],
      'sync',
      `sync ${name}: a bucket export needs "prefix", the folder its files go under (e.g. events/)`,
    );
  else checkPrefix(to.prefix, [...p, 'to', 'prefix'], name, err);
  if (s.ready) checkPrefix(s.ready.prefix, [...p, 'ready', 'prefix'], name, err);
  const b = buckets.get(to.bucket);
  if (!b)
    err(
      [...p, 'to', 'bucket'],
      'unknown-reference',
      `sync ${name}: bucket "${to.bucket}" is not declared under buckets (declared: ${[...buckets.keys()].join(', ') || 'none'})`,
    );
  switch (s.mode) {
    case 'append':
      if (!s.cursor)
        err(p, 'sync', `sync ${name}: mode append needs "cursor" (e.g. cursor: { column: updated_at })`);
      break;
    case 'full':
      if (s.cursor)
        err(
          [...p, 'cursor'],
          'sync',
          `sync ${name}: mode full writes a whole snapshot and takes no "cursor"; use mode append for incremental files`,
        );
      if (s.ready)
        err(
          [...p, 'ready'],
          'sync',
          `sync ${name}: "ready" signals finished days of an incremental export; mode full marks each complete snapshot with its _SUCCESS object instead`,
        );
      break;
    case 'merge':
    case 'cdc':
      err(
        [...p, 'mode'],
        'sync',
        `sync ${name}: mode ${s.mode} updates and deletes rows in place, which files cannot do: use mode append (each row version is written once; the vendor keeps the latest per key) or mode full (a complete snapshot per run)`,
      );
      break;
  }
  if (s.cdc) err([...p, 'cdc'], 'sync', `sync ${name}: "cdc" applies to table syncs in mode cdc only`);
  const format = to.format ?? 'parquet';
  if (to.compression && !FORMAT_COMPRESSION[format].includes(to.compression))
    err(
      [...p, 'to', 'compression'],
      'sync',
      `sync ${name}: ${format} files take compression ${FORMAT_COMPRESSION[format].join(', ')}, not ${to.compression}`,
    );
  const part = to.partition;
  if (part?.timeZone !== undefined && !knownTimeZone(part.timeZone))
    err(
      [...p, 'to', 'partition', 'timeZone'],
      'sync',
      `sync ${name}: "${part.timeZone}" is not an IANA time zone (e.g. UTC, America/Los_Angeles, Europe/Berlin)`,
    );
  const ready = s.ready;
  if (ready) {
    if (!part)
      err(
        [...p, 'ready'],
        'sync',
        `sync ${name}: "ready" signals finished days, so the export needs "to.partition" by a date or timestamp column with granularity day`,
      );
    else if ((part.granularity ?? 'day') !== 'day')
      err(
        [...p, 'to', 'partition', 'granularity'],
        'sync',
        `sync ${name}: "ready" signals finished days, so the partition granularity must be day (not ${part.granularity})`,
      );
    if (ready.after !== undefined && parseDuration(ready.after) === undefined)
      err([...p, 'ready', 'after'], 'sync', `sync ${name}: after ${durationProblem(ready.after)}`);
    const data = to.prefix !== undefined ? folderPrefix(to.prefix) : undefined;
    const signals = folderPrefix(ready.prefix);
    if (data !== undefined && (signals.startsWith(data) || data.startsWith(signals)))
      err(
        [...p, 'ready', 'prefix'],
        'sync',
        `sync ${name}: the signal prefix ${ready.prefix} overlaps the data prefix ${to.prefix}; a reader of either would see the other's files (e.g. use signals/ and events/)`,
      );
  }
}

/** A prefix is a folder path: no empty, `.` or `..` segment (S3 keeps them literally; a folder would not). */
function checkPrefix(prefix: string, path: YamlPath, name: string, err: Report): void {
  const segments = folderPrefix(prefix).slice(0, -1).split('/');
  if (segments.some((x) => x === '' || x === '.' || x === '..'))
    err(
      path,
      'sync',
      `sync ${name}: prefix ${JSON.stringify(prefix)} has an empty, "." or ".." folder; write a plain path such as events/ or vendor/events/`,
    );
}

/** Two exports writing into overlapping prefixes of one bucket would remove each other's files. */
export function checkExportOverlaps(
  exports: readonly { index: number; name: string; bucket: string; prefixes: readonly string[] }[],
  err: Report,
): void {
  for (let i = 0; i < exports.length; i++)
    for (let j = 0; j < i; j++) {
      const a = exports[i]!;
      const b = exports[j]!;
      if (a.bucket !== b.bucket) continue;
      const clash = a.prefixes.find((x) => b.prefixes.some((y) => x.startsWith(y) || y.startsWith(x)));
      if (clash)
        err(
          ['syncs', a.index, 'to', 'prefix'],
          'sync',
          `sync ${a.name}: prefix ${clash} in bucket ${a.bucket} overlaps sync ${b.name}'s (syncs[${b.index}]); give each export its own folder`,
        );
    }
}
