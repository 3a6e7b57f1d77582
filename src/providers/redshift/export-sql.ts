// The SQL of a bucket export from Redshift (pure: the export's shape and state in, statements
// out); the runner is export.ts. The state lives in the same three wharf_state tables as on
// PostgreSQL (src/sync/export/state.ts), in Redshift types, with differences: export_seen
// rows carry the run that wrote them, so the identities a run reads in the UNLOAD's snapshot
// can be stored with it and only count once that run commits; export_state also holds the
// latest run number claimed (`claimed_run`) and the committed run whose files still owe their
// copies from staging (`copies_pending`). Redshift has no advisory lock, so two runs of one
// export are kept apart by their claimed numbers instead:
//
//   the claim (one transaction), which also reads the state:
//     LOCK export_state; the state row made if missing
//     claimed_run <- greatest(run, claimed_run) + 1   this attempt's number r, never reused
//     the state, the first period, the files
//   the UNLOAD batch (one transaction, one snapshot):
//     LOCK export_seen                  UNLOADs of this database take turns to read it
//     DELETE export_seen of runs below r but the committed one (older attempts')
//     wharf_w   <- the new watermark    greatest(stored, highest cursor at or above the bound)
//     UNLOAD (the rows not yet written) to r's staging prefix, one folder per period
//     INSERT export_seen (run r)        identities inside the next lookback window
//     SELECT the watermark
//   the commit batch (one transaction): the files, the seen identities, the state row with
//     copies_pending = r; every write only when the committed run is still the one the claim
//     read and r is still the latest claim (a newer attempt makes this one commit nothing).
//   after the copies to the files' names: copies_pending cleared.
import type { ColumnInfo } from '../../sync/catalog.js';
import type { ExportShape } from '../../sync/export/shape.js';
import { PART_COL } from '../../sync/export/shape.js';
import type { ExportState } from '../../sync/export/state.js';
import { EXPORT_FILES, EXPORT_SEEN, EXPORT_STATE } from '../../sync/export/state.js';
import { quoteIdent as q } from '../sql-quote.js';
import { fingerprint, redshiftLiteral as lit } from './sync-sql.js';

/** The export state tables in Redshift types (IF NOT EXISTS: a second creator finds them). */
export const REDSHIFT_EXPORT_DDL = [
  'CREATE SCHEMA IF NOT EXISTS wharf_state',
  `CREATE TABLE IF NOT EXISTS ${EXPORT_STATE} ("target" VARCHAR(1024) NOT NULL, "name" VARCHAR(256) NOT NULL, "mode" VARCHAR(16) NOT NULL, "run" BIGINT NOT NULL DEFAULT 0, "watermark" VARCHAR(256), "signalled_through" VARCHAR(10), "signal_pending" VARCHAR(10), "supersede_pending" BOOLEAN NOT NULL DEFAULT false, "rows_written" BIGINT NOT NULL DEFAULT 0, "claimed_run" BIGINT NOT NULL DEFAULT 0, "copies_pending" BIGINT, "updated_at" TIMESTAMP NOT NULL DEFAULT GETDATE(), PRIMARY KEY ("target", "name"))`,
  `CREATE TABLE IF NOT EXISTS ${EXPORT_FILES} ("target" VARCHAR(1024) NOT NULL, "name" VARCHAR(256) NOT NULL, "run" BIGINT NOT NULL, "key" VARCHAR(1024) NOT NULL, "period" VARCHAR(32), "rows" BIGINT NOT NULL, "bytes" BIGINT NOT NULL, "md5" VARCHAR(32) NOT NULL, "written_at" TIMESTAMP NOT NULL DEFAULT GETDATE(), PRIMARY KEY ("target", "name", "key"))`,
  `CREATE TABLE IF NOT EXISTS ${EXPORT_SEEN} ("target" VARCHAR(1024) NOT NULL, "name" VARCHAR(256) NOT NULL, "run" BIGINT NOT NULL, "h" VARCHAR(32) NOT NULL, "n" BIGINT NOT NULL, PRIMARY KEY ("target", "name", "run", "h"))`,
];

const PERIOD_FORMAT = { hour: 'YYYY-MM-DD HH24', day: 'YYYY-MM-DD', month: 'YYYY-MM' } as const;

/** `target = … AND name = …` of this export. */
export function exportWhere(shape: ExportShape, alias?: string): string {
  const a = alias ? `${alias}.` : '';
  return `${a}"target" = ${lit(shape.target)} AND ${a}"name" = ${lit(shape.sync.name)}`;
}

/**
 * The period of a row as text, in the partition's time zone, in Redshift SQL: a `timestamp`
 * is read as UTC and converted with CONVERT_TIMEZONE (which follows daylight saving time,
 * https://docs.aws.amazon.com/redshift/latest/dg/CONVERT_TIMEZONE.html), a `timestamptz` is
 * an instant, a date is its own day; then TO_CHAR. The same periods as partitionExpr (shape.ts).
 */
export function redshiftPartitionExpr(shape: ExportShape, alias = 's'): string {
  const p = shape.partition!;
  const spec = shape.spec.partition!;
  const c = `${alias}.${q(p.column)}`;
  const fmt = lit(PERIOD_FORMAT[spec.granularity]);
  if (p.type === 'date') return `TO_CHAR(${c}, ${fmt})`;
  if (p.type === 'timestamp with time zone')
    return `TO_CHAR(CONVERT_TIMEZONE(${lit(spec.timeZone)}, ${c}), ${fmt})`;
  return `TO_CHAR(CONVERT_TIMEZONE('UTC', ${lit(spec.timeZone)}, ${c}), ${fmt})`;
}

/** MD5 of the identity columns (NULL-safe, delimited: sync-sql.ts's fingerprint). */
export function redshiftIdentityHash(shape: ExportShape, alias = 's'): string {
  const byName = new Map(shape.columns.map((c) => [c.name, c]));
  const cols: ColumnInfo[] = shape.identity.map((name) => {
    const type = byName.get(name)!.type;
    return { name, type, category: /^boolean$/i.test(type) ? 'B' : 'S', notNull: false };
  });
  return fingerprint(alias, cols);
}

/** `bound - lookback` where `bound` is an expression of the cursor's type. */
function minusLookback(shape: ExportShape, bound: string): string {
  const lb = shape.cursor!.lookback;
  if (!lb) return bound;
  if ('seconds' in lb) return lb.seconds > 0 ? `(${bound} - INTERVAL '${lb.seconds} seconds')` : bound;
  return lb.amount > 0 ? `(${bound} - ${lb.amount})` : bound;
}

function typed(shape: ExportShape, value: string): string {
  return `${lit(value)}::${shape.cursor!.type}`;
}

/**
 * The SELECT an UNLOAD writes: the source's columns, then the period as `wharf_part` (the
 * PARTITION BY column, left out of the files). `watermark` null: every row (with a cursor,
 * every row that has one). Otherwise the rows above it, and those from `watermark - lookback`
 * up to it that the committed run `run` has not counted as written (by identity, as a multiset).
 */
export function unloadSelect(
  shape: ExportShape,
  relation: string,
  watermark: string | null,
  run: number,
): string {
  const cols = shape.columns.map((c) => `s.${q(c.name)}`);
  const part = shape.partition ? [`${redshiftPartitionExpr(shape)} AS ${q(PART_COL)}`] : [];
  const list = [...cols, ...part].join(', ');
  if (!shape.cursor) return `SELECT ${list} FROM ${relation} s`;
  const c = `s.${q(shape.cursor.column)}`;
  if (watermark === null) return `SELECT ${list} FROM ${relation} s WHERE ${c} IS NOT NULL`;
  const w = typed(shape, watermark);
  const outer = [
    ...shape.columns.map((x) => `x.${q(x.name)}`),
    ...(shape.partition ? [`x.${q(PART_COL)}`] : []),
  ];
  const h = redshiftIdentityHash(shape);
  return `SELECT ${outer.join(', ')} FROM (SELECT ${list}, ${h} AS "wharf_h", ROW_NUMBER() OVER (PARTITION BY ${h}) AS "wharf_n" FROM ${relation} s WHERE ${c} >= ${minusLookback(shape, w)} AND ${c} <= ${w}) x LEFT JOIN ${EXPORT_SEEN} e ON ${exportWhere(shape, 'e')} AND e."run" = ${run} AND e."h" = x."wharf_h" WHERE x."wharf_n" > COALESCE(e."n", 0) UNION ALL SELECT ${list} FROM ${relation} s WHERE ${c} > ${w}`;
}

/**
 * The statements around the UNLOAD of run `run` (the claimed number), in one batch;
 * `resultIndex`: the watermark row (cursor only). It locks export_seen alone, so a claim by
 * another run is not held up by a long UNLOAD.
 */
export function unloadBatch(
  shape: ExportShape,
  relation: string,
  unload: string,
  watermark: string | null,
  committedRun: number,
  run: number,
): { sqls: string[]; resultIndex: number } {
  const sqls = [
    `LOCK ${EXPORT_SEEN}`,
    `DELETE FROM ${EXPORT_SEEN} WHERE ${exportWhere(shape)} AND "run" < ${run} AND "run" <> ${committedRun}`,
  ];
  if (!shape.cursor) {
    sqls.push(unload);
    return { sqls, resultIndex: -1 };
  }
  const c = `s.${q(shape.cursor.column)}`;
  const max =
    watermark === null
      ? `SELECT MAX(${c}) AS "w" FROM ${relation} s`
      : `SELECT CASE WHEN m."m" IS NULL OR m."m" < ${typed(shape, watermark)} THEN ${typed(shape, watermark)} ELSE m."m" END AS "w" FROM (SELECT MAX(${c}) AS "m" FROM ${relation} s WHERE ${c} >= ${minusLookback(shape, typed(shape, watermark))}) m`;
  sqls.push(`CREATE TEMP TABLE "wharf_w" AS ${max}`);
  sqls.push(unload);
  sqls.push(
    `INSERT INTO ${EXPORT_SEEN} ("target", "name", "run", "h", "n") SELECT ${lit(shape.target)}, ${lit(shape.sync.name)}, ${run}, x."h", COUNT(*) FROM (SELECT ${redshiftIdentityHash(shape)} AS "h" FROM ${relation} s CROSS JOIN "wharf_w" w WHERE ${c} >= ${minusLookback(shape, 'w."w"')} AND ${c} <= w."w") x GROUP BY x."h"`,
  );
  const resultIndex = sqls.length;
  sqls.push(`SELECT "w"::VARCHAR(256) AS "watermark" FROM "wharf_w"`, `DROP TABLE "wharf_w"`);
  return { sqls, resultIndex };
}

/**
 * The state row of an export (made by the claim, so it exists), updated under `cond`;
 * `copiesPending`: also sets (a run number) or clears (null) the copies owed.
 */
export function stateUpdate(
  shape: ExportShape,
  s: ExportState,
  cond = '',
  copiesPending?: number | null,
): string {
  const v = (x: string | null) => (x === null ? 'NULL' : lit(x));
  const copies =
    copiesPending === undefined
      ? ''
      : `, "copies_pending" = ${copiesPending === null ? 'NULL' : copiesPending}`;
  return `UPDATE ${EXPORT_STATE} SET "mode" = ${lit(shape.sync.mode)}, "run" = ${s.run}, "watermark" = ${v(s.watermark)}, "signalled_through" = ${v(s.signalledThrough)}, "signal_pending" = ${v(s.signalPending)}, "supersede_pending" = ${s.supersedePending}, "rows_written" = ${s.rowsWritten}${copies}, "updated_at" = GETDATE() WHERE ${exportWhere(shape)}${cond ? ` AND ${cond}` : ''}`;
}

/** A save of the shared follow-up steps: only while `s.run` is still the committed run. */
export function followUpSave(shape: ExportShape, s: ExportState, forgetBefore?: number): string[] {
  return [
    `LOCK ${EXPORT_STATE}`,
    ...(forgetBefore !== undefined
      ? [`DELETE FROM ${EXPORT_FILES} WHERE ${exportWhere(shape)} AND "run" < ${forgetBefore}`]
      : []),
    stateUpdate(shape, s, `"run" = ${s.run}`),
  ];
}

/** Run `run`'s files are all at their names: its copies are no longer owed. */
export function copiesDone(shape: ExportShape, run: number): string[] {
  return [
    `LOCK ${EXPORT_STATE}`,
    `UPDATE ${EXPORT_STATE} SET "copies_pending" = NULL WHERE ${exportWhere(shape)} AND "run" = ${run} AND "copies_pending" = ${run}`,
  ];
}

/** The latest claimed run and the copies owed, read alone (when a run finds its staging gone). */
export function claimRead(shape: ExportShape): string {
  return `SELECT "claimed_run", "copies_pending" FROM ${EXPORT_STATE} WHERE ${exportWhere(shape)}`;
}

export interface RedshiftFileRecord {
  key: string;
  period: string | null;
  rows: number;
  bytes: number;
}

const FILES_PER_INSERT = 200;

/**
 * The commit of claimed run `next.run`: the files, the seen identities of the run, the state
 * row (with the copies owed when there are files); all under the check that the committed run
 * is still `committedRun` and no newer run has claimed a number since. `resultIndex`: the row
 * saying whether it committed.
 */
export function commitBatch(
  shape: ExportShape,
  committedRun: number,
  next: ExportState,
  files: readonly RedshiftFileRecord[],
): { sqls: string[]; resultIndex: number } {
  const ok = 'EXISTS (SELECT 1 FROM "wharf_ok" WHERE "ok")';
  const sqls = [
    `LOCK ${EXPORT_STATE}`,
    `LOCK ${EXPORT_SEEN}`,
    `CREATE TEMP TABLE "wharf_ok" AS SELECT COUNT(*) = 1 AS "ok" FROM ${EXPORT_STATE} WHERE ${exportWhere(shape)} AND "run" = ${committedRun} AND "claimed_run" = ${next.run}`,
  ];
  for (let i = 0; i < files.length; i += FILES_PER_INSERT) {
    const rows = files
      .slice(i, i + FILES_PER_INSERT)
      .map(
        (f) =>
          `SELECT ${lit(shape.target)}, ${lit(shape.sync.name)}, ${next.run}, ${lit(f.key)}, ${f.period === null ? 'NULL' : lit(f.period)}, ${f.rows}, ${f.bytes}, '' FROM "wharf_ok" WHERE "ok"`,
      );
    sqls.push(
      `INSERT INTO ${EXPORT_FILES} ("target", "name", "run", "key", "period", "rows", "bytes", "md5") ${rows.join(' UNION ALL ')}`,
    );
  }
  sqls.push(`DELETE FROM ${EXPORT_SEEN} WHERE ${exportWhere(shape)} AND "run" < ${next.run} AND ${ok}`);
  sqls.push(stateUpdate(shape, next, ok, files.length ? next.run : null));
  const resultIndex = sqls.length;
  sqls.push('SELECT "ok" FROM "wharf_ok"', 'DROP TABLE "wharf_ok"');
  return { sqls, resultIndex };
}

/** The stored state, the first period written, and (when a snapshot may be replaced) the committed files. */
export function stateReadStatements(shape: ExportShape, withFiles: boolean): string[] {
  return [
    `SELECT "run", "watermark", "signalled_through", "signal_pending", "supersede_pending", "rows_written", "claimed_run", "copies_pending" FROM ${EXPORT_STATE} WHERE ${exportWhere(shape)}`,
    `SELECT MIN("period") AS "p" FROM ${EXPORT_FILES} WHERE ${exportWhere(shape)} AND "period" IS NOT NULL`,
    `SELECT "key", "run", "rows" FROM ${EXPORT_FILES} WHERE ${exportWhere(shape)} AND (${withFiles} OR EXISTS (SELECT 1 FROM ${EXPORT_STATE} WHERE ${exportWhere(shape)} AND "supersede_pending")) ORDER BY "key"`,
  ];
}

/**
 * A run's claim of its number, then the state read as stateReadStatements (from index
 * CLAIM_READ_AT): the state row made if missing, `claimed_run` moved past every run committed
 * or claimed before.
 */
export function claimStatements(shape: ExportShape, withFiles: boolean): string[] {
  return [
    `LOCK ${EXPORT_STATE}`,
    `INSERT INTO ${EXPORT_STATE} ("target", "name", "mode") SELECT ${lit(shape.target)}, ${lit(shape.sync.name)}, ${lit(shape.sync.mode)} WHERE NOT EXISTS (SELECT 1 FROM ${EXPORT_STATE} WHERE ${exportWhere(shape)})`,
    `UPDATE ${EXPORT_STATE} SET "claimed_run" = GREATEST("run", "claimed_run") + 1 WHERE ${exportWhere(shape)}`,
    ...stateReadStatements(shape, withFiles),
  ];
}
export const CLAIM_READ_AT = 3;

/** --dry-run: rows per period of the UNLOAD's SELECT, in one statement. */
export function dryRunCount(shape: ExportShape, select: string): string {
  return shape.partition
    ? `SELECT x.${q(PART_COL)} AS "p", COUNT(*) AS "n" FROM (${select}) x GROUP BY 1 ORDER BY 1`
    : `SELECT NULL::VARCHAR(32) AS "p", COUNT(*) AS "n" FROM (${select}) x`;
}
