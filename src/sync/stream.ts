// A run across connections: the source is read in one REPEATABLE READ snapshot with COPY,
// ordered by the cursor, in batches; each batch is copied into a staging table on the
// destination, applied with the mode's statement and committed with its watermark.
import { killPoint } from '../kill-point.js';
import { quoteIdent, quoteQualified } from '../providers/sql-quote.js';
import {
  type Applied,
  addKept,
  applyRows,
  checkApplied,
  counts,
  inTransaction,
  keptOf,
  reset,
} from './apply.js';
import { estimateRows } from './catalog.js';
import { copyField, copyIn, copyOut, type RowBatch } from './copy.js';
import { type RunCtx, STAGE, stagingColumns, stagingType } from './prepare.js';
import { CDC_SEQ, keptTracking, readQuery, stagingDdl } from './sql.js';
import { readState, writeState } from './state.js';
import type { KeptRows, RowCounts, SyncResult } from './types.js';
import { checkNotBackwards, greatest } from './watermark.js';

/** Session table of a cross-connection merge's kept-row candidates (see keptTracking). */
const KEPT = 'wharf_kept';

/** Tells the hooks that rows will stream through wharf, with the source's estimate of how many. */
export async function announceStream(ctx: RunCtx, select: string): Promise<void> {
  const hook = ctx.options.hooks?.onRoute;
  if (!hook) return;
  const estimatedRows = await estimateRows(ctx.sides.src, select);
  hook(ctx.sync.name, { pushDown: false, ...(estimatedRows !== undefined ? { estimatedRows } : {}) });
}

/** Streams `COPY (select) TO STDOUT` on the source in batches of rows; `fn` consumes each batch. */
export async function streamBatches(
  ctx: RunCtx,
  select: string,
  onBatch: (batch: RowBatch) => Promise<void>,
): Promise<void> {
  for await (const batch of copyOut(ctx.sides.src, `COPY (${select}) TO STDOUT`, ctx.batchRows))
    await onBatch(batch);
}

export async function runCrossConnection(ctx: RunCtx): Promise<SyncResult> {
  const { src, dst, shape, relation } = ctx.sides;
  const name = ctx.sync.name;
  const stored = await readState(dst, ctx.key);
  const start = ctx.options.fullRefresh ? { watermark: null, lastSequence: null } : stored;
  let legacy = Boolean(stored.legacy);
  const w0 = start.watermark;
  let pendingReset = Boolean(ctx.options.fullRefresh);
  let watermark = w0;
  let lastSequence = start.lastSequence;
  const totals: RowCounts = { inserted: 0, updated: 0, deleted: 0 };
  let read = 0;
  const curType = shape.cursor!.type;
  const stage = stagingColumns(ctx.sides);
  const T = quoteQualified(shape.target.schema, shape.target.name);

  /** One destination transaction: [reset], the batch, the new watermark. */
  const commit = (
    fn: () => Promise<{
      rows: RowCounts;
      read: number;
      high: string | null;
      highSeq?: string | null;
      kept?: KeptRows;
    }>,
  ) =>
    inTransaction(dst, async () => {
      if (pendingReset) await reset(ctx);
      const r = await fn();
      const nextWatermark = await greatest(dst, curType, watermark, r.high);
      const nextSeq = shape.cdc
        ? await greatest(dst, stagingType(ctx, CDC_SEQ), lastSequence, r.highSeq ?? null)
        : null;
      const n = r.rows.inserted + r.rows.updated + r.rows.deleted;
      await writeState(
        dst,
        ctx.key,
        shape.mode,
        { watermark: nextWatermark, lastSequence: nextSeq, ...(legacy ? { legacy } : {}) },
        n,
      );
      return { r, nextWatermark, nextSeq };
    }).then(({ r, nextWatermark, nextSeq }) => {
      killPoint('after-commit-before-state');
      pendingReset = false;
      legacy = false;
      watermark = nextWatermark;
      lastSequence = nextSeq;
      totals.inserted += r.rows.inserted;
      totals.updated += r.rows.updated;
      totals.deleted += r.rows.deleted;
      read += r.read;
      kept = addKept(kept, r.kept);
      ctx.options.hooks?.onProgress?.(name, read);
      killPoint('after-batch');
      return r;
    });

  // A source with several rows per key: kept rows are tallied over the whole run (keptTracking).
  const tracking =
    shape.mode === 'merge' && !shape.sourceUniqueKey && w0 !== null
      ? keptTracking(
          shape,
          { stage: STAGE, kept: KEPT },
          shape.key.map((k) => ctx.sides.dstInfo.columns.find((c) => c.name === k)!.type),
          w0,
        )
      : undefined;
  /** Applies what the staging table holds with the mode's statement. */
  const applyFromStage = async () => {
    const r = await applyRows(dst, shape, `SELECT * FROM ${quoteIdent(STAGE)}`, w0);
    checkApplied(ctx, r);
    const batchKept = tracking ? undefined : keptOf(r);
    return {
      rows: counts(r),
      read: Number(r.read),
      high: r.high,
      highSeq: r.high_seq,
      ...(batchKept ? { kept: batchKept } : {}),
    };
  };
  /** Loads rows into a fresh staging table and applies them. */
  const applyStaged = async (batch: RowBatch) => {
    await dst.query(stagingDdl(STAGE, stage));
    await copyIn(dst, `COPY ${quoteIdent(STAGE)} FROM STDIN`, batch.chunks);
    // A fresh temporary table has no statistics (autovacuum never sees it): without them the
    // planner guesses its size and may hash the whole destination to join a few rows. With
    // them a small batch is joined by the destination's key index, so a batch costs what its
    // rows cost, not what the destination holds.
    await dst.query(`ANALYZE ${quoteIdent(STAGE)}`);
    for (const sql of tracking?.perBatch ?? []) await dst.query(sql);
    return applyFromStage();
  };
  let kept: KeptRows | undefined;
  if (tracking) {
    await dst.query(tracking.drop);
    await dst.query(tracking.create);
  }

  await announceStream(ctx, readQuery(shape, relation, w0));
  await src.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    let maxRead: string | null = null;
    const track = async (high: string | null) => {
      maxRead = await greatest(dst, curType, maxRead, high);
    };
    if (shape.mode === 'append' && shape.key.length === 0) {
      // Rows at or below the stored watermark may be loaded already: one transaction compares
      // them (as a multiset) with the destination's boundary window. Rows above it were never
      // loaded, so they go straight into the destination, batch by batch, in cursor order.
      if (w0 !== null) {
        // The window is streamed into the staging table (memory stays bounded) and compared
        // in one statement, so identical rows are counted against the destination once.
        const r = await commit(async () => {
          await dst.query(stagingDdl(STAGE, stage));
          await streamBatches(ctx, readQuery(shape, relation, w0, { upTo: w0 }), async (batch) => {
            await copyIn(dst, `COPY ${quoteIdent(STAGE)} FROM STDIN`, batch.chunks);
          });
          return applyFromStage();
        });
        await track(r.high);
      }
      const curIndex = shape.columns.indexOf(shape.cursor!.column);
      const cols = shape.columns.map(quoteIdent).join(', ');
      await streamBatches(
        ctx,
        readQuery(shape, relation, null, { above: w0, ordered: true }),
        async (batch) => {
          const high = copyField(batch.last, curIndex);
          const r = await commit(async () => {
            const n = await copyIn(dst, `COPY ${T} (${cols}) FROM STDIN`, batch.chunks);
            return { rows: { inserted: n, updated: 0, deleted: 0 }, read: batch.rows, high };
          });
          await track(r.high);
        },
      );
    } else {
      await streamBatches(ctx, readQuery(shape, relation, w0, { ordered: true }), async (batch) => {
        const r = await commit(() => applyStaged(batch));
        await track(r.high);
      });
    }
    if (pendingReset)
      await commit(async () => ({ rows: { inserted: 0, updated: 0, deleted: 0 }, read: 0, high: null }));
    await checkNotBackwards(ctx, w0, maxRead);
    if (tracking) kept = keptOf((await dst.query<Applied>(tracking.report)).rows[0]!);
  } finally {
    await src.query('ROLLBACK').catch(() => {});
    if (tracking) await dst.query(tracking.drop).catch(() => {});
  }
  return {
    name,
    mode: shape.mode,
    status: 'ok',
    rows: totals,
    read,
    durationMs: 0,
    watermark,
    ...(kept ? { kept } : {}),
  };
}
