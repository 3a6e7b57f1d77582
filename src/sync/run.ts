// `wharf sync` as a library function: runs the file's syncs one after another and returns a
// result per sync. Same connection: one SQL statement inside the engine per run, committed
// with the new watermark. Across connections: the source is read in one snapshot with COPY,
// ordered by the cursor, and each batch is committed in the destination with its watermark.
// Either way a run killed at any instant leaves the destination and its watermark consistent,
// and the next run continues exactly where the last commit ended.
//
// This file holds the loop over the syncs and the choice of path for each: an engine's own
// (engines.ts), or PostgreSQL sessions, described and checked (prepare.ts), locked, then run by
// mode and topology: full.ts (mode full), same-engine.ts (one statement in one engine),
// stream.ts (batches across connections), dry-run.ts (--dry-run, measured). apply.ts applies
// rows and records state (and resets it for --full-refresh); watermark.ts compares cursor
// values; types.ts holds the options, hooks and results. It re-exports what callers use.
import type pg from 'pg';
import type { LoadedConfig } from '../config/types.js';
import { type OpenedConnection, openConnection } from '../providers/connect.js';
import { type AnySyncConfig, isExport } from './config.js';
import { dryRun } from './dry-run.js';
import { crossEngineMessage, engineRun } from './engines.js';
import { runExport } from './export/index.js';
import { runFull } from './full.js';
import { adoptLegacyKeysTable, describe, type RunCtx } from './prepare.js';
import { runSameEngine } from './same-engine.js';
import { keysTableDdl } from './sql.js';
import { lockSync, syncKey } from './state.js';
import { runCrossConnection } from './stream.js';
import { SyncError, type SyncResult, type SyncRunOptions, type SyncRunResult } from './types.js';

export { applyAndRecord, badOpsError } from './apply.js';
export { crossEngineMessage } from './engines.js';
export { describeSource, shapeOf } from './prepare.js';
export type {
  KeptRows,
  RowCounts,
  SyncHooks,
  SyncResult,
  SyncRoute,
  SyncRunOptions,
  SyncRunResult,
} from './types.js';
export { SyncError } from './types.js';
export { cursorBackwardsError } from './watermark.js';

const DEFAULT_BATCH_ROWS = 50_000;

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

async function runOne(
  sync: AnySyncConfig,
  loaded: LoadedConfig,
  connection: (name: string) => Promise<OpenedConnection>,
  options: SyncRunOptions,
): Promise<SyncResult> {
  if (isExport(sync)) return runExport(sync, loaded, connection, options);
  const srcName = sync.from.connection ?? loaded.defaultConnection;
  const dstName = sync.to.connection ?? loaded.defaultConnection;
  const dstConn = await connection(dstName);
  const srcConn = await connection(srcName);
  const batchRows = options.batchRows ?? sync.batchRows ?? DEFAULT_BATCH_ROWS;
  const onEngine = engineRun(
    sync,
    { name: srcName, conn: srcConn },
    { name: dstName, conn: dstConn },
    options,
    batchRows,
  );
  if (onEngine) return onEngine;
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
