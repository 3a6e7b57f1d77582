// What a sync run takes and gives back: its options and hooks, the result of each sync, and
// the error that stops one sync. Every path a run can take (inside one engine, across
// connections, and the engines' own paths in engines.ts) speaks these types.
import type { openConnection } from '../providers/connect.js';
import type { SyncIssue } from './check.js';
import type { SyncMode } from './config.js';
import type { ExportSummary } from './export/follow-ups.js';

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
  /** Bucket exports: the files written (or, with --dry-run, that would be), late rows, signals. */
  export?: ExportSummary;
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
