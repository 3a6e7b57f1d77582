// The watermark's arithmetic: cursor values are held as text and compared as the cursor's
// type by the destination, and a cursor that went below the stored watermark stops the run.
import type pg from 'pg';
import type { RunCtx } from './prepare.js';
import type { SyncShape } from './sql.js';
import { SyncError } from './types.js';

/** greatest(a, b) of two cursor values (text), compared as the cursor's type. */
export async function greatest(
  client: pg.Client,
  type: string,
  a: string | null,
  b: string | null,
): Promise<string | null> {
  if (a === null) return b;
  if (b === null) return a;
  const { rows } = await client.query<{ g: string }>(`SELECT greatest($1::${type}, $2::${type})::text AS g`, [
    a,
    b,
  ]);
  return rows[0]!.g;
}

/**
 * The watermark after a run that read up to `high` from `old`: greatest(old, high), and whether
 * `high` went below `old` (or no row reached it), in one round trip.
 */
export async function advance(
  client: pg.Client,
  type: string,
  old: string | null,
  high: string | null,
): Promise<{ watermark: string | null; backwards: boolean }> {
  if (old === null) return { watermark: high, backwards: false };
  if (high === null) return { watermark: old, backwards: true };
  const { rows } = await client.query<{ g: string; lt: boolean }>(
    `SELECT greatest($1::${type}, $2::${type})::text AS g, $2::${type} < $1::${type} AS lt`,
    [old, high],
  );
  return { watermark: rows[0]!.g, backwards: rows[0]!.lt };
}

export async function below(client: pg.Client, type: string, a: string, b: string): Promise<boolean> {
  const { rows } = await client.query<{ lt: boolean }>(`SELECT $1::${type} < $2::${type} AS lt`, [a, b]);
  return rows[0]!.lt;
}

/** A cursor that went below the stored watermark means the source was rewritten or reloaded. */
export async function checkNotBackwards(
  ctx: RunCtx,
  watermark: string | null,
  high: string | null,
): Promise<void> {
  if (watermark === null) return;
  const s = ctx.sides.shape;
  if (high === null || (await below(ctx.sides.dst, s.cursor!.type, high, watermark)))
    throw backwardsError(ctx, watermark, high);
}

function backwardsError(ctx: RunCtx, watermark: string, high: string | null): SyncError {
  return cursorBackwardsError(ctx.sync.name, ctx.sides.shape, watermark, high);
}

/** The source's highest cursor is below the stored watermark: the source was rewritten. */
export function cursorBackwardsError(
  name: string,
  shape: SyncShape,
  watermark: string | null,
  high: string | null,
): SyncError {
  return new SyncError(
    `sync ${name}: cursor ${shape.cursor!.column} went backwards: the highest value in the source is ${high ?? '(no rows)'}, below the stored watermark ${watermark}. ` +
      'The source was reloaded or rewritten, or the row holding the watermark was deleted; nothing was changed. Check the source, then run with --full-refresh.',
  );
}
