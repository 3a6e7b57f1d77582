// Mode full: every run loads the whole source into a staging table, then empties the
// destination and inserts the staged rows, in one transaction with the run's state.
import { quoteIdent, quoteQualified } from '../providers/sql-quote.js';
import { committed, inTransaction } from './apply.js';
import { copyIn } from './copy.js';
import { type RunCtx, STAGE, stagingColumns } from './prepare.js';
import { fullSwapStatements, readList, stagingDdl } from './sql.js';
import { writeState } from './state.js';
import { announceStream, streamBatches } from './stream.js';
import type { SyncResult } from './types.js';

/** mode full: everything into a staging table, then TRUNCATE + INSERT in the same transaction. */
export async function runFull(ctx: RunCtx): Promise<SyncResult> {
  const { src, dst, shape, relation, sameEngine } = ctx.sides;
  const name = ctx.sync.name;
  const cols = shape.columns.map(quoteIdent).join(', ');
  const select = `SELECT ${readList(shape)} FROM ${relation} s`;
  return committed(
    inTransaction(dst, async () => {
      await dst.query(stagingDdl(STAGE, stagingColumns(ctx.sides)));
      let loaded = 0;
      if (sameEngine) {
        const r = await dst.query(`INSERT INTO ${quoteIdent(STAGE)} (${cols}) ${select}`);
        loaded = r.rowCount ?? 0;
      } else {
        await announceStream(ctx, select);
        await src.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        try {
          await streamBatches(ctx, select, async (batch) => {
            loaded += await copyIn(dst, `COPY ${quoteIdent(STAGE)} (${cols}) FROM STDIN`, batch.chunks);
            ctx.options.hooks?.onProgress?.(name, loaded);
          });
        } finally {
          await src.query('ROLLBACK').catch(() => {});
        }
      }
      const T = quoteQualified(shape.target.schema, shape.target.name);
      const { rows } = await dst.query<{ n: string }>(`SELECT count(*) AS n FROM ${T}`);
      const before = Number(rows[0]!.n);
      for (const sql of fullSwapStatements(shape, STAGE)) await dst.query(sql);
      await writeState(dst, ctx.key, 'full', { watermark: null, lastSequence: null }, loaded);
      ctx.options.hooks?.onProgress?.(name, loaded);
      return {
        name,
        mode: shape.mode,
        status: 'ok' as const,
        rows: { inserted: loaded, updated: 0, deleted: before },
        read: loaded,
        durationMs: 0,
        watermark: null,
      };
    }),
  );
}
