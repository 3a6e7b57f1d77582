// Applying rows read with the mode's statement and recording what it did, inside the caller's
// transaction: the counts and kept rows the statement returns, bad cdc ops, and the new state;
// the transactions around it, and the reset of --full-refresh.
// Shared by the runs on PostgreSQL sessions and by the extract from Redshift.
import type pg from 'pg';
import { killPoint } from '../kill-point.js';
import { quoteQualified } from '../providers/sql-quote.js';
import type { RunCtx } from './prepare.js';
import { applyStatement, KEPT_KEYS_SHOWN, mergeStatements, type SyncShape } from './sql.js';
import { clearState, type SyncKey, type SyncState, writeState } from './state.js';
import { type KeptRows, type RowCounts, SyncError } from './types.js';
import { advance, cursorBackwardsError, greatest } from './watermark.js';

export interface Applied {
  inserted: string | number;
  updated: string | number;
  deleted: string | number;
  read: string | number;
  high: string | null;
  high_seq: string | null;
  bad_ops: string | number;
  /** merge: rows kept because the destination's copy has a later cursor, and a few of their keys. */
  kept?: string | number;
  kept_keys?: string[] | null;
}

export async function inTransaction<T>(client: pg.Client, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const r = await fn();
    await client.query('COMMIT');
    return r;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

/** A run that is one transaction: its commit is its only batch (see kill-point.ts). */
export async function committed<T>(run: Promise<T>): Promise<T> {
  const r = await run;
  killPoint('after-commit-before-state');
  killPoint('after-batch');
  return r;
}

export function checkApplied(ctx: RunCtx, r: Applied): void {
  if (Number(r.bad_ops) > 0) throw badOpsError(ctx.sync.name, ctx.sides.shape, r.bad_ops);
}

/** Change rows whose op is none of the declared values: the run applies nothing. */
export function badOpsError(
  name: string,
  shape: SyncShape,
  count: string | number,
  applied = 'nothing was applied',
): SyncError {
  const c = shape.cdc!;
  return new SyncError(
    `sync ${name}: ${count} change row(s) have an ${c.op} that is none of ${c.insert}, ${c.update}, ${c.delete} (or NULL); ${applied}`,
  );
}

export function counts(r: Applied): RowCounts {
  return { inserted: Number(r.inserted), updated: Number(r.updated), deleted: Number(r.deleted) };
}

/** The rows a statement kept (see SyncResult.kept), or undefined when none. */
export function keptOf(r: { kept?: string | number; kept_keys?: string[] | null }): KeptRows | undefined {
  const rows = Number(r.kept ?? 0);
  return rows > 0 ? { rows, keys: r.kept_keys ?? [] } : undefined;
}

/** Adds one statement's kept rows to a run's. */
export function addKept(total: KeptRows | undefined, more: KeptRows | undefined): KeptRows | undefined {
  if (!more) return total;
  if (!total) return { rows: more.rows, keys: [...more.keys] };
  const keys = [...total.keys, ...more.keys.filter((k) => !total.keys.includes(k))].slice(0, KEPT_KEYS_SHOWN);
  return { rows: total.rows + more.rows, keys };
}

/**
 * Applies the rows `src` (a SELECT of the rows read) with the mode's statement and records the
 * new state, inside the caller's transaction; `state` is the one stored before (empty for
 * --full-refresh). Bad cdc ops and a cursor gone backwards throw before the state is written,
 * so the caller's rollback keeps nothing.
 */
export async function applyAndRecord(
  client: pg.Client,
  job: { name: string; shape: SyncShape; key: SyncKey; seqType?: string },
  src: string,
  state: SyncState,
): Promise<{ rows: RowCounts; read: number; watermark: string | null; kept?: KeptRows }> {
  const { shape } = job;
  const r = await applyRows(client, shape, src, state.watermark);
  if (Number(r.bad_ops) > 0) throw badOpsError(job.name, shape, r.bad_ops);
  const { watermark, backwards } = await advance(client, shape.cursor!.type, state.watermark, r.high);
  if (backwards) throw cursorBackwardsError(job.name, shape, state.watermark, r.high);
  const lastSequence = shape.cdc
    ? await greatest(client, job.seqType!, state.lastSequence, r.high_seq)
    : null;
  const rows = counts(r);
  await writeState(
    client,
    job.key,
    shape.mode,
    { watermark, lastSequence, ...(state.legacy ? { legacy: true } : {}) },
    rows.inserted + rows.updated + rows.deleted,
  );
  const kept = keptOf(r);
  return { rows, read: Number(r.read), watermark, ...(kept ? { kept } : {}) };
}

/**
 * Applies the rows `src` with the mode's statement (applyStatement) and returns its one row;
 * merge on PostgreSQL 15 and 16 from a source keyed like the sync runs as a plain MERGE
 * (mergeStatements), inside the caller's transaction.
 */
export async function applyRows(
  client: pg.Client,
  shape: SyncShape,
  src: string,
  watermark: string | null,
): Promise<Applied> {
  if (shape.mode === 'merge' && shape.mergePlain && shape.sourceUniqueKey) {
    const m = mergeStatements(shape, src, watermark);
    const facts = (await client.query<Applied & { counting: boolean }>(m.facts)).rows[0]!;
    if (facts.counting) {
      type Counters = { ins: string; upd: string };
      const before = (await client.query<Counters>(m.counters)).rows[0]!;
      const merged = (await client.query(m.merge)).rowCount ?? 0;
      const after = (await client.query<Counters>(m.counters)).rows[0]!;
      const inserted = Number(after.ins) - Number(before.ins);
      const updated = Number(after.upd) - Number(before.upd);
      if (inserted + updated === merged) return { ...facts, inserted, updated, deleted: 0 };
      // The counters disagree with the MERGE (should not happen): the MERGE is undone below,
      // with everything else, by the caller's rollback.
      throw new SyncError(
        `merge wrote ${merged} rows but the row counters say ${inserted} inserted and ${updated} updated; nothing was changed`,
      );
    }
  }
  return (await client.query<Applied>(applyStatement(shape, src, watermark))).rows[0]!;
}

/** Empties the destination (and the cdc key table) and forgets the state: --full-refresh. */
export async function reset(ctx: RunCtx): Promise<void> {
  const { dst, shape } = ctx.sides;
  await dst.query(`TRUNCATE ${quoteQualified(shape.target.schema, shape.target.name)}`);
  if (shape.cdc)
    await dst.query(`TRUNCATE ${quoteQualified(shape.cdc.keysTable.schema, shape.cdc.keysTable.name)}`);
  await clearState(dst, ctx.key);
}
