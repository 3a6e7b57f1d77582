// --dry-run: what the run would write, measured without changing anything. No lock is taken
// (nothing is written, so a dry run neither waits for a running sync nor blocks one), and no
// state table, key table or schema is created.
//
// One connection: one read-only SELECT (`countStatement`) in a READ ONLY transaction counts
// what the run's statement would insert, update and delete, by the same rules. Running the
// real statement and rolling it back would be exact too, but it takes the row locks of every
// row it would write (blocking writers and other runs for as long as it takes), does all the
// writing work (WAL, index updates, dead rows left to vacuum), and needs the state and key
// tables to exist (creating them is DDL on the destination). A plan should be cheap and
// harmless, so it only reads.
//
// Across connections the rows are on the source, and a run applies them batch by batch (a
// key changed in several batches is counted once per batch that writes it, e.g. insert then
// delete), so the batches are replayed exactly: each is copied (COPY, bounded memory) into a
// temporary table on the destination and applied with the real statement to temporary shadow
// tables that hold only the destination rows (and cdc key-table rows) with the keys read so
// far, in one transaction that is rolled back. The destination's own tables are only read.
// `append` without a key copies only the boundary window (compared with the destination as
// the run does) and counts the rows above it on the source. This reads as much from the
// source as the run would. The batches are the run's (same query, same ORDER BY, same batch
// size), up to the order the engine gives rows with equal cursor values.
//
// Like the run, --full-refresh does not count the rows it empties as deleted (it starts from
// an empty destination), and mode full reports every destination row deleted either way.
import type pg from 'pg';
import { quoteIdent, quoteQualified } from '../providers/sql-quote.js';
import { type Applied, checkApplied, counts } from './apply.js';
import type { SyncConfig } from './config.js';
import { copyIn } from './copy.js';
import { type RunCtx, type Sides, STAGE, stagingColumns } from './prepare.js';
import {
  applyStatement,
  countStatement,
  fullSwapStatements,
  keysTableDdl,
  readList,
  readQuery,
  type SyncShape,
  shadowFetchStatements,
  stagingDdl,
} from './sql.js';
import { readState, STATE_SCHEMA, STATE_TABLE, syncKey } from './state.js';
import { streamBatches } from './stream.js';
import type { RowCounts, SyncResult, SyncRunOptions } from './types.js';
import { checkNotBackwards, greatest } from './watermark.js';

const DRY_TARGET = 'wharf_dry_target';
const DRY_KEYS = 'wharf_dry_keys';
const DRY_SEEN = 'wharf_dry_seen';

interface Measured {
  rows: RowCounts;
  read: number;
  /** The watermark the run would store. */
  watermark: string | null;
}

export async function dryRun(
  sync: SyncConfig,
  s: Sides,
  options: SyncRunOptions,
  batchRows: number,
): Promise<SyncResult> {
  const { dst, shape, relation } = s;
  const key = syncKey(sync.name, shape.target);
  const state = await readState(dst, key);
  const w = options.fullRefresh ? null : state.watermark;
  const T = quoteQualified(shape.target.schema, shape.target.name);
  const statements: string[] = [];
  if (options.fullRefresh && sync.mode !== 'full') statements.push(`TRUNCATE ${T}`);
  if (sync.mode === 'full') {
    const select = `SELECT ${readList(shape)} FROM ${relation} s`;
    statements.push(stagingDdl(STAGE, stagingColumns(s)));
    statements.push(
      s.sameEngine
        ? `INSERT INTO ${quoteIdent(STAGE)} ${select}`
        : `COPY (${select}) TO STDOUT  -- on ${sync.from.connection ?? 'the source'}, into COPY ${quoteIdent(STAGE)} FROM STDIN`,
    );
    statements.push(...fullSwapStatements(shape, STAGE));
  } else if (s.sameEngine) {
    statements.push(applyStatement(shape, readQuery(shape, relation, w), w));
  } else if (sync.mode === 'append' && shape.key.length === 0) {
    if (w !== null) {
      statements.push(
        `COPY (${readQuery(shape, relation, w, { upTo: w })}) TO STDOUT  -- on the source: the boundary window`,
      );
      statements.push(`COPY ${quoteIdent(STAGE)} FROM STDIN  -- then:`);
      statements.push(applyStatement(shape, `SELECT * FROM ${quoteIdent(STAGE)}`, w));
    }
    statements.push(
      `COPY (${readQuery(shape, relation, null, { above: w, ordered: true })}) TO STDOUT  -- on the source, in batches of ${batchRows} rows`,
    );
    statements.push(`COPY ${T} (${shape.columns.map(quoteIdent).join(', ')}) FROM STDIN  -- per batch`);
  } else {
    statements.push(
      `COPY (${readQuery(shape, relation, w, { ordered: true })}) TO STDOUT  -- on the source, in batches of ${batchRows} rows`,
    );
    statements.push(`COPY ${quoteIdent(STAGE)} FROM STDIN  -- per batch, then:`);
    statements.push(applyStatement(shape, `SELECT * FROM ${quoteIdent(STAGE)}`, w));
  }
  statements.push(`-- then, in the same transaction: the watermark in ${STATE_TABLE}`);
  const ctx: RunCtx = { sync, key, sides: s, options, batchRows };
  const m =
    sync.mode === 'full'
      ? await measureFull(ctx)
      : s.sameEngine
        ? await measureSameEngine(ctx, w)
        : await measureCrossConnection(ctx, w);
  return {
    name: sync.name,
    mode: sync.mode,
    status: 'ok',
    rows: m.rows,
    read: m.read,
    durationMs: 0,
    watermark: w,
    dryRun: { statements, rows: m.read, watermark: m.watermark },
  };
}

/** Runs `fn` in a transaction that is always rolled back. */
async function rolledBack<T>(client: pg.Client, begin: string, fn: () => Promise<T>): Promise<T> {
  await client.query(begin);
  try {
    return await fn();
  } finally {
    await client.query('ROLLBACK').catch(() => {});
  }
}

/** The cdc key table a run would use, if it exists (a legacy one would be adopted); else null. */
async function existingKeysTable(ctx: RunCtx): Promise<{ schema: string; name: string } | null> {
  const cdc = ctx.sides.shape.cdc;
  if (!cdc || ctx.options.fullRefresh) return null;
  for (const name of [cdc.keysTable.name, `cdc_${ctx.sync.name}`.slice(0, 63)]) {
    const { rows } = await ctx.sides.dst.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [
      quoteQualified(STATE_SCHEMA, name),
    ]);
    if (rows[0]?.ok) return { schema: STATE_SCHEMA, name };
  }
  return null;
}

/** mode full: every source row is inserted, every destination row deleted (as runFull reports). */
async function measureFull(ctx: RunCtx): Promise<Measured> {
  const { src, dst, shape, relation, sameEngine } = ctx.sides;
  const T = quoteQualified(shape.target.schema, shape.target.name);
  const count = async (client: pg.Client, from: string) =>
    Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${from}`)).rows[0]!.n);
  const begin = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';
  return rolledBack(dst, begin, async () => {
    const before = await count(dst, T);
    const loaded = sameEngine
      ? await count(dst, `${relation} s`)
      : await rolledBack(src, begin, () => count(src, `${relation} s`));
    return { rows: { inserted: loaded, updated: 0, deleted: before }, read: loaded, watermark: null };
  });
}

/** The new watermark (and the run's checks) from what the run's statement would return. */
async function afterApplied(ctx: RunCtx, w: string | null, high: string | null): Promise<string | null> {
  await checkNotBackwards(ctx, w, high);
  return greatest(ctx.sides.dst, ctx.sides.shape.cursor!.type, w, high);
}

async function measureSameEngine(ctx: RunCtx, w: string | null): Promise<Measured> {
  const { dst, shape, relation } = ctx.sides;
  return rolledBack(dst, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async () => {
    const keysTable = await existingKeysTable(ctx);
    const sql = countStatement(shape, readQuery(shape, relation, w), w, {
      emptyDestination: Boolean(ctx.options.fullRefresh),
      keysTable,
    });
    const r = (await dst.query<Applied>(sql)).rows[0]!;
    checkApplied(ctx, r);
    return { rows: counts(r), read: Number(r.read), watermark: await afterApplied(ctx, w, r.high) };
  });
}

async function measureCrossConnection(ctx: RunCtx, w: string | null): Promise<Measured> {
  const { src, dst, shape, relation, dstInfo } = ctx.sides;
  const totals: RowCounts = { inserted: 0, updated: 0, deleted: 0 };
  let read = 0;
  let maxRead: string | null = null;
  const add = async (r: Applied) => {
    checkApplied(ctx, r);
    totals.inserted += Number(r.inserted);
    totals.updated += Number(r.updated);
    totals.deleted += Number(r.deleted);
    read += Number(r.read);
    maxRead = await greatest(dst, shape.cursor!.type, maxRead, r.high);
  };
  const fromStage = `SELECT * FROM ${quoteIdent(STAGE)}`;
  const stage = () => dst.query(stagingDdl(STAGE, stagingColumns(ctx.sides)));
  const dstType = (c: string) => dstInfo.columns.find((x) => x.name === c)!.type;
  await rolledBack(src, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', () =>
    rolledBack(dst, 'BEGIN', async () => {
      if (shape.mode === 'append' && shape.key.length === 0) {
        if (w !== null) {
          await stage();
          await streamBatches(ctx, readQuery(shape, relation, w, { upTo: w }), async (batch) => {
            await copyIn(dst, `COPY ${quoteIdent(STAGE)} FROM STDIN`, batch.chunks);
          });
          await add((await dst.query<Applied>(countStatement(shape, fromStage, w))).rows[0]!);
        }
        const above = readQuery(shape, relation, null, { above: w });
        const { rows } = await src.query<{ n: string; high: string | null }>(
          `SELECT count(*) AS n, max(a.${quoteIdent(shape.cursor!.column)})::text AS high FROM (${above}) a`,
        );
        const n = rows[0]!.n;
        await add({
          inserted: n,
          updated: 0,
          deleted: 0,
          read: n,
          high: rows[0]!.high,
          high_seq: null,
          bad_ops: 0,
        });
        return;
      }
      // Shadow tables stand in for the destination (and the cdc key table): the real statement
      // is applied to them, batch by batch, as the run would apply it to the destination.
      const keysTable = await existingKeysTable(ctx);
      const shadow: SyncShape = { ...shape, target: { schema: 'pg_temp', name: DRY_TARGET } };
      await dst.query(
        stagingDdl(
          DRY_TARGET,
          shape.columns.map((c) => ({ name: c, type: dstType(c) })),
        ),
      );
      await dst.query(
        stagingDdl(
          DRY_SEEN,
          shape.key.map((c) => ({ name: c, type: dstType(c) })),
        ),
      );
      if (shape.cdc) {
        shadow.cdc = { ...shape.cdc, keysTable: { schema: 'pg_temp', name: DRY_KEYS } };
        const seqType = ctx.sides.srcInfo.columns.find((c) => c.name === shape.cdc!.sequence)!.type;
        await dst.query(keysTableDdl(shadow, shape.key.map(dstType), seqType));
      }
      const fetch = ctx.options.fullRefresh
        ? []
        : shadowFetchStatements(shape, {
            stage: STAGE,
            seen: DRY_SEEN,
            shadow: DRY_TARGET,
            keysTable,
            shadowKeys: DRY_KEYS,
          });
      await stage();
      await streamBatches(ctx, readQuery(shape, relation, w, { ordered: true }), async (batch) => {
        await dst.query(`TRUNCATE ${quoteIdent(STAGE)}`);
        await copyIn(dst, `COPY ${quoteIdent(STAGE)} FROM STDIN`, batch.chunks);
        await dst.query(`ANALYZE ${quoteIdent(STAGE)}`);
        for (const sql of fetch) await dst.query(sql);
        await add((await dst.query<Applied>(applyStatement(shadow, fromStage, w))).rows[0]!);
      });
    }),
  );
  return { rows: totals, read, watermark: await afterApplied(ctx, w, maxRead) };
}
