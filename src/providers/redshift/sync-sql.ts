// The SQL of a sync that runs inside Redshift (source and destination on one Redshift
// connection), compiled from the same description as the PostgreSQL statements (pure: input
// in, statements out). Redshift has no writable CTEs, RETURNING, ON CONFLICT, DISTINCT ON,
// EXCEPT ALL or IS DISTINCT FROM, and TRUNCATE commits the transaction it runs in, so a run
// is the documented staging-table pattern instead, all of it in ONE Data API batch (one
// transaction):
//
//   LOCK the state table              runs of syncs into this database take turns
//   wharf_src   <- the rows read      one snapshot of the source, by the cursor's lower bound
//   wharf_run   <- one row of facts   rows read, highest cursor, bad cdc ops, cursor gone
//                                     backwards, and whether the state is still the one this
//                                     run was planned from; `ok` says whether to write
//   wharf_new   <- what to write      de-duplicated (ROW_NUMBER), classified against the
//                                     destination (and the cdc key table)
//   DELETE … USING wharf_new; INSERT … SELECT FROM wharf_new      only when ok
//   the state row (delete + insert)                                only when ok
//   SELECT the facts and the counts
//
// Every write is conditioned on `ok`, so a run that finds a problem (or that lost a race with
// another run of the same sync) commits nothing and says why; the caller retries a lost race.
// Rows are compared through an MD5 fingerprint of their columns' text forms (NULL-safe,
// length-prefixed), which also breaks ties between rows with the same key and cursor.
// A dry run is the same batch with `ok` false and without the lock or any DDL: it reports
// exactly what the run would write and changes nothing.

import type { ColumnInfo } from '../../sync/catalog.js';
import {
  CDC_CUR,
  CDC_OP,
  CDC_SEQ,
  col,
  cursorName,
  keyEq as keyOn,
  keysTableDdl,
  lowerBound,
  readList,
  readQuery,
  type SyncShape,
} from '../../sync/sql.js';
import { STATE_TABLE, type SyncKey } from '../../sync/state.js';
import { quoteIdent, quoteLiteral, quoteQualified } from '../sql-quote.js';

const q = quoteIdent;
export const RS_SRC = 'wharf_src';
export const RS_RUN = 'wharf_run';
export const RS_NEW = 'wharf_new';

/** Redshift's DDL of the state table: like PostgreSQL's, plus the id of the run that wrote it. */
export const REDSHIFT_STATE_DDL = [
  'CREATE SCHEMA IF NOT EXISTS wharf_state',
  `CREATE TABLE IF NOT EXISTS ${STATE_TABLE} (target VARCHAR(512) NOT NULL, name VARCHAR(256) NOT NULL, mode VARCHAR(16) NOT NULL, watermark VARCHAR(256), last_sequence VARCHAR(256), rows_loaded BIGINT NOT NULL DEFAULT 0, run_id VARCHAR(64), updated_at TIMESTAMP NOT NULL DEFAULT GETDATE(), PRIMARY KEY (target, name))`,
];

export interface StoredState {
  watermark: string | null;
  lastSequence: string | null;
  /** Whether the row exists, and the run that wrote it (the previous batch's, across connections). */
  exists: boolean;
  runId: string | null;
}

export interface RedshiftRunInput {
  shape: SyncShape;
  /** The source relation: a quoted table or a parenthesized query. */
  relation: string;
  key: SyncKey;
  /** Columns of the rows read, with types (destination columns, then the cdc ones). */
  readColumns: ColumnInfo[];
  stored: StoredState;
  fullRefresh: boolean;
  dryRun: boolean;
  /** This run's id, written to the state row. */
  runId: string;
  /**
   * Whether the state table and the cdc key table exist. Only a dry run asks: it creates
   * neither, while a real run finds the state table made and makes the key table itself.
   */
  stateExists: boolean;
  keysExist: boolean;
  /** cdc: the key table's DDL types. */
  keyTypes?: string[];
  seqType?: string;
  /**
   * Rows streamed from another connection: the rows read are not selected from `relation` but
   * inserted by these statements into the temporary table (or, for `table`, already loaded
   * into that table). `watermark` is the one stored when the run began: it decides which rows
   * may have been loaded before (rows at or below it), batch after batch. The cursor going
   * backwards is checked by the caller on the source before any batch.
   */
  staged?: { ddl: string; inserts: string[]; watermark: string | null } | { table: string };
}

/** The facts and counts a run's last statement returns (Data API values, as text or numbers). */
export interface RedshiftRunResult {
  read: number;
  high: string | null;
  high_seq: string | null;
  /** The watermark the run stores: the stored one or the highest cursor read, whichever is later. */
  watermark: string | null;
  /** cdc: the last applied sequence the run stores. */
  last_sequence: string | null;
  bad_ops: number;
  backwards: boolean;
  fresh: boolean;
  ok: boolean;
  inserted: number;
  updated: number;
  deleted: number;
}

/** A column's text form, NULL kept as NULL (Redshift cannot cast BOOLEAN to VARCHAR). */
function textOf(expr: string, c: ColumnInfo): string {
  if (c.category === 'B') return `CASE WHEN ${expr} THEN 't' WHEN NOT ${expr} THEN 'f' END`;
  // JSON_SERIALIZE(NULL) is the string 'null', the same as a JSON null: keep SQL NULL apart.
  if (/^super$/i.test(c.type) || /\.super$/.test(c.type))
    return `CASE WHEN ${expr} IS NULL THEN NULL ELSE JSON_SERIALIZE(${expr}) END`;
  return `${expr}::VARCHAR(65535)`;
}

/**
 * MD5 over each column's own MD5 (or `~` for NULL): equal iff every column is, NULL-safe, and
 * the string hashed stays short (33 bytes a column) however wide the values are.
 */
export function fingerprint(alias: string, columns: ColumnInfo[]): string {
  if (columns.length === 0) return `MD5('')`;
  const parts = columns.map((c) => `COALESCE(MD5(${textOf(col(alias, c.name), c)}), '~')`);
  return `MD5(${parts.join(" || ',' || ")})`;
}

/**
 * A string literal both Redshift and PostgreSQL read alike: Redshift may treat a backslash as
 * an escape and has no E'' strings, so backslashes are spelled CHR(92). The concatenation is
 * parenthesized, so it stays one operand wherever it lands: `::` binds tighter than `||`, and
 * `'a' || CHR(92) || 'b'::date` would cast only the last piece.
 */
export function redshiftLiteral(v: string): string {
  if (!v.includes('\\')) return quoteLiteral(v);
  const pieces = v
    .split('\\')
    .map((part) => quoteLiteral(part))
    .join(' || CHR(92) || ');
  return `(${pieces})`;
}

/** The statements of one run, in order; the result row is the last statement but the drops. */
export function redshiftRunStatements(input: RedshiftRunInput): { sqls: string[]; resultIndex: number } {
  const { shape, key, stored, dryRun, staged } = input;
  const T = quoteQualified(shape.target.schema, shape.target.name);
  const cols = shape.columns.map(q).join(', ');
  const incremental = !input.fullRefresh && shape.mode !== 'full';
  /** The stored watermark, and the one rows at or below which may have been loaded before. */
  const stw = incremental ? stored.watermark : null;
  const w = !incremental ? null : staged && 'inserts' in staged ? staged.watermark : stw;
  const SRC = staged && 'table' in staged ? staged.table : RS_SRC;
  const byName = new Map(input.readColumns.map((c) => [c.name, c]));
  const info = (name: string) => byName.get(name)!;
  const okWhere = `EXISTS (SELECT 1 FROM ${RS_RUN} WHERE ok)`;
  // LOCK first: on Redshift the transaction's snapshot starts with its first statement, so a
  // run that waited for another sees what that one committed. No temporary table exists at
  // the start of a Data API batch (each batch is a new session; the ones made here are
  // dropped at its end), so none is dropped first: `DROP TABLE IF EXISTS wharf_src` would
  // find a user's permanent table of that name instead.
  const sqls: string[] = [];
  if (!dryRun) sqls.push(`LOCK ${STATE_TABLE}`);
  const K = shape.cdc ? quoteQualified(shape.cdc.keysTable.schema, shape.cdc.keysTable.name) : '';
  if (shape.cdc && !dryRun) sqls.push(keysTableDdl(shape, input.keyTypes!, input.seqType!));

  // 1. The rows read, in one snapshot.
  if (!staged) {
    const select =
      shape.mode === 'full'
        ? `SELECT ${readList(shape)}\n  FROM ${input.relation} s`
        : readQuery(shape, input.relation, w, { literal: redshiftLiteral });
    sqls.push(`CREATE TEMP TABLE ${RS_SRC} AS\n${select}`);
  } else if ('inserts' in staged) sqls.push(staged.ddl, ...staged.inserts);

  // 2. The facts, and whether to write.
  const stateWhere = `target = ${redshiftLiteral(key.target)} AND name = ${redshiftLiteral(key.name)}`;
  const state =
    !dryRun || input.stateExists
      ? `(SELECT COUNT(*) AS n, MAX(run_id) AS run_id, COALESCE(MAX(rows_loaded), 0) AS rows_before FROM ${STATE_TABLE} WHERE ${stateWhere})`
      : '(SELECT 0 AS n, NULL::VARCHAR(64) AS run_id, 0 AS rows_before)';
  const fresh = !stored.exists
    ? 'st.n = 0'
    : stored.runId === null
      ? '(st.n = 1 AND st.run_id IS NULL)'
      : `(st.n = 1 AND st.run_id = ${redshiftLiteral(stored.runId)})`;
  let high = 'NULL::VARCHAR(256)';
  let highSeq = 'NULL::VARCHAR(256)';
  let badOps = '0';
  let backwards = 'false';
  if (shape.mode !== 'full') {
    const cur = col(SRC, cursorName(shape));
    high = `MAX(${cur})::VARCHAR(256)`;
    if (w !== null && !staged) {
      const typed = `${redshiftLiteral(w)}::${shape.cursor!.type}`;
      backwards = `COALESCE(MAX(${cur}) < ${typed}, true)`;
    }
  }
  if (shape.cdc) {
    const c = shape.cdc;
    const op = col(SRC, CDC_OP);
    highSeq = `MAX(${col(SRC, CDC_SEQ)})::VARCHAR(256)`;
    const values = [c.insert, c.update, c.delete].map(redshiftLiteral).join(', ');
    badOps = `SUM(CASE WHEN ${op} IS NULL OR ${op} NOT IN (${values}) THEN 1 ELSE 0 END)`;
  }
  sqls.push(
    `CREATE TEMP TABLE ${RS_RUN} AS
SELECT f.read, f.high, f.high_seq, f.bad_ops, f.backwards, ${fresh} AS fresh, st.rows_before,
       ${dryRun ? 'false' : `(${fresh} AND f.bad_ops = 0 AND NOT f.backwards)`} AS ok
  FROM (SELECT COUNT(*) AS read, ${high} AS high, ${highSeq} AS high_seq, COALESCE(${badOps}, 0) AS bad_ops,
               ${backwards} AS backwards
          FROM ${SRC}) f
 CROSS JOIN ${state} st`,
  );

  // --full-refresh: the destination (and key table) start empty, in this transaction.
  const emptyFirst = input.fullRefresh && shape.mode !== 'full';
  if (emptyFirst && !dryRun) {
    sqls.push(`DELETE FROM ${T} WHERE ${okWhere}`);
    if (shape.cdc) sqls.push(`DELETE FROM ${K} WHERE ${okWhere}`);
  }
  // What is compared with the destination: nothing when it is (about to be) empty.
  const compareDst = !emptyFirst;

  // 3. What to write, classified; 4. the writes.
  const keyEq = (a: string, b: string) => keyOn(shape, a, b);
  const tKeyEq = (b: string) => shape.key.map((k) => `${T}.${q(k)} = ${col(b, k)}`).join(' AND ');
  const dstCols = shape.columns.map(info);
  const nonKey = dstCols.filter((c) => !shape.key.includes(c.name));
  const srcCols = (a: string) => shape.columns.map((c) => col(a, c)).join(', ');
  const latest = (order: string) =>
    `SELECT * FROM (SELECT s.*, ROW_NUMBER() OVER (PARTITION BY ${shape.key.map((k) => col('s', k)).join(', ')} ORDER BY ${order}) AS _wharf_rn FROM ${SRC} s) l WHERE l._wharf_rn = 1`;
  let counts: string;
  switch (shape.mode) {
    case 'append': {
      if (shape.key.length > 0) {
        const cur = col('s', shape.cursor!.column);
        sqls.push(
          `CREATE TEMP TABLE ${RS_NEW} AS
SELECT ${srcCols('l')}
  FROM (${latest(`${cur} DESC, ${fingerprint('s', dstCols)} DESC`)}) l
${compareDst ? ` WHERE NOT EXISTS (SELECT 1 FROM ${T} d WHERE ${keyEq('d', 'l')})` : ''}`,
        );
      } else if (w === null) {
        sqls.push(`CREATE TEMP TABLE ${RS_NEW} AS SELECT ${cols} FROM ${SRC}`);
      } else {
        // Rows above the old watermark were never loaded. Rows at or below it are compared as
        // a multiset with the destination's rows in the same window: the n-th copy of a row
        // is new only if the destination has fewer than n copies.
        const wt = `${redshiftLiteral(w)}::${shape.cursor!.type}`;
        const cur = q(shape.cursor!.column);
        const numbered = (rel: string, where: string) =>
          `SELECT ${srcCols('x')}, x._wharf_fp, ROW_NUMBER() OVER (PARTITION BY x._wharf_fp ORDER BY x._wharf_fp) AS _wharf_n
     FROM (SELECT ${srcCols('r')}, ${fingerprint('r', dstCols)} AS _wharf_fp FROM ${rel} r WHERE ${where}) x`;
        sqls.push(
          `CREATE TEMP TABLE ${RS_NEW} AS
SELECT ${cols} FROM ${SRC} WHERE ${cur} > ${wt}
UNION ALL
SELECT ${srcCols('s')}
  FROM (${numbered(SRC, `r.${cur} <= ${wt}`)}) s
  LEFT JOIN (${numbered(T, `r.${cur} >= ${lowerBound(shape, w, redshiftLiteral)} AND r.${cur} <= ${wt}`)}) d
    ON d._wharf_fp = s._wharf_fp AND d._wharf_n = s._wharf_n
 WHERE d._wharf_n IS NULL`,
        );
      }
      if (!dryRun) sqls.push(`INSERT INTO ${T} (${cols}) SELECT ${cols} FROM ${RS_NEW} WHERE ${okWhere}`);
      counts = `SELECT COUNT(*) AS inserted, 0 AS updated, 0 AS deleted FROM ${RS_NEW}`;
      break;
    }
    case 'merge': {
      // A destination row is replaced only by a row with the same or a later cursor, and
      // only if it differs: re-reading a window rewrites nothing.
      const cur = col('s', shape.cursor!.column);
      const upd = compareDst ? 'd.' + q(shape.key[0]!) + ' IS NOT NULL' : 'false';
      sqls.push(
        `CREATE TEMP TABLE ${RS_NEW} AS
SELECT ${srcCols('l')}, ${upd} AS _wharf_upd
  FROM (${latest(`${cur} DESC, ${fingerprint('s', dstCols)} DESC`)}) l
${
  compareDst
    ? `  LEFT JOIN ${T} d ON ${keyEq('d', 'l')}
 WHERE d.${q(shape.key[0]!)} IS NULL
    OR (${col('d', shape.cursor!.column)} <= ${col('l', shape.cursor!.column)} AND ${fingerprint('d', nonKey)} <> ${fingerprint('l', nonKey)})`
    : ''
}`,
      );
      if (!dryRun) {
        sqls.push(`DELETE FROM ${T} USING ${RS_NEW} n WHERE ${tKeyEq('n')} AND n._wharf_upd AND ${okWhere}`);
        sqls.push(`INSERT INTO ${T} (${cols}) SELECT ${cols} FROM ${RS_NEW} WHERE ${okWhere}`);
      }
      counts = `SELECT SUM(CASE WHEN _wharf_upd THEN 0 ELSE 1 END) AS inserted, SUM(CASE WHEN _wharf_upd THEN 1 ELSE 0 END) AS updated, 0 AS deleted FROM ${RS_NEW}`;
      break;
    }
    case 'cdc': {
      const c = shape.cdc!;
      const del = redshiftLiteral(c.delete);
      const all = [...dstCols, info(CDC_OP), info(CDC_SEQ), info(CDC_CUR)];
      const readCols = all.map((x) => col('l', x.name)).join(', ');
      const exists = compareDst ? `d.${q(shape.key[0]!)} IS NOT NULL` : 'false';
      // A real run creates the key table in this batch; a dry run reads it only if it exists.
      const seenKeys = compareDst && (!dryRun || input.keysExist);
      sqls.push(
        `CREATE TEMP TABLE ${RS_NEW} AS
SELECT ${readCols}, ${exists} AS _wharf_exists
  FROM (${latest(`${col('s', CDC_SEQ)} DESC, ${fingerprint('s', all)} DESC`)}) l
${seenKeys ? `  LEFT JOIN ${K} k ON ${keyEq('k', 'l')}\n` : ''}${compareDst ? `  LEFT JOIN ${T} d ON ${keyEq('d', 'l')}\n` : ''}${
  seenKeys ? ` WHERE k.${q(CDC_SEQ)} IS NULL OR ${col('l', CDC_SEQ)} > k.${q(CDC_SEQ)}` : ''
}`,
      );
      if (!dryRun) {
        const Kname = K;
        const kKeyEq = shape.key.map((k) => `${Kname}.${q(k)} = ${col('n', k)}`).join(' AND ');
        sqls.push(
          `DELETE FROM ${T} USING ${RS_NEW} n WHERE ${tKeyEq('n')} AND n._wharf_exists AND ${okWhere}`,
          `INSERT INTO ${T} (${cols}) SELECT ${cols} FROM ${RS_NEW} WHERE ${q(CDC_OP)} <> ${del} AND ${okWhere}`,
          `DELETE FROM ${K} USING ${RS_NEW} n WHERE ${kKeyEq} AND ${okWhere}`,
          `INSERT INTO ${K} (${shape.key.map(q).join(', ')}, ${q(CDC_SEQ)}, deleted) SELECT ${shape.key.map(q).join(', ')}, ${q(CDC_SEQ)}, ${q(CDC_OP)} = ${del} FROM ${RS_NEW} WHERE ${okWhere}`,
        );
      }
      const op = q(CDC_OP);
      counts = `SELECT SUM(CASE WHEN ${op} <> ${del} AND NOT _wharf_exists THEN 1 ELSE 0 END) AS inserted,
       SUM(CASE WHEN ${op} <> ${del} AND _wharf_exists THEN 1 ELSE 0 END) AS updated,
       SUM(CASE WHEN ${op} = ${del} AND _wharf_exists THEN 1 ELSE 0 END) AS deleted FROM ${RS_NEW}`;
      break;
    }
    case 'full': {
      // Loaded first (a failing source fails the batch: the old rows stay), then swapped in
      // by DELETE + INSERT in the same transaction: TRUNCATE would commit it halfway.
      sqls.push(`CREATE TEMP TABLE ${RS_NEW} AS SELECT ${cols} FROM ${SRC}`);
      if (!dryRun) {
        sqls.push(`DELETE FROM ${T} WHERE ${okWhere}`);
        sqls.push(`INSERT INTO ${T} (${cols}) SELECT ${cols} FROM ${RS_NEW} WHERE ${okWhere}`);
      }
      // Rows replaced: the destination's rows before the swap (counted ahead of it, below).
      counts = `SELECT n.c AS inserted, 0 AS updated, d.c AS deleted FROM (SELECT COUNT(*) AS c FROM ${RS_NEW}) n CROSS JOIN (SELECT COUNT(*) AS c FROM ${T}) d`;
      break;
    }
    default: {
      const never: never = shape.mode;
      throw new Error(`unknown mode ${String(never)}`);
    }
  }

  // 5. The state row, then the facts and counts.
  if (shape.mode === 'full' && !dryRun) {
    // Counted before the swap's DELETE.
    const swapAt = sqls.findIndex((s) => s.startsWith(`DELETE FROM ${T} WHERE`));
    sqls.splice(swapAt, 0, `CREATE TEMP TABLE wharf_counts AS ${counts}`);
    counts = 'SELECT * FROM wharf_counts';
  }
  let seq = 'NULL';
  if (shape.cdc) {
    const last = input.fullRefresh ? null : stored.lastSequence;
    seq =
      last === null
        ? 'r.high_seq'
        : `CASE WHEN r.high_seq IS NULL THEN ${redshiftLiteral(last)} WHEN r.high_seq::${input.seqType} > ${redshiftLiteral(last)}::${input.seqType} THEN r.high_seq ELSE ${redshiftLiteral(last)} END`;
  }
  if (!dryRun) {
    const c = 'COALESCE(c.inserted, 0) + COALESCE(c.updated, 0) + COALESCE(c.deleted, 0)';
    const watermark = shape.mode === 'full' ? 'NULL' : newWatermark(shape.cursor!.type, stw);
    sqls.push(`DELETE FROM ${STATE_TABLE} WHERE ${stateWhere} AND ${okWhere}`);
    sqls.push(
      `INSERT INTO ${STATE_TABLE} (target, name, mode, watermark, last_sequence, rows_loaded, run_id, updated_at)
SELECT ${redshiftLiteral(key.target)}, ${redshiftLiteral(key.name)}, ${redshiftLiteral(shape.mode)}, ${watermark}, ${seq},
       ${input.fullRefresh ? '0' : 'r.rows_before'} + ${c}, ${redshiftLiteral(input.runId)}, GETDATE()
  FROM ${RS_RUN} r CROSS JOIN (${counts}) c WHERE r.ok`,
    );
  }
  const resultIndex = sqls.length;
  sqls.push(
    `SELECT r.read, r.high, r.high_seq, r.bad_ops, r.backwards, r.fresh, r.ok,
       ${shape.mode === 'full' ? 'NULL' : newWatermark(shape.cursor!.type, stw)} AS watermark, ${seq} AS last_sequence,
       COALESCE(c.inserted, 0) AS inserted, COALESCE(c.updated, 0) AS updated, COALESCE(c.deleted, 0) AS deleted
  FROM ${RS_RUN} r CROSS JOIN (${counts}) c`,
  );
  if (SRC === RS_SRC) sqls.push(`DROP TABLE ${RS_SRC}`);
  sqls.push(`DROP TABLE ${RS_RUN}`, `DROP TABLE ${RS_NEW}`);
  if (shape.mode === 'full' && !dryRun) sqls.push('DROP TABLE wharf_counts');
  return { sqls, resultIndex };
}

/** greatest(stored watermark, highest cursor read), as text, from the run's facts `r`. */
function newWatermark(type: string, stored: string | null): string {
  if (stored === null) return 'r.high';
  const w = redshiftLiteral(stored);
  return `CASE WHEN r.high IS NULL THEN ${w} WHEN r.high::${type} > ${w}::${type} THEN r.high ELSE ${w} END`;
}
