// What an export needs to know once its source is described: the columns and the types they
// get in the files, the cursor and the partition column with their types, the checks of the
// vendor's conventions, and the SQL that reads the rows (with the partition each row goes to).
// Shared by the run, --dry-run and the plan; engine-neutral SQL that PostgreSQL runs.
import { foldIdent } from '../../plan/normalize.js';
import { quoteIdent as q, quoteLiteral } from '../../providers/sql-quote.js';
import type { RelationInfo } from '../catalog.js';
import type { SyncIssue } from '../check.js';
import { type ExportSyncConfig, parseLookback, splitTable } from '../config.js';
import { type ResolvedExport, resolveExport } from './config.js';
import { checkConventions, describeConvention } from './conventions.js';
import { ExportTypeError, fileExtension, fileTypes } from './format/index.js';

/** The hidden column the read adds after the source's: the period a row belongs to. */
export const PART_COL = 'wharf_part';

export interface ExportShape {
  sync: ExportSyncConfig;
  spec: ResolvedExport;
  /** The source's columns, in order: what each file holds. */
  columns: { name: string; type: string }[];
  /** The type each column gets in the files (for the plan). */
  fileTypes: { column: string; type: string }[];
  cursor?: { column: string; type: string; lookback?: { seconds: number } | { amount: number } };
  partition?: { column: string; type: string };
  /** The columns that identify a row version (primaryKey + cursor), or every column. */
  identity: string[];
  extension: string;
  /** The export's state key: `s3://bucket/prefix`. */
  target: string;
  issues: SyncIssue[];
}

const TIME_TYPES = new Set(['timestamp without time zone', 'timestamp with time zone', 'date']);

/** Describes and checks an export against its source's columns; issues of severity error stop a run. */
export function exportShape(sync: ExportSyncConfig, src: RelationInfo): ExportShape {
  const spec = resolveExport(sync.to, sync.ready);
  const issues: SyncIssue[] = [];
  const error = (message: string) => issues.push({ severity: 'error', message });
  const columns = src.columns.map((c) => ({ name: c.name, type: c.type }));
  const byName = new Map(columns.map((c) => [c.name, c]));
  if (!src.exists && sync.from.table) error(`source table ${sync.from.table} does not exist`);
  for (const c of columns)
    if (c.name === PART_COL)
      error(
        `the source has a column named ${c.name}, a name wharf keeps for itself: rename it in the sync's query`,
      );
  let cursor: ExportShape['cursor'];
  if (sync.cursor) {
    const name = foldIdent(sync.cursor.column);
    const c = byName.get(name);
    if (!c) error(`cursor column ${name} is not a column of the source`);
    else {
      const lookback = sync.cursor.lookback !== undefined ? parseLookback(sync.cursor.lookback) : undefined;
      cursor = { column: name, type: c.type, ...(lookback ? { lookback } : {}) };
      const numeric = /^(smallint|integer|bigint|numeric|real|double precision)/.test(c.type);
      if (!TIME_TYPES.has(c.type) && !numeric)
        error(`cursor column ${name} is ${c.type}: a cursor is a timestamp, a date or a number`);
      if (lookback && 'seconds' in lookback && numeric)
        error(`cursor column ${name} is a number, so its lookback is a number too (not a duration)`);
      if (spec.ready && !TIME_TYPES.has(c.type))
        error(
          `"ready" needs a cursor of date or timestamp type (to tell when a day is over), and ${name} is ${c.type}`,
        );
    }
  }
  let partition: ExportShape['partition'];
  if (spec.partition) {
    const c = byName.get(spec.partition.by);
    if (!c) error(`partition column ${spec.partition.by} is not a column of the source`);
    else if (!TIME_TYPES.has(c.type))
      error(`partition column ${c.name} is ${c.type}: partitions are cut from a date or a timestamp column`);
    else partition = { column: c.name, type: c.type };
  }
  const key = (sync.primaryKey ?? []).map(foldIdent);
  for (const k of key) if (!byName.has(k)) error(`primary key column ${k} is not a column of the source`);
  let types: ExportShape['fileTypes'] = [];
  try {
    types = fileTypes(spec.format, columns);
  } catch (e) {
    if (!(e instanceof ExportTypeError)) throw e;
    error(e.message);
  }
  if (spec.conventions) {
    for (const i of checkConventions(spec.conventions, columns, partition?.column))
      issues.push({
        severity: i.severity,
        message: `${spec.conventions} (${describeConvention(spec.conventions)}): ${i.message}`,
      });
  }
  const identity = key.length
    ? [...key, ...(cursor && !key.includes(cursor.column) ? [cursor.column] : [])]
    : columns.map((c) => c.name);
  return {
    sync,
    spec,
    columns,
    fileTypes: types,
    ...(cursor ? { cursor } : {}),
    ...(partition ? { partition } : {}),
    identity,
    extension: fileExtension(spec.format, spec.compression),
    target: `s3://${spec.bucket}/${spec.prefix}`,
    issues,
  };
}

/** The source relation: a quoted table, or the query in parentheses. */
export function exportRelation(sync: ExportSyncConfig): string {
  if (sync.from.query !== undefined) return `(\n${sync.from.query.trim().replace(/;\s*$/, '')}\n)`;
  const t = splitTable(sync.from.table!);
  return `${q(t.schema)}.${q(t.name)}`;
}

const PERIOD_FORMAT = { hour: 'YYYY-MM-DD HH24', day: 'YYYY-MM-DD', month: 'YYYY-MM' } as const;

/**
 * The period a row belongs to, as text, in the partition's time zone. A `timestamp` (without
 * time zone) is read as UTC, the convention of event tables; `timestamptz` is an instant; a
 * date is its own day.
 */
export function partitionExpr(shape: ExportShape, alias = 's'): string {
  const p = shape.partition!;
  const spec = shape.spec.partition!;
  const c = `${alias}.${q(p.column)}`;
  const tz = quoteLiteral(spec.timeZone);
  const fmt = quoteLiteral(PERIOD_FORMAT[spec.granularity]);
  if (p.type === 'date') return `to_char(${c}, ${fmt})`;
  if (p.type === 'timestamp with time zone') return `to_char(${c} AT TIME ZONE ${tz}, ${fmt})`;
  return `to_char((${c} AT TIME ZONE 'UTC') AT TIME ZONE ${tz}, ${fmt})`;
}

/** The folder (under the prefix) of a period, e.g. `2026-11-30/` or `date=2026-11-30/hour=13/`. */
export function partitionPath(shape: ExportShape, period: string | null): string {
  const spec = shape.spec.partition;
  if (!spec) return '';
  const hive = spec.style === 'hive';
  if (period === null)
    return hive
      ? `${spec.granularity === 'month' ? 'month' : 'date'}=__HIVE_DEFAULT_PARTITION__/`
      : '__null__/';
  if (spec.granularity === 'hour') {
    const [d, h] = period.split(' ');
    return hive ? `date=${d}/hour=${h}/` : `${d}/${h}/`;
  }
  return hive ? `${spec.granularity === 'month' ? 'month' : 'date'}=${period}/` : `${period}/`;
}

/** The date of a period (for readiness): its first 10 characters for day and hour. */
export function periodDate(period: string): string {
  return period.slice(0, 10);
}

/** `watermark - lookback` as the cursor's type. */
export function lowerBoundExpr(shape: ExportShape, watermark: string): string {
  const c = shape.cursor!;
  const w = `${quoteLiteral(watermark)}::${c.type}`;
  const lb = c.lookback;
  if (!lb) return w;
  if ('seconds' in lb) return lb.seconds > 0 ? `(${w} - interval '${lb.seconds} seconds')` : w;
  return lb.amount > 0 ? `(${w} - ${lb.amount})` : w;
}

/** md5 of the columns that identify a row version, as text. */
export function identityHash(shape: ExportShape, alias = 's'): string {
  return `md5(ROW(${shape.identity.map((c) => `${alias}.${q(c)}`).join(', ')})::text)`;
}

export const SEEN_TABLE = 'wharf_state.export_seen';

/**
 * The SELECT whose rows a run writes: the source's columns, then the period (when
 * partitioned) and the cursor as text. Append: rows at or above `watermark - lookback`;
 * those at or below the stored watermark that were written before (by identity, counted as a
 * multiset) are left out. Ordered by period so each period's files are written in one go.
 * No parameters: COPY takes none, so the state key is written as literals.
 */
export function exportSelect(shape: ExportShape, watermark: string | null): string {
  const rel = exportRelation(shape.sync);
  const cols = shape.columns.map((c) => `s.${q(c.name)}`);
  const extra = [...(shape.partition ? [`${partitionExpr(shape)} AS ${q(PART_COL)}`] : [])];
  const list = [...cols, ...extra].join(', ');
  const order = shape.partition ? `\n ORDER BY ${q(PART_COL)}` : '';
  if (!shape.cursor) return `SELECT ${list}\n  FROM ${rel} s${order}`;
  const c = `s.${q(shape.cursor.column)}`;
  if (watermark === null) return `SELECT ${list}\n  FROM ${rel} s\n WHERE ${c} IS NOT NULL${order}`;
  const w = `${quoteLiteral(watermark)}::${shape.cursor.type}`;
  const names = [
    ...shape.columns.map((x) => q(x.name)),
    ...extra.map((e) => e.slice(e.lastIndexOf(' AS ') + 4)),
  ];
  return `SELECT ${names.join(', ')} FROM (
  SELECT ${list}, ${identityHash(shape)} AS wharf_h,
         row_number() OVER (PARTITION BY ${identityHash(shape)}) AS wharf_n
    FROM ${rel} s
   WHERE ${c} >= ${lowerBoundExpr(shape, watermark)} AND ${c} <= ${w}
) x
 WHERE x.wharf_n > coalesce((SELECT e.n FROM ${SEEN_TABLE} e WHERE e.target = ${quoteLiteral(shape.target)} AND e.name = ${quoteLiteral(shape.sync.name)} AND e.h = x.wharf_h), 0)
UNION ALL
SELECT ${list}
  FROM ${rel} s
 WHERE ${c} > ${w}${order}`;
}
