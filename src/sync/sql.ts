// The SQL of a sync run on PostgreSQL, compiled from a description of the sync (pure: shape
// in, text out). Each incremental statement reads the source rows once, in one snapshot, and
// returns one row: rows inserted / updated / deleted, rows read, and the highest cursor value
// read, so that the caller commits the new watermark in the same transaction as the data.
import { quoteIdent, quoteLiteral, quoteQualified } from '../providers/sql-quote.js';
import type { SyncMode } from './config.js';

export interface SyncShape {
  mode: SyncMode;
  target: { schema: string; name: string };
  /** Destination columns the sync writes (all of the destination's columns). */
  columns: string[];
  /** Key columns (merge, cdc; append when declared). */
  key: string[];
  /** The incremental cursor: its column in the source and its type (`format_type`). */
  cursor?: { column: string; type: string };
  lookback?: { seconds: number } | { amount: number };
  /** The source holds one row per key (its primary key is the sync's key): no de-duplication needed. */
  sourceUniqueKey?: boolean;
  /** The engine runs MERGE … RETURNING merge_action() inside WITH (PostgreSQL 17+). */
  mergeReturning?: boolean;
  /**
   * The engine has MERGE but no RETURNING for it (PostgreSQL 15 and 16): merge from a source
   * keyed like the sync runs as a plain MERGE between two small statements (mergeStatements).
   */
  mergePlain?: boolean;
  cdc?: {
    op: string;
    sequence: string;
    insert: string;
    update: string;
    delete: string;
    /** Per-key table of the last applied sequence (tombstones included). */
    keysTable: { schema: string; name: string };
  };
}

/** The cursor as projected by `readList` (cdc reads it under an alias). */
export const CDC_OP = '_wharf_op';
export const CDC_SEQ = '_wharf_seq';
export const CDC_CUR = '_wharf_cur';

const q = quoteIdent;

/** Column `c` of alias `a`. */
export const col = (a: string, c: string) => `${a}.${q(c)}`;

/** `a.k1 = b.k1 AND …` over the sync's key. */
export function keyEq(shape: SyncShape, a: string, b: string): string {
  return shape.key.map((k) => `${col(a, k)} = ${col(b, k)}`).join(' AND ');
}

/** The names the statements of one sync share. */
function partsOf(shape: SyncShape) {
  return {
    T: quoteQualified(shape.target.schema, shape.target.name),
    cols: shape.columns.map(q).join(', '),
    srcCols: shape.columns.map((c) => col('src', c)).join(', '),
    cur: q(cursorName(shape)),
    keyEq: (a: string, b: string) => keyEq(shape, a, b),
    keyList: (a: string) => shape.key.map((k) => col(a, k)).join(', '),
    nonKey: shape.columns.filter((c) => !shape.key.includes(c)),
  };
}

/**
 * One row per key: the latest cursor (merge) or sequence (cdc), ties broken by the row's hash
 * so that every run picks the same row.
 */
function latestCte(shape: SyncShape): string {
  const { keyList, srcCols, cur } = partsOf(shape);
  return shape.mode === 'cdc'
    ? `latest AS (\n  SELECT DISTINCT ON (${keyList('src')}) src.*\n    FROM src\n   ORDER BY ${keyList('src')}, src.${q(CDC_SEQ)} DESC, md5(ROW(src.*)::text) DESC\n)`
    : `latest AS (\n  SELECT DISTINCT ON (${keyList('src')}) ${srcCols}\n    FROM src\n   ORDER BY ${keyList('src')}, src.${cur} DESC, md5(ROW(${srcCols})::text) DESC\n)`;
}

/** Destination row `d` differs from row `l` outside the key (NULL-safe). */
function differs(shape: SyncShape): string {
  const { nonKey } = partsOf(shape);
  return `ROW(${nonKey.map((c) => col('d', c)).join(', ')}) IS DISTINCT FROM ROW(${nonKey.map((c) => col('l', c)).join(', ')})`;
}

/** cdc change rows whose op is none of the declared values (or NULL). */
function badOpsCount(shape: SyncShape): string {
  const c = shape.cdc!;
  const ops = [c.insert, c.update, c.delete].map(quoteLiteral).join(', ');
  return `(SELECT count(*) FROM src WHERE src.${q(CDC_OP)} IS NULL OR src.${q(CDC_OP)}::text NOT IN (${ops}))`;
}

/** The one row every incremental statement returns (see applyStatement). */
function resultRow(
  shape: SyncShape,
  ctes: string[],
  r: { inserted: string; updated: string; deleted: string },
): string {
  const { cur } = partsOf(shape);
  const highSeq = shape.cdc ? `(SELECT max(src.${q(CDC_SEQ)})::text FROM src)` : 'NULL';
  const badOps = shape.cdc ? badOpsCount(shape) : '0';
  const stale = ctes.some((c) => c.startsWith('stale AS'));
  return `WITH ${ctes.join(',\n')}\nSELECT ${r.inserted} AS inserted, ${r.updated} AS updated, ${r.deleted} AS deleted,\n       (SELECT count(*) FROM src) AS read, (SELECT max(src.${cur})::text FROM src) AS high,\n       ${highSeq} AS high_seq, ${badOps} AS bad_ops, ${keptColumns(shape, stale)}`;
}

/** How many keys a run names when it keeps destination rows (see staleCte). */
export const KEPT_KEYS_SHOWN = 5;

/** The `kept` and `kept_keys` columns of the result row, from the `stale` CTE when there is one. */
function keptColumns(shape: SyncShape, stale: boolean): string {
  if (!stale) return '0 AS kept, NULL::text[] AS kept_keys';
  return `(SELECT count(*) FROM stale) AS kept,\n       (SELECT array_agg(z.k ORDER BY z.k) FROM (SELECT ${keyText(shape, 'x')} AS k FROM stale x ORDER BY 1 LIMIT ${KEPT_KEYS_SHOWN}) z) AS kept_keys`;
}

/** A key as text: the value of a one-column key, `(a,b)` for several. */
function keyText(shape: SyncShape, a: string): string {
  return shape.key.length === 1
    ? `${col(a, shape.key[0]!)}::text`
    : `ROW(${shape.key.map((k) => col(a, k)).join(', ')})::text`;
}

/**
 * merge: the keys of rows read whose destination copy has a later cursor. merge keeps those
 * copies (latest cursor wins), so the source's row went backwards: a transaction committed an
 * older cursor after a newer copy was loaded. Only rows below the stored watermark can be such
 * rows (every destination row's cursor is at most the watermark), so the check joins just the
 * re-read window (lookback, the inclusive bound) with the destination, not every row read.
 */
function staleCte(shape: SyncShape, rel: string, watermark: string | null, T: string): string | undefined {
  if (shape.mode !== 'merge' || watermark === null) return undefined;
  const w = `${quoteLiteral(watermark)}::${shape.cursor!.type}`;
  const lCur = col('l', shape.cursor!.column);
  return `stale AS (\n  SELECT ${shape.key.map((k) => col('l', k)).join(', ')} FROM ${rel} l JOIN ${T} d ON ${keyEq(shape, 'd', 'l')}\n   WHERE ${lCur} < ${w} AND ${col('d', shape.cursor!.column)} > ${lCur}\n)`;
}

/** The cursor's name in the rows read (`readList`). */
export function cursorName(shape: SyncShape): string {
  return shape.mode === 'cdc' ? CDC_CUR : shape.cursor!.column;
}

/** Names of the columns read from the source, in order (the staging table's columns). */
export function readNames(shape: SyncShape): string[] {
  if (shape.mode !== 'cdc') return [...shape.columns];
  return [...shape.columns, CDC_OP, CDC_SEQ, CDC_CUR];
}

/** The select list that reads the source (alias `s`). */
export function readList(shape: SyncShape): string {
  const cols = shape.columns.map((c) => col('s', c));
  if (shape.mode === 'cdc') {
    const c = shape.cdc!;
    cols.push(
      `${col('s', c.op)} AS ${q(CDC_OP)}`,
      `${col('s', c.sequence)} AS ${q(CDC_SEQ)}`,
      `${col('s', shape.cursor!.column)} AS ${q(CDC_CUR)}`,
    );
  }
  return cols.join(', ');
}

/** How a string becomes a literal in the engine that runs the query (Redshift: redshiftLiteral). */
export type LiteralOf = (value: string) => string;

/** `watermark - lookback`, typed like the cursor; the lowest cursor value a run reads. */
export function lowerBound(shape: SyncShape, watermark: string, lit: LiteralOf = quoteLiteral): string {
  const w = `${lit(watermark)}::${shape.cursor!.type}`;
  const lb = shape.lookback;
  if (!lb) return w;
  if ('seconds' in lb) return lb.seconds > 0 ? `(${w} - interval '${lb.seconds} seconds')` : w;
  return lb.amount > 0 ? `(${w} - ${lb.amount})` : w;
}

/** The source rows a run reads: not-null cursor at or above the lower bound (inclusive). */
export function readFilter(
  shape: SyncShape,
  watermark: string | null,
  alias = 's',
  lit: LiteralOf = quoteLiteral,
): string {
  const c = col(alias, shape.cursor!.column);
  if (watermark === null) return `${c} IS NOT NULL`;
  return `${c} >= ${lowerBound(shape, watermark, lit)}`;
}

/** SELECT of the rows to read from `relation` (a quoted table or a parenthesized query). */
export function readQuery(
  shape: SyncShape,
  relation: string,
  watermark: string | null,
  opts: { upTo?: string | null; above?: string | null; ordered?: boolean; literal?: LiteralOf } = {},
): string {
  const lit = opts.literal ?? quoteLiteral;
  let where = readFilter(shape, watermark, 's', lit);
  const c = col('s', shape.cursor!.column);
  const typed = (v: string) => `${lit(v)}::${shape.cursor!.type}`;
  if (opts.upTo != null) where += ` AND ${c} <= ${typed(opts.upTo)}`;
  if (opts.above != null) where += ` AND ${c} > ${typed(opts.above)}`;
  return `SELECT ${readList(shape)}\n  FROM ${relation} s\n WHERE ${where}${opts.ordered ? `\n ORDER BY ${c}` : ''}`;
}

/** The relation text of a source: a quoted table, or the query in parentheses. */
export function sourceRelation(from: { table?: string; query?: string }): string {
  // The query was parsed as exactly one SELECT; the line breaks keep a trailing `--` comment
  // from swallowing the closing parenthesis.
  if (from.query !== undefined) return `(\n${from.query.trim().replace(/;\s*$/, '')}\n)`;
  const [schema, name] = from.table!.split('.');
  return quoteQualified(schema!.toLowerCase(), name!.toLowerCase());
}

/**
 * One statement that applies the rows `src` (a SELECT yielding `readNames` columns) to the
 * destination, for append, merge and cdc. `watermark` is the one stored before the run:
 * append without a key de-duplicates only the rows at or below it (anything above was never
 * loaded), as a multiset, so identical rows keep their multiplicity.
 * Returns columns inserted, updated, deleted, read, high (max cursor, text), high_seq (cdc:
 * max sequence, text), bad_ops (cdc: rows whose op is none of the declared values).
 */
export function applyStatement(shape: SyncShape, src: string, watermark: string | null): string {
  const { T, cols, srcCols, cur, keyEq, keyList, nonKey } = partsOf(shape);
  const ctes: string[] = [`src AS MATERIALIZED (\n${indent(src)}\n)`];
  let inserted = '(SELECT count(*) FROM ins)';
  let updated = '0';
  let deleted = '0';
  switch (shape.mode) {
    case 'append': {
      if (shape.key.length > 0) {
        ctes.push(
          `ins AS (\n  INSERT INTO ${T} (${cols})\n  SELECT DISTINCT ON (${keyList('src')}) ${srcCols}\n    FROM src\n   WHERE NOT EXISTS (SELECT 1 FROM ${T} d WHERE ${keyEq('d', 'src')})\n   ORDER BY ${keyList('src')}, src.${cur} DESC\n  RETURNING 1\n)`,
        );
      } else if (watermark === null) {
        ctes.push(`ins AS (\n  INSERT INTO ${T} (${cols})\n  SELECT ${srcCols} FROM src\n  RETURNING 1\n)`);
      } else {
        const w = `${quoteLiteral(watermark)}::${shape.cursor!.type}`;
        const dCur = col('d', shape.cursor!.column);
        const dCols = shape.columns.map((c) => col('d', c)).join(', ');
        ctes.push(
          `ins AS (\n  INSERT INTO ${T} (${cols})\n  SELECT ${srcCols} FROM src WHERE src.${cur} > ${w}\n  UNION ALL\n  (SELECT ${srcCols} FROM src WHERE src.${cur} <= ${w}\n   EXCEPT ALL\n   SELECT ${dCols} FROM ${T} d WHERE ${dCur} >= ${lowerBound(shape, watermark)} AND ${dCur} <= ${w})\n  RETURNING 1\n)`,
        );
      }
      break;
    }
    case 'merge': {
      // One row per key (latestCte), skipped when the source's own key guarantees it.
      let rel = 'src';
      if (!shape.sourceUniqueKey) {
        rel = 'latest';
        ctes.push(latestCte(shape));
      }
      // An existing row is replaced only by a row with the same or a later cursor, and only if
      // it differs: re-reading a window (lookback, the inclusive bound) rewrites nothing.
      const dCur = col('d', shape.cursor!.column);
      const lCur = col('l', shape.cursor!.column);
      const changed = differs(shape);
      const set = nonKey.map((c) => `${q(c)} = ${col('l', c)}`).join(', ');
      const values = shape.columns.map((c) => col('l', c)).join(', ');
      if (shape.mergeReturning && shape.sourceUniqueKey) {
        // The fastest form on PostgreSQL 17+: one MERGE straight from the source, no
        // intermediate result; the rows read and their highest cursor come from the same
        // statement (hence the same snapshot), by the cursor's index.
        const merge = `MERGE INTO ${T} d USING (\n${indent(src)}\n) l ON ${keyEq('d', 'l')}\n${
          nonKey.length > 0
            ? `WHEN MATCHED AND ${dCur} <= ${lCur} AND ${changed} THEN UPDATE SET ${set}\n`
            : ''
        }WHEN NOT MATCHED THEN INSERT (${cols}) VALUES (${values})\nRETURNING merge_action() AS action`;
        const stale = staleCte(shape, `(${src})`, watermark, T);
        return `WITH m AS (\n${indent(merge)}\n)${stale ? `,\n${stale}` : ''}\nSELECT count(*) FILTER (WHERE action = 'INSERT') AS inserted, count(*) FILTER (WHERE action = 'UPDATE') AS updated, 0 AS deleted,\n       (SELECT count(*) FROM (${src}) r) AS read, (SELECT max(r.${cur})::text FROM (${src}) r) AS high,\n       NULL AS high_seq, 0 AS bad_ops, ${keptColumns(shape, stale !== undefined)}\n  FROM m`;
      }
      const stale = staleCte(shape, rel, watermark, T);
      if (stale) ctes.push(stale);
      if (shape.mergeReturning) {
        ctes.push(
          `m AS (\n  MERGE INTO ${T} d USING ${rel} l ON ${keyEq('d', 'l')}\n${
            nonKey.length > 0
              ? `  WHEN MATCHED AND ${dCur} <= ${lCur} AND ${changed} THEN UPDATE SET ${set}\n`
              : ''
          }  WHEN NOT MATCHED THEN INSERT (${cols}) VALUES (${values})\n  RETURNING merge_action() AS action\n)`,
        );
        inserted = "(SELECT count(*) FROM m WHERE action = 'INSERT')";
        updated = "(SELECT count(*) FROM m WHERE action = 'UPDATE')";
        break;
      }
      if (nonKey.length > 0) {
        ctes.push(
          `upd AS (\n  UPDATE ${T} d SET ${set}\n    FROM ${rel} l\n   WHERE ${keyEq('d', 'l')} AND ${dCur} <= ${lCur}\n     AND ${changed}\n  RETURNING 1\n)`,
        );
        updated = '(SELECT count(*) FROM upd)';
      }
      ctes.push(
        `ins AS (\n  INSERT INTO ${T} (${cols})\n  SELECT ${values}\n    FROM ${rel} l\n   WHERE NOT EXISTS (SELECT 1 FROM ${T} d WHERE ${keyEq('d', 'l')})\n  RETURNING 1\n)`,
      );
      break;
    }
    case 'cdc': {
      const c = shape.cdc!;
      const K = quoteQualified(c.keysTable.schema, c.keysTable.name);
      const op = col('f', CDC_OP);
      const del = quoteLiteral(c.delete);
      ctes.push(
        latestCte(shape),
        `fresh AS (\n  SELECT l.* FROM latest l LEFT JOIN ${K} k ON ${keyEq('k', 'l')}\n   WHERE k.${q(CDC_SEQ)} IS NULL OR l.${q(CDC_SEQ)} > k.${q(CDC_SEQ)}\n)`,
        `del AS (\n  DELETE FROM ${T} d USING fresh f\n   WHERE ${op} = ${del} AND ${keyEq('d', 'f')}\n  RETURNING 1\n)`,
      );
      if (nonKey.length > 0)
        ctes.push(
          `upd AS (\n  UPDATE ${T} d SET ${nonKey.map((x) => `${q(x)} = ${col('f', x)}`).join(', ')}\n    FROM fresh f\n   WHERE ${op} <> ${del} AND ${keyEq('d', 'f')}\n  RETURNING 1\n)`,
        );
      ctes.push(
        `ins AS (\n  INSERT INTO ${T} (${cols})\n  SELECT ${shape.columns.map((x) => col('f', x)).join(', ')}\n    FROM fresh f\n   WHERE ${op} <> ${del} AND NOT EXISTS (SELECT 1 FROM ${T} d WHERE ${keyEq('d', 'f')})\n  RETURNING 1\n)`,
        `kst AS (\n  INSERT INTO ${K} AS k (${shape.key.map(q).join(', ')}, ${q(CDC_SEQ)}, deleted)\n  SELECT ${keyList('f')}, f.${q(CDC_SEQ)}, ${op} = ${del} FROM fresh f\n  ON CONFLICT (${shape.key.map(q).join(', ')}) DO UPDATE SET ${q(CDC_SEQ)} = EXCLUDED.${q(CDC_SEQ)}, deleted = EXCLUDED.deleted\n  RETURNING 1\n)`,
      );
      updated = nonKey.length > 0 ? '(SELECT count(*) FROM upd)' : '0';
      deleted = '(SELECT count(*) FROM del)';
      break;
    }
    case 'full':
      throw new Error('mode full has no incremental statement; see fullSwapStatements');
    default: {
      const never: never = shape.mode;
      throw new Error(`unknown mode ${String(never)}`);
    }
  }
  return resultRow(shape, ctes, { inserted, updated, deleted });
}

/** DDL of the cdc per-key table: key columns typed like the destination, the sequence, a tombstone flag. */
export function keysTableDdl(shape: SyncShape, keyTypes: string[], seqType: string): string {
  const c = shape.cdc!;
  const K = quoteQualified(c.keysTable.schema, c.keysTable.name);
  const keyCols = shape.key.map((k, i) => `${q(k)} ${keyTypes[i]} NOT NULL`).join(', ');
  return `CREATE TABLE IF NOT EXISTS ${K} (${keyCols}, ${q(CDC_SEQ)} ${seqType} NOT NULL, deleted boolean NOT NULL, PRIMARY KEY (${shape.key.map(q).join(', ')}))`;
}

/** A temporary staging table with the given columns, dropped at commit. */
export function stagingDdl(name: string, columns: { name: string; type: string }[]): string {
  return `CREATE TEMP TABLE ${q(name)} (${columns.map((c) => `${q(c.name)} ${c.type}`).join(', ')}) ON COMMIT DROP`;
}

/**
 * mode full: load everything into a staging table first (a failing source leaves the
 * destination untouched), then swap the contents in: TRUNCATE and INSERT in the same
 * transaction. Readers see the old rows until the commit, then the new ones, never a mix.
 */
export function fullSwapStatements(shape: SyncShape, staging: string): string[] {
  const T = quoteQualified(shape.target.schema, shape.target.name);
  const cols = shape.columns.map(q).join(', ');
  return [`TRUNCATE ${T}`, `INSERT INTO ${T} (${cols}) SELECT ${cols} FROM ${q(staging)}`];
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

/**
 * --dry-run on one connection: the counts `applyStatement` would return (same columns),
 * computed by one read-only SELECT with the same de-duplication rules, so it takes no row
 * locks and writes nothing. Every statement of `applyStatement` reads the snapshot taken
 * before it (its sub-statements do not see each other's writes), so each count is a join
 * against the destination as it is now. Keep in step with `applyStatement`; the dry-run
 * tests compare the two on every mode.
 * `emptyDestination`: as if the destination and the key table were empty (--full-refresh).
 * `keysTable`: the cdc key table to read; null when none exists yet (every change is fresh).
 */
export function countStatement(
  shape: SyncShape,
  src: string,
  watermark: string | null,
  opts: { emptyDestination?: boolean; keysTable?: { schema: string; name: string } | null } = {},
): string {
  const { T: table, cols, srcCols, cur, keyEq, keyList, nonKey } = partsOf(shape);
  const T = opts.emptyDestination ? `(SELECT ${cols} FROM ${table} WHERE false)` : table;
  const ctes: string[] = [`src AS MATERIALIZED (\n${indent(src)}\n)`];
  let inserted = '(SELECT count(*) FROM src)';
  let updated = '0';
  let deleted = '0';
  switch (shape.mode) {
    case 'append': {
      if (shape.key.length > 0) {
        inserted = `(SELECT count(*) FROM (\n  SELECT DISTINCT ON (${keyList('src')}) 1\n    FROM src\n   WHERE NOT EXISTS (SELECT 1 FROM ${T} d WHERE ${keyEq('d', 'src')})\n) i)`;
      } else if (watermark !== null) {
        const w = `${quoteLiteral(watermark)}::${shape.cursor!.type}`;
        const dCur = col('d', shape.cursor!.column);
        const dCols = shape.columns.map((c) => col('d', c)).join(', ');
        inserted = `(SELECT count(*) FROM (\n  SELECT ${srcCols} FROM src WHERE src.${cur} > ${w}\n  UNION ALL\n  (SELECT ${srcCols} FROM src WHERE src.${cur} <= ${w}\n   EXCEPT ALL\n   SELECT ${dCols} FROM ${T} d WHERE ${dCur} >= ${lowerBound(shape, watermark)} AND ${dCur} <= ${w})\n) i)`;
      }
      break;
    }
    case 'merge': {
      let rel = 'src';
      if (!shape.sourceUniqueKey) {
        rel = 'latest';
        ctes.push(latestCte(shape));
      }
      // One row per key in `rel`, so a join counts each destination row it would update once
      // (the UPDATE … FROM and the MERGE alike).
      if (nonKey.length > 0)
        updated = `(SELECT count(*) FROM ${T} d JOIN ${rel} l ON ${keyEq('d', 'l')}\n   WHERE ${col('d', shape.cursor!.column)} <= ${col('l', shape.cursor!.column)} AND ${differs(shape)})`;
      inserted = `(SELECT count(*) FROM ${rel} l WHERE NOT EXISTS (SELECT 1 FROM ${T} d WHERE ${keyEq('d', 'l')}))`;
      const stale = staleCte(shape, rel, watermark, T);
      if (stale) ctes.push(stale);
      break;
    }
    case 'cdc': {
      const c = shape.cdc!;
      const op = col('f', CDC_OP);
      const del = quoteLiteral(c.delete);
      ctes.push(latestCte(shape));
      if (opts.keysTable && !opts.emptyDestination) {
        const K = quoteQualified(opts.keysTable.schema, opts.keysTable.name);
        ctes.push(
          `fresh AS (\n  SELECT l.* FROM latest l LEFT JOIN ${K} k ON ${keyEq('k', 'l')}\n   WHERE k.${q(CDC_SEQ)} IS NULL OR l.${q(CDC_SEQ)} > k.${q(CDC_SEQ)}\n)`,
        );
      } else {
        ctes.push('fresh AS (\n  SELECT l.* FROM latest l\n)');
      }
      deleted = `(SELECT count(*) FROM ${T} d JOIN fresh f ON ${keyEq('d', 'f')} WHERE ${op} = ${del})`;
      if (nonKey.length > 0)
        updated = `(SELECT count(*) FROM ${T} d JOIN fresh f ON ${keyEq('d', 'f')} WHERE ${op} <> ${del})`;
      inserted = `(SELECT count(*) FROM fresh f\n   WHERE ${op} <> ${del} AND NOT EXISTS (SELECT 1 FROM ${T} d WHERE ${keyEq('d', 'f')}))`;
      break;
    }
    case 'full':
      throw new Error('mode full has no incremental statement');
    default: {
      const never: never = shape.mode;
      throw new Error(`unknown mode ${String(never)}`);
    }
  }
  return resultRow(shape, ctes, { inserted, updated, deleted });
}

/**
 * --dry-run across connections: before a batch (staged in `stage`) is applied to the shadow
 * tables, copy in the destination rows (and cdc key-table rows) with the batch's keys that
 * are not there yet (`seen` records the keys copied so far, so a row the shadow already holds,
 * or deleted, is never fetched again). Only those rows can take part in the batch's statement.
 */
export function shadowFetchStatements(
  shape: SyncShape,
  names: {
    stage: string;
    seen: string;
    shadow: string;
    keysTable?: { schema: string; name: string } | null;
    shadowKeys?: string;
  },
): string[] {
  const { T, cols, keyEq, keyList } = partsOf(shape);
  const keyCols = shape.key.map(q).join(', ');
  const wanted = (a: string) =>
    `EXISTS (SELECT 1 FROM ${q(names.stage)} s WHERE ${keyEq('s', a)})\n   AND NOT EXISTS (SELECT 1 FROM ${q(names.seen)} x WHERE ${keyEq('x', a)})`;
  const out = [
    `INSERT INTO ${q(names.shadow)} (${cols})\n  SELECT ${shape.columns.map((c) => col('d', c)).join(', ')} FROM ${T} d\n WHERE ${wanted('d')}`,
  ];
  if (names.keysTable && names.shadowKeys) {
    const K = quoteQualified(names.keysTable.schema, names.keysTable.name);
    out.push(
      `INSERT INTO ${q(names.shadowKeys)} (${keyCols}, ${q(CDC_SEQ)}, deleted)\n  SELECT ${keyList('k')}, k.${q(CDC_SEQ)}, k.deleted FROM ${K} k\n WHERE ${wanted('k')}`,
    );
  }
  out.push(
    `INSERT INTO ${q(names.seen)} (${keyCols})\n  SELECT DISTINCT ${keyList('s')} FROM ${q(names.stage)} s\n WHERE NOT EXISTS (SELECT 1 FROM ${q(names.seen)} x WHERE ${keyEq('x', 's')})`,
  );
  return out;
}

/**
 * merge across connections from a source with several rows per key: a key's rows can fall in
 * different batches, so one batch's view of "older than the destination's copy" is not the
 * run's. A session table on the destination collects the candidates with the destination's
 * cursor; each batch first drops the candidates it brings a copy at least as new for, then
 * adds its own; what is left at the end are the keys the source only had older copies of.
 * Each batch statement touches only its rows below the stored watermark.
 */
export function keptTracking(
  shape: SyncShape,
  names: { stage: string; kept: string },
  keyTypes: string[],
  watermark: string,
): { create: string; perBatch: string[]; report: string; drop: string } {
  const { T, keyEq, keyList } = partsOf(shape);
  const K = q(names.kept);
  const S = q(names.stage);
  const cur = shape.cursor!;
  const DCUR = q('_wharf_dcur');
  const keyCols = shape.key.map(q).join(', ');
  const w = `${quoteLiteral(watermark)}::${cur.type}`;
  return {
    create: `CREATE TEMP TABLE ${K} (${shape.key.map((k, i) => `${q(k)} ${keyTypes[i]}`).join(', ')}, ${DCUR} ${cur.type}, PRIMARY KEY (${keyCols}))`,
    perBatch: [
      `DELETE FROM ${K} k USING ${S} s WHERE ${keyEq('k', 's')} AND s.${q(cur.column)} >= k.${DCUR}`,
      `INSERT INTO ${K} (${keyCols}, ${DCUR})\n  SELECT ${keyList('l')}, d.${q(cur.column)}\n    FROM (SELECT ${keyList('s')}, max(s.${q(cur.column)}) AS ${q(cur.column)} FROM ${S} s WHERE s.${q(cur.column)} < ${w} GROUP BY ${keyList('s')}) l\n    JOIN ${T} d ON ${keyEq('d', 'l')}\n   WHERE d.${q(cur.column)} > l.${q(cur.column)}\n  ON CONFLICT DO NOTHING`,
    ],
    report: `SELECT (SELECT count(*) FROM ${K}) AS kept,\n       (SELECT array_agg(z.k ORDER BY z.k) FROM (SELECT ${keyText(shape, 'x')} AS k FROM ${K} x ORDER BY 1 LIMIT ${KEPT_KEYS_SHOWN}) z) AS kept_keys`,
    drop: `DROP TABLE IF EXISTS ${K}`,
  };
}

/**
 * merge on PostgreSQL 15 and 16 when the source holds one row per key: one plain MERGE straight
 * from the source, as a hand-written one would be, rather than `UPDATE … FROM` over a
 * materialized result the planner knows nothing about (which hashes the whole destination to
 * join the rows read). Before 17 a MERGE returns no rows and cannot sit in a WITH, so the run's
 * facts come from a statement before it (rows read, highest cursor and kept rows, read through
 * the cursor's index; it runs first, so the watermark never passes a row the MERGE did not
 * see) and the split into inserted and updated from the transaction's own row counters of the
 * destination (and its partitions), read before and after (`pg_stat_get_xact_tuples_*`, which
 * need `track_counts`, on by default; `counting` says whether it is).
 */
export function mergeStatements(
  shape: SyncShape,
  src: string,
  watermark: string | null,
): { facts: string; merge: string; counters: string } {
  const { T, cols, cur, keyEq, nonKey } = partsOf(shape);
  const dCur = col('d', shape.cursor!.column);
  const lCur = col('l', shape.cursor!.column);
  const set = nonKey.map((c) => `${q(c)} = ${col('l', c)}`).join(', ');
  const values = shape.columns.map((c) => col('l', c)).join(', ');
  const stale = staleCte(shape, `(${src})`, watermark, T);
  // The table and, when it is partitioned, its partitions (pg_partition_tree of a plain table
  // is empty).
  const counters = `SELECT coalesce(sum(pg_stat_get_xact_tuples_inserted(c.oid)), 0) AS ins, coalesce(sum(pg_stat_get_xact_tuples_updated(c.oid)), 0) AS upd\n  FROM pg_class c\n WHERE c.oid = ${quoteLiteral(T)}::regclass OR c.oid IN (SELECT p.relid FROM pg_partition_tree(${quoteLiteral(T)}::regclass) p)`;
  return {
    facts: `${stale ? `WITH ${stale}\n` : ''}SELECT (SELECT count(*) FROM (${src}) r) AS read, (SELECT max(r.${cur})::text FROM (${src}) r) AS high,\n       NULL AS high_seq, 0 AS bad_ops, ${keptColumns(shape, stale !== undefined)},\n       current_setting('track_counts')::boolean AS counting`,
    merge: `MERGE INTO ${T} d USING (\n${indent(src)}\n) l ON ${keyEq('d', 'l')}\n${
      nonKey.length > 0
        ? `WHEN MATCHED AND ${dCur} <= ${lCur} AND ${differs(shape)} THEN UPDATE SET ${set}\n`
        : ''
    }WHEN NOT MATCHED THEN INSERT (${cols}) VALUES (${values})`,
    counters,
  };
}
