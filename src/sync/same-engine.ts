// A run inside one engine: the mode's statement reads the source and writes the destination
// in one transaction, with the new watermark; no rows pass through wharf.
import { applyAndRecord, committed, inTransaction, reset } from './apply.js';
import { type RunCtx, stagingType } from './prepare.js';
import { CDC_SEQ, readQuery } from './sql.js';
import { readState } from './state.js';
import type { SyncResult } from './types.js';

export async function runSameEngine(ctx: RunCtx): Promise<SyncResult> {
  const { dst, shape, relation } = ctx.sides;
  const name = ctx.sync.name;
  return committed(
    inTransaction(dst, async () => {
      let state = await readState(dst, ctx.key);
      if (ctx.options.fullRefresh) {
        await reset(ctx);
        state = { watermark: null, lastSequence: null };
      }
      const seqType = shape.cdc ? stagingType(ctx, CDC_SEQ) : undefined;
      const r = await applyAndRecord(
        dst,
        { name, shape, key: ctx.key, ...(seqType ? { seqType } : {}) },
        readQuery(shape, relation, state.watermark),
        state,
      );
      ctx.options.hooks?.onProgress?.(name, r.read);
      return { name, mode: shape.mode, status: 'ok', ...r, durationMs: 0 };
    }),
  );
}
