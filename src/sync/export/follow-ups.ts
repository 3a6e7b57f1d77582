// The steps of an export run that do not depend on the engine the rows come from: which state a
// run commits (the new run number, and the days it owes a signal), and the work a committed run
// owes afterwards (the signal file, the removal of the files a new snapshot superseded, the
// `_SUCCESS` marker). The PostgreSQL runner (run.ts) and Redshift's (providers/redshift) keep
// the state in their own SQL; they hand these steps an ExportStateStore over it.
import { killPoint } from '../../kill-point.js';
import type { ObjectStore } from '../../providers/object-store.js';
import type { SyncIssue } from '../check.js';
import type { SyncResult } from '../types.js';
import { openRowFile } from './format/index.js';
import { type ExportShape, periodDate } from './shape.js';
import type { ExportState } from './state.js';

export const MARKER = '_SUCCESS';

/** What an export run wrote, for the run's output and --json. */
export interface ExportSummary {
  bucket: string;
  prefix: string;
  format: string;
  files: { key: string; rows: number; bytes: number }[];
  /** Rows written into days already signalled before this run. */
  late?: { rows: number; days: string[] };
  /** Days signalled by this run. */
  signalled?: string[];
  /** Files of the previous snapshot removed (mode full, --full-refresh). */
  removed?: number;
  /** Files a killed run had left and this run deleted. */
  cleaned?: number;
}

/** An engine's export state, as the shared steps read and write it. */
export interface ExportStateStore {
  /** The first period any committed file of the export holds, or null. */
  firstPeriod(): Promise<string | null>;
  /** Keys of the committed files of runs before `run`. */
  filesBefore(run: number): Promise<string[]>;
  /** The committed files (key and rows) of `run` and later: the snapshot a marker names. */
  filesFrom(run: number): Promise<{ key: string; rows: number }[]>;
  /** Records the state; with `forgetBefore`, also forgets the files of runs before it. */
  save(state: ExportState, opts?: { forgetBefore?: number }): Promise<void>;
}

export function nextDay(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to && out.length < 100_000; d = nextDay(d)) out.push(d);
  return out;
}

/**
 * The last day (in the partition's time zone) whose end plus `after` the watermark has passed:
 * the watermark as an instant (a timestamp or date read as UTC, a timestamptz as printed with
 * its offset), minus `after`, its date there, minus one day. Microseconds are cut to
 * milliseconds, which never moves an instant across a whole-second boundary.
 */
export function finishedThrough(shape: ExportShape, watermark: string): string | null {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?))?([+-]\d{2}(?::?\d{2})?)?$/.exec(
    watermark.trim(),
  );
  if (!m) return null;
  const time = (m[2] ?? '00:00:00').replace(/(\.\d{3})\d+$/, '$1');
  let zone = m[3] ?? 'Z';
  if (/^[+-]\d{2}$/.test(zone)) zone = `${zone}:00`;
  else if (/^[+-]\d{4}$/.test(zone)) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const instant = Date.parse(`${m[1]}T${time}${zone}`);
  if (Number.isNaN(instant)) return null;
  const at = new Date(instant - shape.spec.ready!.afterSeconds * 1000);
  const day = new Intl.DateTimeFormat('en-CA', {
    timeZone: shape.spec.partition!.timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(at);
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

/**
 * The state a run commits, and whether it has anything to commit: its files, the watermark it
 * reached, and the days it now owes a signal for (from the first day the export holds files
 * for, or the day after the last one signalled). `firstPeriod`: of the committed files.
 */
export function nextExportState(
  shape: ExportShape,
  state: ExportState,
  run: {
    run: number;
    files: readonly { period: string | null; rows: number }[];
    watermark: string | null;
    firstPeriod: string | null;
    refresh: boolean;
  },
): { next: ExportState; changed: boolean } {
  const rows = run.files.reduce((n, f) => n + f.rows, 0);
  const next: ExportState = {
    ...state,
    watermark: shape.cursor ? run.watermark : null,
    rowsWritten: (run.refresh ? 0 : state.rowsWritten) + rows,
  };
  if (shape.spec.ready && run.watermark !== null) {
    const through = finishedThrough(shape, run.watermark);
    const first =
      [run.firstPeriod, ...run.files.map((f) => f.period)]
        .filter((p): p is string => p !== null)
        .map(periodDate)
        .sort()[0] ?? null;
    const since = state.signalledThrough ?? (run.files.length || state.run ? first : null);
    if (
      through &&
      since &&
      through >= since &&
      (state.signalledThrough === null || through > state.signalledThrough)
    )
      next.signalPending = through;
  }
  const changed =
    run.files.length > 0 ||
    next.watermark !== state.watermark ||
    next.signalPending !== state.signalPending ||
    run.refresh;
  if (changed) {
    next.run = run.run;
    next.supersedePending = run.refresh && run.run > 1;
  }
  return { next, changed };
}

/**
 * Work a committed run owes: the signal of newly finished days, and the removal of the files a
 * new snapshot superseded (then the snapshot marker). Each step is idempotent and recorded.
 */
export async function finishFollowUps(
  shape: ExportShape,
  db: ExportStateStore,
  store: ObjectStore,
  bucket: string,
  state: ExportState,
  summary: ExportSummary,
): Promise<ExportState> {
  let s = state;
  const ready = shape.spec.ready;
  if (s.signalPending && ready) {
    const from = s.signalledThrough
      ? nextDay(s.signalledThrough)
      : ((await db.firstPeriod())?.slice(0, 10) ?? s.signalPending);
    const days = daysBetween(from, s.signalPending);
    if (days.length) {
      await writeWhole(
        store,
        bucket,
        signalName(shape, s.run),
        shape,
        [{ name: ready.column, type: 'date' }],
        days.map((d) => [d]),
      );
      killPoint('export-after-signal');
      summary.signalled = [...(summary.signalled ?? []), ...days];
    }
    s = { ...s, signalledThrough: s.signalPending, signalPending: null };
    await db.save(s);
  }
  if (s.supersedePending) {
    const old = await db.filesBefore(s.run);
    await store.remove(bucket, old);
    summary.removed = (summary.removed ?? 0) + old.length;
    s = { ...s, supersedePending: false };
    if (shape.sync.mode === 'full') await writeMarker(shape, db, store, bucket, s.run);
    await db.save(s, { forgetBefore: s.run });
  } else if (shape.sync.mode === 'full' && s.run > 0) {
    // The first snapshot supersedes nothing; its marker is still owed.
    if (!(await store.get(bucket, `${shape.spec.prefix}${MARKER}`)))
      await writeMarker(shape, db, store, bucket, s.run);
  }
  return s;
}

/** `_SUCCESS`: the complete snapshot's run, row count and files, written once it is the only one. */
async function writeMarker(
  shape: ExportShape,
  db: ExportStateStore,
  store: ObjectStore,
  bucket: string,
  run: number,
): Promise<void> {
  const files = [...(await db.filesFrom(run))].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const marker = {
    sync: shape.sync.name,
    run,
    rows: files.reduce((n, f) => n + f.rows, 0),
    files: files.map((f) => f.key),
  };
  await store.put(
    bucket,
    `${shape.spec.prefix}${MARKER}`,
    `${JSON.stringify(marker, null, 2)}\n`,
    'application/json',
  );
}

export function signalName(shape: ExportShape, run: number): string {
  return `${shape.spec.ready!.prefix}${shape.sync.name}-r${String(run).padStart(6, '0')}${shape.extension}`;
}

/** Writes one small file whole (a signal). */
export async function writeWhole(
  store: ObjectStore,
  bucket: string,
  key: string,
  shape: ExportShape,
  columns: { name: string; type: string }[],
  rows: (string | null)[][],
): Promise<void> {
  const up = store.upload(bucket, key);
  try {
    const w = openRowFile(shape.spec.format, shape.spec.compression, columns, up);
    await w.write(rows);
    await w.finish();
    await up.finish();
  } catch (e) {
    await up.abort();
    throw e;
  }
}

/** A run's result: the rows written, the watermark it left, its warnings and what it wrote. */
export function exportResult(
  shape: ExportShape,
  rows: number,
  state: ExportState,
  warnings: readonly SyncIssue[],
  summary: ExportSummary,
): SyncResult {
  return {
    name: shape.sync.name,
    mode: shape.sync.mode,
    status: 'ok',
    rows: { inserted: rows, updated: 0, deleted: 0 },
    read: rows,
    durationMs: 0,
    ...(shape.cursor ? { watermark: state.watermark } : {}),
    ...(warnings.length ? { issues: [...warnings] } : {}),
    export: summary,
  };
}
