// A bucket export from Redshift: the rows never pass through wharf. Redshift writes them with
// UNLOAD (https://docs.aws.amazon.com/redshift/latest/dg/r_UNLOAD.html) as Parquet files into a
// staging folder under the export's prefix (`<prefix>_wharf_staging/<sync>-r<run>/`, skipped
// by readers as a folder starting with `_`), one Hive folder per period; wharf reads the
// manifest, copies each file server-side to its name, `<prefix><period>/<sync>-r<run>-<n>.parquet`,
// deletes the staging objects and commits. The same semantics as the PostgreSQL runner
// (src/sync/export/run.ts), step for step:
//
//  1. reads the state (creating the tables once) and finishes what a killed run left: files
//     of runs above the committed one and staging leftovers are deleted, an owed signal is
//     written, files a committed snapshot superseded are removed;
//  2. one batch, one snapshot: the new watermark, the UNLOAD of the rows not yet written, and
//     the identities inside the next lookback window (stored under the new run number, counted
//     only once it commits);
//  3. the copies, the staging clean-up, then the commit batch (files, seen identities,
//     watermark, the signal owed), made only if no other run committed meanwhile;
//  4. the signal, the superseded files, the `_SUCCESS` marker of a snapshot.
//
// Data API submissions per run do not depend on the rows: the source's description, the state
// read, the UNLOAD batch, the commit batch, and at most two state updates after it.
import { killPoint } from '../../kill-point.js';
import type { ExportSyncConfig, SyncConfig } from '../../sync/config.js';
import {
  type ExportStateStore,
  type ExportSummary,
  exportResult,
  finishFollowUps,
  MARKER,
  nextExportState,
} from '../../sync/export/follow-ups.js';
import { type ExportDestination, fileName, runOf, STAGING_FOLDER } from '../../sync/export/run.js';
import { type ExportShape, exportRelation, exportShape, periodDate } from '../../sync/export/shape.js';
import { EMPTY_EXPORT_STATE, EXPORT_FILES, EXPORT_STATE, type ExportState } from '../../sync/export/state.js';
import { SyncError, type SyncResult, type SyncRunOptions } from '../../sync/types.js';
import type { OpenedConnection } from '../connect.js';
import type { ObjectStore } from '../object-store.js';
import { DataApiStatementError } from './data-api-errors.js';
import type { DataApiResult, DataApiTransport } from './data-api-transport.js';
import {
  commitBatch,
  dryRunCount,
  exportWhere,
  REDSHIFT_EXPORT_DDL,
  type RedshiftFileRecord,
  stateReadStatements,
  stateRowStatements,
  unloadBatch,
  unloadSelect,
} from './export-sql.js';
import { describeRedshiftSource } from './sync-run.js';
import { parseUnloadManifest, unloadManifestUrl, unloadSql } from './unload-sql.js';

const HIVE_NULL = '__HIVE_DEFAULT_PARTITION__';

interface Stored {
  state: ExportState;
  /** The first period of any committed file. */
  firstPeriod: string | null;
  /** The committed files (mode full, or a supersede owed; otherwise empty). */
  files: { key: string; run: number; rows: number }[];
}

export async function runExportOnRedshift(
  sync: ExportSyncConfig,
  conn: OpenedConnection,
  out: ExportDestination,
  options: SyncRunOptions,
): Promise<SyncResult> {
  const api = conn.dataApi;
  if (!api)
    throw new SyncError(`sync ${sync.name}: connection ${conn.name} is not reached through the Data API`);
  const relation = exportRelation(sync);
  const src = await describeRedshiftSource(api, sync as unknown as SyncConfig, relation);
  const shape = exportShape(sync, src);
  const errors = shape.issues.filter((i) => i.severity === 'error');
  if (shape.spec.format !== 'parquet')
    errors.push({
      severity: 'error',
      message: `an export from Redshift is written by UNLOAD as Parquet; format ${shape.spec.format} is not offered from Redshift (use format: parquet)`,
    });
  if (sync.to.compression !== undefined && sync.to.compression !== 'snappy')
    errors.push({
      severity: 'error',
      message: `UNLOAD compresses Parquet with Snappy only; remove "compression: ${sync.to.compression}" or write compression: snappy`,
    });
  if (sync.to.fileRows !== undefined)
    errors.push({
      severity: 'error',
      message: `"fileRows" is not offered from Redshift: UNLOAD splits its files by slice and size; remove it`,
    });
  const iamRole = conn.config.iamRole;
  if (!iamRole)
    errors.push({
      severity: 'error',
      message: `connection ${conn.name} needs "iamRole", the IAM role Redshift assumes to UNLOAD into the bucket`,
    });
  if (errors.length)
    throw new SyncError(`sync ${sync.name}: ${errors.map((e) => e.message).join('; ')}`, shape.issues);
  const warnings = shape.issues.filter((i) => i.severity === 'warning');
  if (options.dryRun) return dryRun(shape, api, relation, iamRole!, warnings, options);

  const { store, bucket } = out;
  const refresh = options.fullRefresh === true || sync.mode === 'full';
  let stored = await readState(shape, api, refresh, true);
  let state = stored.state;
  const db = redshiftStateStore(shape, api, () => stored);
  const summary: ExportSummary = { bucket, prefix: shape.spec.prefix, format: 'parquet', files: [] };
  // 1. What a killed run left.
  const cleaned = await cleanUp(shape, store, bucket, state.run);
  if (cleaned) summary.cleaned = cleaned;
  state = await finishFollowUps(shape, db, store, bucket, state, summary);
  if (state !== stored.state) stored = await readState(shape, api, refresh, false);

  // 2. The UNLOAD.
  const run = state.run + 1;
  if (sync.mode === 'full') await store.remove(bucket, [`${shape.spec.prefix}${MARKER}`]);
  options.hooks?.onRoute?.(sync.name, { pushDown: true });
  const staging = stagingPrefix(shape, run);
  const from = refresh ? null : state.watermark;
  const unload = unloadStatement(shape, relation, from, state.run, bucket, staging, iamRole!);
  const batch = unloadBatch(shape, relation, unload, from, state.run);
  const results = await api.batchQuery(batch.sqls);
  killPoint('export-after-unload');
  const w = batch.resultIndex >= 0 ? results[batch.resultIndex]?.rows[0]?.watermark : null;
  const watermark = shape.cursor ? (w === null || w === undefined ? from : String(w)) : null;

  // 3. The files, copied to their names; then the commit.
  const manifestBody = await store.get(bucket, unloadManifestUrl(staging));
  if (!manifestBody)
    throw new SyncError(
      `sync ${sync.name}: UNLOAD left no manifest at s3://${bucket}/${unloadManifestUrl(staging)}`,
    );
  const entries = manifestFiles(
    shape,
    bucket,
    staging,
    parseUnloadManifest(manifestBody.toString('utf8')).entries,
  );
  const files: RedshiftFileRecord[] = [];
  const perPeriod = new Map<string | null, number>();
  const late = new Map<string, number>();
  for (const e of entries) {
    const n = (perPeriod.get(e.period) ?? 0) + 1;
    perPeriod.set(e.period, n);
    const key = fileName(shape, run, e.period, n);
    await store.copy(bucket, e.key, key);
    files.push({ key, period: e.period, rows: e.rows, bytes: e.bytes });
    summary.files.push({ key, rows: e.rows, bytes: e.bytes });
    if (
      e.period !== null &&
      state.signalledThrough !== null &&
      periodDate(e.period) <= state.signalledThrough
    ) {
      const d = periodDate(e.period);
      late.set(d, (late.get(d) ?? 0) + e.rows);
    }
    killPoint('export-after-file');
  }
  await store.remove(
    bucket,
    (await store.list(bucket, staging)).map((o) => o.key),
  );
  if (late.size)
    summary.late = { rows: [...late.values()].reduce((a, b) => a + b, 0), days: [...late.keys()].sort() };
  killPoint('export-before-commit');

  const rows = files.reduce((n, f) => n + f.rows, 0);
  const { next, changed } = nextExportState(shape, state, {
    run,
    files,
    watermark,
    firstPeriod: stored.firstPeriod,
    refresh,
  });
  if (changed) {
    const commit = commitBatch(shape, state.run, next, files);
    const r = await api.batchQuery(commit.sqls);
    const ok = r[commit.resultIndex]?.rows[0]?.ok;
    if (!(ok === true || ok === 't' || ok === 'true'))
      throw new SyncError(
        `sync ${sync.name}: another run of this export committed while this one ran; this run committed nothing (run it again)`,
      );
    state = next;
    const periods = [stored.firstPeriod, ...files.map((f) => f.period)].filter(
      (p): p is string => p !== null,
    );
    stored = {
      state,
      firstPeriod: periods.sort()[0] ?? null,
      files: refresh
        ? [...stored.files, ...files.map((f) => ({ key: f.key, run, rows: f.rows }))]
        : stored.files,
    };
  }
  killPoint('export-after-commit');
  options.hooks?.onProgress?.(sync.name, rows);
  // 4. Signals, superseded files, the snapshot marker.
  state = await finishFollowUps(shape, db, store, bucket, state, summary);
  return exportResult(shape, rows, state, warnings, summary);
}

/** `<prefix>_wharf_staging/<sync>-r<run>/`: where the run's UNLOAD writes. */
export function stagingPrefix(shape: ExportShape, run: number): string {
  return `${shape.spec.prefix}${STAGING_FOLDER}${shape.sync.name}-r${String(run).padStart(6, '0')}/`;
}

/** The run's UNLOAD statement. */
export function unloadStatement(
  shape: ExportShape,
  relation: string,
  watermark: string | null,
  committedRun: number,
  bucket: string,
  staging: string,
  iamRole: string,
): string {
  return unloadSql({
    select: unloadSelect(shape, relation, watermark, committedRun),
    to: `s3://${bucket}/${staging}`,
    iamRole,
    format: 'parquet',
    ...(shape.partition ? { partitionBy: ['wharf_part'] } : {}),
    existing: 'overwrite',
  });
}

/** The manifest's files with their period (from the `wharf_part=` folder), in name order per period. */
function manifestFiles(
  shape: ExportShape,
  bucket: string,
  staging: string,
  entries: { url: string; rows?: number; bytes?: number }[],
): { key: string; period: string | null; rows: number; bytes: number }[] {
  const base = `s3://${bucket}/${staging}`;
  const out = entries.map((e) => {
    if (!e.url.startsWith(base))
      throw new SyncError(`sync ${shape.sync.name}: the UNLOAD manifest names ${e.url}, outside ${base}`);
    const rel = e.url.slice(base.length);
    let period: string | null = null;
    if (shape.partition) {
      const m = /^wharf_part=([^/]*)\//.exec(rel);
      if (!m)
        throw new SyncError(
          `sync ${shape.sync.name}: the UNLOAD manifest names ${e.url}, in no partition folder`,
        );
      period = m[1] === HIVE_NULL ? null : decodeURIComponent(m[1]!);
    }
    if (e.rows === undefined)
      throw new SyncError(`sync ${shape.sync.name}: the UNLOAD manifest has no record_count for ${e.url}`);
    return { key: e.url.slice(`s3://${bucket}/`.length), period, rows: e.rows, bytes: e.bytes ?? 0 };
  });
  return out.sort((a, b) =>
    (a.period ?? '') === (b.period ?? '')
      ? a.key < b.key
        ? -1
        : 1
      : (a.period ?? '') < (b.period ?? '')
        ? -1
        : 1,
  );
}

/** The export's state on Redshift for the shared steps: files as read with the state, writes as batches. */
function redshiftStateStore(
  shape: ExportShape,
  api: DataApiTransport,
  stored: () => Stored,
): ExportStateStore {
  return {
    firstPeriod: async () => stored().firstPeriod,
    filesBefore: async (run) =>
      stored()
        .files.filter((f) => f.run < run)
        .map((f) => f.key),
    filesFrom: async (run) => stored().files.filter((f) => f.run >= run),
    async save(state, opts = {}) {
      await api.batch([
        `LOCK ${EXPORT_STATE}`,
        ...(opts.forgetBefore !== undefined
          ? [`DELETE FROM ${EXPORT_FILES} WHERE ${exportWhere(shape)} AND "run" < ${opts.forgetBefore}`]
          : []),
        ...stateRowStatements(shape, state),
      ]);
    },
  };
}

/** Reads the state (making the tables on the first run when `create`). */
async function readState(
  shape: ExportShape,
  api: DataApiTransport,
  withFiles: boolean,
  create: boolean,
): Promise<Stored> {
  const sqls = stateReadStatements(shape, withFiles);
  let r: DataApiResult[];
  try {
    r = await api.batchQuery(sqls);
  } catch (e) {
    if (!(e instanceof DataApiStatementError) || !create) throw e;
    // No state tables yet (the first export on this database); a concurrent first run may
    // make them at the same moment, so a failure of the DDL is followed by one more try.
    await api.batch(REDSHIFT_EXPORT_DDL).catch(async (again) => {
      if (!(again instanceof DataApiStatementError)) throw again;
      await api.batch(REDSHIFT_EXPORT_DDL);
    });
    r = await api.batchQuery(sqls);
  }
  const row = r[0]?.rows[0];
  const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
  const state: ExportState = row
    ? {
        run: Number(row.run),
        watermark: str(row.watermark),
        signalledThrough: str(row.signalled_through),
        signalPending: str(row.signal_pending),
        supersedePending: row.supersede_pending === true || row.supersede_pending === 't',
        rowsWritten: Number(row.rows_written),
      }
    : { ...EMPTY_EXPORT_STATE };
  return {
    state,
    firstPeriod: str(r[1]?.rows[0]?.p),
    files: (r[2]?.rows ?? []).map((f) => ({ key: String(f.key), run: Number(f.run), rows: Number(f.rows) })),
  };
}

/** Deletes files of runs that never committed, and whatever is left in the staging folder. */
async function cleanUp(
  shape: ExportShape,
  store: ObjectStore,
  bucket: string,
  committed: number,
): Promise<number> {
  const staging = `${shape.spec.prefix}${STAGING_FOLDER}`;
  const prefixes = [shape.spec.prefix, ...(shape.spec.ready ? [shape.spec.ready.prefix] : [])];
  const stale: string[] = [];
  for (const p of prefixes)
    for (const o of await store.list(bucket, p)) {
      if (o.key.startsWith(staging)) {
        stale.push(o.key);
        continue;
      }
      const r = runOf(shape, o.key);
      if (r !== undefined && r > committed) stale.push(o.key);
    }
  if (stale.length) await store.remove(bucket, stale);
  return stale.filter((k) => !k.startsWith(staging)).length;
}

/** --dry-run: rows per period in one SELECT (no UNLOAD, nothing written or created). */
async function dryRun(
  shape: ExportShape,
  api: DataApiTransport,
  relation: string,
  iamRole: string,
  warnings: SyncResult['issues'],
  options: SyncRunOptions,
): Promise<SyncResult> {
  const refresh = options.fullRefresh === true || shape.sync.mode === 'full';
  let state: ExportState | undefined;
  try {
    state = (await readState(shape, api, false, false)).state;
  } catch (e) {
    if (!(e instanceof DataApiStatementError)) throw e;
  }
  const run = (state?.run ?? 0) + 1;
  const from = refresh ? null : (state?.watermark ?? null);
  // Without the state tables no identity was recorded, so the count reads no export_seen.
  const select = unloadSelect(shape, relation, from, state?.run ?? 0);
  const { rows } = await api.query(dryRunCount(shape, select));
  // One file per period is shown: UNLOAD writes one or more per slice holding rows of it.
  const files: ExportSummary['files'] = [];
  let total = 0;
  for (const r of rows) {
    const n = Number(r.n);
    if (!n) continue;
    total += n;
    const p = r.p === null || r.p === undefined ? null : String(r.p);
    files.push({ key: fileName(shape, run, p, 1), rows: n, bytes: 0 });
  }
  return {
    ...exportResult(shape, total, state ?? EMPTY_EXPORT_STATE, warnings ?? [], {
      bucket: shape.spec.bucket,
      prefix: shape.spec.prefix,
      format: 'parquet',
      files,
    }),
    dryRun: {
      statements: [
        unloadStatement(
          shape,
          relation,
          from,
          state?.run ?? 0,
          shape.spec.bucket,
          stagingPrefix(shape, run),
          iamRole,
        ),
      ],
      rows: total,
      watermark: state?.watermark ?? null,
    },
  };
}
