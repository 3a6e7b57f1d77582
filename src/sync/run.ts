// `wharf sync` as a library function: runs the file's syncs one after another and returns a
// result per sync. Same connection: one SQL statement inside the engine per run, committed
// with the new watermark. Across connections: the source is read in one snapshot with COPY,
// ordered by the cursor, and each batch is committed in the destination with its watermark.
// Either way a run killed at any instant leaves the destination and its watermark consistent,
// and the next run continues exactly where the last commit ended.
import type pg from 'pg';
import type { LoadedConfig } from '../config/types.js';
import { killPoint } from '../kill-point.js';
import { foldIdent } from '../plan/normalize.js';
import { type OpenedConnection, openConnection } from '../providers/connect.js';
import { quoteIdent, quoteQualified } from '../providers/sql-quote.js';
import { describeQuery, describeTable, describeTables, estimateRows, type RelationInfo } from './catalog.js';
import { checkSync, type SyncIssue } from './check.js';
import { parseLookback, type SyncConfig, type SyncMode, splitTable } from './config.js';
import { copyField, copyIn, copyOut, type RowBatch } from './copy.js';
import { runFromRedshift } from './redshift-extract.js';
import { runIntoRedshift } from './redshift-load.js';
import { runOnRedshift } from './redshift-run.js';
import {
  applyStatement,
  CDC_CUR,
  CDC_OP,
  CDC_SEQ,
  countStatement,
  fullSwapStatements,
  KEPT_KEYS_SHOWN,
  keptTracking,
  keysTableDdl,
  mergeStatements,
  readList,
  readNames,
  readQuery,
  type SyncShape,
  shadowFetchStatements,
  sourceRelation,
  stagingDdl,
} from './sql.js';
import {
  clearState,
  keysTableName,
  lockSync,
  readState,
  STATE_SCHEMA,
  STATE_TABLE,
  type SyncKey,
  type SyncState,
  syncKey,
  writeState,
} from './state.js';

export interface RowCounts {
  inserted: number;
  updated: number;
  deleted: number;
}

export interface SyncResult {
  name: string;
  mode: SyncMode;
  /** skipped: not run because an earlier sync failed under --fail-fast. */
  status: 'ok' | 'failed' | 'skipped';
  rows: RowCounts;
  /** Source rows read (including the boundary rows that were already loaded). */
  read: number;
  durationMs: number;
  /** The watermark after the run (null for mode full). */
  watermark?: string | null;
  /**
   * merge: destination rows kept as they are because the source's copy has an older cursor (the
   * source's row went backwards: e.g. a long transaction committed an older `updated_at` after
   * a newer copy was loaded). `keys`: a few of them, as text. Absent when there were none.
   */
  kept?: KeptRows;
  error?: string;
  /** Problems found before any data moved. */
  issues?: SyncIssue[];
  /**
   * --dry-run: nothing was changed; `rows` and `read` are what the run would write and read
   * (and `watermark` the one it starts from). `statements`: what would run; `rows`: the rows
   * it would read (as `read`; kept for earlier readers); `watermark`: the one it would store.
   */
  dryRun?: {
    statements: string[];
    rows: number;
    watermark: string | null;
    /** false when the rows written could not be counted (then `rows` holds zeros). */
    counted?: boolean;
  };
}

export interface KeptRows {
  rows: number;
  keys: string[];
}

export interface SyncRunResult {
  ok: boolean;
  syncs: SyncResult[];
}

/** How a sync moves its rows, known once both sides are described. */
export interface SyncRoute {
  /** The work is SQL inside one engine: no rows pass through wharf, so there are none to count as it runs. */
  pushDown: boolean;
  /** Rows moving through wharf: the planner's estimate of the rows the run reads, when it is cheap to get. */
  estimatedRows?: number;
}

export interface SyncHooks {
  onStart?(name: string, mode: SyncMode): void;
  /** Once per run, before rows move: in the engine, or streamed (with an estimate). */
  onRoute?(name: string, route: SyncRoute): void;
  /** Rows read so far; called after every committed batch. */
  onProgress?(name: string, rows: number): void;
  onEnd?(result: SyncResult): void;
}

export interface SyncRunOptions {
  /** Run only these syncs (default all, in file order). */
  names?: string[];
  /** Forget the watermark and reload: the destination is emptied in the first load's transaction. */
  fullRefresh?: boolean;
  /** Print what would run; change nothing. */
  dryRun?: boolean;
  /** Stop at the first failed sync (the rest are reported as skipped). */
  failFast?: boolean;
  /** How long to wait for another run of the same sync (default 0: fail at once). */
  lockTimeoutMs?: number;
  /** Rows per batch across connections, for every sync (default: each sync's batchRows, or 50,000). */
  batchRows?: number;
  hooks?: SyncHooks;
  open?: typeof openConnection;
}

export class SyncError extends Error {
  constructor(
    message: string,
    readonly issues: SyncIssue[] = [],
  ) {
    super(message);
    this.name = 'SyncError';
  }
}

const DEFAULT_BATCH_ROWS = 50_000;

/** Why a sync between these two connections cannot run. */
export function crossEngineMessage(from: string, to: string): string {
  return (
    `${from} -> ${to}: rows move inside one connection, between PostgreSQL connections (local, postgres), and between PostgreSQL and Redshift, ` +
    'but not between two Redshift connections (share the data with a datashare instead)'
  );
}
const STAGE = 'wharf_stage';
/** Session table of a cross-connection merge's kept-row candidates (see keptTracking). */
const KEPT = 'wharf_kept';

export async function runSyncs(loaded: LoadedConfig, options: SyncRunOptions = {}): Promise<SyncRunResult> {
  const all = loaded.config.syncs ?? [];
  const wanted = options.names?.length ? options.names : all.map((s) => s.name);
  const unknown = wanted.filter((n) => !all.some((s) => s.name === n));
  if (unknown.length)
    throw new SyncError(
      `no sync named ${unknown.join(', ')} in ${loaded.file} (declared: ${all.map((s) => s.name).join(', ') || 'none'})`,
    );
  const open = options.open ?? openConnection;
  const conns = new Map<string, Promise<OpenedConnection>>();
  const connection = (name: string) => {
    let c = conns.get(name);
    if (!c) {
      c = open(name, loaded.connections[name]!, loaded.baseDir);
      conns.set(name, c);
    }
    return c;
  };
  const results: SyncResult[] = [];
  try {
    let stop = false;
    for (const sync of all.filter((s) => wanted.includes(s.name))) {
      const empty = { inserted: 0, updated: 0, deleted: 0 };
      if (stop) {
        const r: SyncResult = {
          name: sync.name,
          mode: sync.mode,
          status: 'skipped',
          rows: empty,
          read: 0,
          durationMs: 0,
        };
        results.push(r);
        options.hooks?.onEnd?.(r);
        continue;
      }
      options.hooks?.onStart?.(sync.name, sync.mode);
      const t0 = performance.now();
      let r: SyncResult;
      try {
        r = await runOne(sync, loaded, connection, options);
      } catch (e) {
        r = {
          name: sync.name,
          mode: sync.mode,
          status: 'failed',
          rows: empty,
          read: 0,
          durationMs: 0,
          error: (e as Error).message,
          ...(e instanceof SyncError && e.issues.length ? { issues: e.issues } : {}),
        };
        if (options.failFast) stop = true;
      }
      r.durationMs = Math.round(performance.now() - t0);
      results.push(r);
      options.hooks?.onEnd?.(r);
    }
  } finally {
    for (const c of conns.values()) await (await c.catch(() => undefined))?.close();
  }
  return { ok: results.every((r) => r.status === 'ok'), syncs: results };
}

interface Sides {
  src: pg.Client;
  dst: pg.Client;
  sameEngine: boolean;
  srcInfo: RelationInfo;
  dstInfo: RelationInfo;
  relation: string;
  shape: SyncShape;
}

async function runOne(
  sync: SyncConfig,
  loaded: LoadedConfig,
  connection: (name: string) => Promise<OpenedConnection>,
  options: SyncRunOptions,
): Promise<SyncResult> {
  const srcName = sync.from.connection ?? loaded.defaultConnection;
  const dstName = sync.to.connection ?? loaded.defaultConnection;
  const dstConn = await connection(dstName);
  const srcConn = await connection(srcName);
  if (dstConn.dataApi && srcName === dstName) return runOnRedshift(sync, dstConn, options);
  if (dstConn.dataApi && srcConn.connectSql)
    return runIntoRedshift(
      sync,
      srcConn,
      dstConn,
      options,
      options.batchRows ?? sync.batchRows ?? DEFAULT_BATCH_ROWS,
    );
  if (srcConn.dataApi && dstConn.connectSql) return runFromRedshift(sync, srcConn, dstConn, options);
  if (!dstConn.connectSql || !srcConn.connectSql)
    throw new SyncError(`sync ${sync.name}: ${crossEngineMessage(srcName, dstName)}`);
  const sessions: pg.Client[] = [];
  try {
    // The session each connection opened at connect time serves the first sync run on it.
    const dst = dstConn.takeSession?.() ?? (await dstConn.connectSql());
    sessions.push(dst);
    const sameEngine = srcName === dstName;
    const src = sameEngine ? dst : (srcConn.takeSession?.() ?? (await srcConn.connectSql()));
    if (!sameEngine) sessions.push(src);
    const sides = await describe(sync, src, dst, sameEngine);
    const batchRows = options.batchRows ?? sync.batchRows ?? DEFAULT_BATCH_ROWS;
    if (options.dryRun) return await dryRun(sync, sides, options, batchRows);
    const key = syncKey(sync.name, sides.shape.target);
    const unlock = await lockSync(dst, key, options.lockTimeoutMs ?? 0, { ensureState: true });
    try {
      if (sides.shape.cdc) {
        await adoptLegacyKeysTable(dst, sync.name, sides.shape.cdc.keysTable.name);
        const keyTypes = sides.shape.key.map((k) => sides.dstInfo.columns.find((c) => c.name === k)!.type);
        const seqType = sides.srcInfo.columns.find((c) => c.name === sides.shape.cdc!.sequence)!.type;
        await dst.query(keysTableDdl(sides.shape, keyTypes, seqType));
      }
      const ctx: RunCtx = { sync, key, sides, options, batchRows };
      if (sameEngine) options.hooks?.onRoute?.(sync.name, { pushDown: true });
      if (sync.mode === 'full') return await runFull(ctx);
      return sameEngine ? await runSameEngine(ctx) : await runCrossConnection(ctx);
    } finally {
      await unlock();
    }
  } finally {
    for (const s of sessions) await s.end().catch(() => {});
  }
}

/** A cdc key table of the earlier layout (`cdc_<name>`) is renamed to this sync's, once. */
async function adoptLegacyKeysTable(client: pg.Client, name: string, current: string): Promise<void> {
  const legacy = `cdc_${name}`.slice(0, 63);
  if (legacy === current) return;
  const { rows } = await client.query<{ move: boolean }>(
    'SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NULL AS move',
    [quoteQualified(STATE_SCHEMA, legacy), quoteQualified(STATE_SCHEMA, current)],
  );
  if (rows[0]?.move)
    await client.query(
      `ALTER TABLE ${quoteQualified(STATE_SCHEMA, legacy)} RENAME TO ${quoteIdent(current)}`,
    );
}

async function describe(
  sync: SyncConfig,
  src: pg.Client,
  dst: pg.Client,
  sameEngine: boolean,
): Promise<Sides> {
  const target = splitTable(sync.to.table);
  const relation = sourceRelation(sync.from);
  // One catalog query on the destination: its table, the source table too on the same engine,
  // and the server's version.
  const srcTable = sync.from.table ? splitTable(sync.from.table) : undefined;
  const both = sameEngine && srcTable !== undefined;
  const described = await describeTables(dst, both ? [target, srcTable] : [target]);
  const dstInfo = described.relations[0]!;
  const srcInfo = both ? described.relations[1]! : await describeSource(src, sync, relation);
  const issues = checkSync(sync, srcInfo, dstInfo);
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length)
    throw new SyncError(`sync ${sync.name}: ${errors.map((e) => e.message).join('; ')}`, issues);
  const shape = shapeOf(sync, srcInfo, dstInfo);
  shape.mergeReturning = described.serverVersion >= 170000;
  shape.mergePlain = described.serverVersion >= 150000 && described.serverVersion < 170000;
  return { src, dst, sameEngine, srcInfo, dstInfo, relation, shape };
}

/** The source's columns on a PostgreSQL engine: its table, or its query planned with LIMIT 0. */
export async function describeSource(
  client: pg.Client,
  sync: SyncConfig,
  relation: string,
): Promise<RelationInfo> {
  if (sync.from.table) {
    const t = splitTable(sync.from.table);
    return describeTable(client, t.schema, t.name);
  }
  try {
    return await describeQuery(client, relation);
  } catch (e) {
    throw new SyncError(`sync ${sync.name}: the source query fails: ${(e as Error).message}`);
  }
}

export function shapeOf(sync: SyncConfig, srcInfo: RelationInfo, dstInfo: RelationInfo): SyncShape {
  const target = splitTable(sync.to.table);
  const curCol = sync.cursor
    ? foldIdent(sync.cursor.column)
    : sync.cdc
      ? foldIdent(sync.cdc.sequence)
      : undefined;
  const shape: SyncShape = {
    mode: sync.mode,
    target,
    columns: dstInfo.columns.map((c) => c.name),
    key: (sync.primaryKey ?? []).map(foldIdent),
  };
  const sorted = (xs: string[]) => [...xs].sort().join(',');
  if (shape.key.length > 0 && sorted(srcInfo.primaryKey) === sorted(shape.key)) shape.sourceUniqueKey = true;
  if (curCol) shape.cursor = { column: curCol, type: srcInfo.columns.find((c) => c.name === curCol)!.type };
  const lb = sync.cursor?.lookback !== undefined ? parseLookback(sync.cursor.lookback) : undefined;
  if (lb) shape.lookback = lb;
  if (sync.mode === 'cdc' && sync.cdc)
    shape.cdc = {
      op: foldIdent(sync.cdc.op),
      sequence: foldIdent(sync.cdc.sequence),
      insert: sync.cdc.insert ?? 'I',
      update: sync.cdc.update ?? 'U',
      delete: sync.cdc.delete ?? 'D',
      keysTable: { schema: STATE_SCHEMA, name: keysTableName(target, sync.name) },
    };
  return shape;
}

interface RunCtx {
  sync: SyncConfig;
  key: SyncKey;
  sides: Sides;
  options: SyncRunOptions;
  batchRows: number;
}

interface Applied {
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

/** Typed columns of the rows a run reads (the staging table). */
function stagingColumns(s: Sides): { name: string; type: string }[] {
  const typeOf = (info: RelationInfo, c: string) => info.columns.find((x) => x.name === c)!.type;
  return readNames(s.shape).map((name) => {
    if (s.shape.cdc) {
      if (name === CDC_OP) return { name, type: typeOf(s.srcInfo, s.shape.cdc.op) };
      if (name === CDC_SEQ) return { name, type: typeOf(s.srcInfo, s.shape.cdc.sequence) };
      if (name === CDC_CUR) return { name, type: s.shape.cursor!.type };
    }
    return { name, type: typeOf(s.dstInfo, name) };
  });
}

async function inTransaction<T>(client: pg.Client, fn: () => Promise<T>): Promise<T> {
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

/** Empties the destination (and the cdc key table) and forgets the state: --full-refresh. */
async function reset(ctx: RunCtx): Promise<void> {
  const { dst, shape } = ctx.sides;
  await dst.query(`TRUNCATE ${quoteQualified(shape.target.schema, shape.target.name)}`);
  if (shape.cdc)
    await dst.query(`TRUNCATE ${quoteQualified(shape.cdc.keysTable.schema, shape.cdc.keysTable.name)}`);
  await clearState(dst, ctx.key);
}

/** greatest(a, b) of two cursor values (text), compared as the cursor's type. */
async function greatest(
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
async function advance(
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

async function below(client: pg.Client, type: string, a: string, b: string): Promise<boolean> {
  const { rows } = await client.query<{ lt: boolean }>(`SELECT $1::${type} < $2::${type} AS lt`, [a, b]);
  return rows[0]!.lt;
}

function checkApplied(ctx: RunCtx, r: Applied): void {
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

/** A cursor that went below the stored watermark means the source was rewritten or reloaded. */
async function checkNotBackwards(ctx: RunCtx, watermark: string | null, high: string | null): Promise<void> {
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

function counts(r: Applied): RowCounts {
  return { inserted: Number(r.inserted), updated: Number(r.updated), deleted: Number(r.deleted) };
}

/** The rows a statement kept (see SyncResult.kept), or undefined when none. */
function keptOf(r: { kept?: string | number; kept_keys?: string[] | null }): KeptRows | undefined {
  const rows = Number(r.kept ?? 0);
  return rows > 0 ? { rows, keys: r.kept_keys ?? [] } : undefined;
}

/** Adds one statement's kept rows to a run's. */
function addKept(total: KeptRows | undefined, more: KeptRows | undefined): KeptRows | undefined {
  if (!more) return total;
  if (!total) return { rows: more.rows, keys: [...more.keys] };
  const keys = [...total.keys, ...more.keys.filter((k) => !total.keys.includes(k))].slice(0, KEPT_KEYS_SHOWN);
  return { rows: total.rows + more.rows, keys };
}

async function runSameEngine(ctx: RunCtx): Promise<SyncResult> {
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

/** A run that is one transaction: its commit is its only batch (see kill-point.ts). */
async function committed<T>(run: Promise<T>): Promise<T> {
  const r = await run;
  killPoint('after-commit-before-state');
  killPoint('after-batch');
  return r;
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
async function applyRows(
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

function stagingType(ctx: RunCtx, column: string): string {
  return stagingColumns(ctx.sides).find((c) => c.name === column)!.type;
}

/** Tells the hooks that rows will stream through wharf, with the source's estimate of how many. */
async function announceStream(ctx: RunCtx, select: string): Promise<void> {
  const hook = ctx.options.hooks?.onRoute;
  if (!hook) return;
  const estimatedRows = await estimateRows(ctx.sides.src, select);
  hook(ctx.sync.name, { pushDown: false, ...(estimatedRows !== undefined ? { estimatedRows } : {}) });
}

/** Streams `COPY (select) TO STDOUT` on the source in batches of rows; `fn` consumes each batch. */
async function streamBatches(
  ctx: RunCtx,
  select: string,
  onBatch: (batch: RowBatch) => Promise<void>,
): Promise<void> {
  for await (const batch of copyOut(ctx.sides.src, `COPY (${select}) TO STDOUT`, ctx.batchRows))
    await onBatch(batch);
}

async function runCrossConnection(ctx: RunCtx): Promise<SyncResult> {
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

/** mode full: everything into a staging table, then TRUNCATE + INSERT in the same transaction. */
async function runFull(ctx: RunCtx): Promise<SyncResult> {
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
const DRY_TARGET = 'wharf_dry_target';
const DRY_KEYS = 'wharf_dry_keys';
const DRY_SEEN = 'wharf_dry_seen';

interface Measured {
  rows: RowCounts;
  read: number;
  /** The watermark the run would store. */
  watermark: string | null;
}

async function dryRun(
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
