// A bucket export from Redshift: the rows never pass through wharf. Redshift writes them with
// UNLOAD (https://docs.aws.amazon.com/redshift/latest/dg/r_UNLOAD.html) as Parquet files into a
// staging folder under the export's prefix (`<prefix>_wharf_staging/<sync>-r<run>/`, skipped
// by readers as a folder starting with `_`), one Hive folder per period; wharf reads the
// manifest, commits, then copies each file server-side to its name,
// `<prefix><period>/<sync>-r<run>-<n>.parquet`, and deletes the staging objects. The same
// semantics as the PostgreSQL runner (src/sync/export/run.ts), step for step, except that
// Redshift has no advisory lock: each attempt claims its own run number instead, and only the
// latest claim may commit (export-sql.ts).
//
//  1. claims the run number r with the state read (creating the tables once) and finishes what
//     a killed run left: staging folders of older attempts and files named with a run that can
//     no longer commit are deleted, the copies a committed run owes are made, an owed signal is
//     written, files a committed snapshot superseded are removed; newer attempts' folders are
//     never touched;
//  2. one batch, one snapshot: the new watermark, the UNLOAD of the rows not yet written into
//     r's staging folder, and the identities inside the next lookback window (stored under r,
//     counted only once r commits);
//  3. the commit batch (files under their names, seen identities, watermark, the signal owed,
//     the copies owed), made only if no other run committed meanwhile and r is the latest claim;
//  4. the copies to the names, recorded as done, the staging folder deleted;
//  5. the signal, the superseded files, the `_SUCCESS` marker of a snapshot.
//
// Data API submissions per run do not depend on the rows: the source's description, the claim
// with the state read, the UNLOAD batch, the commit batch, the copies recorded, and at most two
// state updates after it.
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
import { EMPTY_EXPORT_STATE, type ExportState } from '../../sync/export/state.js';
import { SyncError, type SyncResult, type SyncRunOptions } from '../../sync/types.js';
import type { OpenedConnection } from '../connect.js';
import type { ObjectStore } from '../object-store.js';
import { DataApiStatementError } from './data-api-errors.js';
import type { DataApiResult, DataApiTransport } from './data-api-transport.js';
import {
  CLAIM_READ_AT,
  claimRead,
  claimStatements,
  commitBatch,
  copiesDone,
  dryRunCount,
  followUpSave,
  REDSHIFT_EXPORT_DDL,
  type RedshiftFileRecord,
  stateReadStatements,
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
  /** The latest run number claimed (this run's own, when read with its claim). */
  claimed: number;
  /** The committed run whose files still owe their copies from staging, or null. */
  copiesPending: number | null;
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
  // The claim: this attempt's own run number, read with the state in one batch.
  let stored = await readState(shape, api, refresh, { create: true, claim: true });
  const run = stored.claimed;
  let state = stored.state;
  const db = redshiftStateStore(shape, api, () => stored);
  const summary: ExportSummary = { bucket, prefix: shape.spec.prefix, format: 'parquet', files: [] };
  // 1. What a killed (or still running, older) attempt left; the copies a committed run owes.
  const owed = state.run > 0 && stored.copiesPending === state.run ? state.run : null;
  const cleaned = await cleanUp(shape, store, bucket, state.run, run, owed);
  if (cleaned) summary.cleaned = cleaned;
  if (owed !== null) await finishCopies(shape, api, store, bucket, owed);
  state = await finishFollowUps(shape, db, store, bucket, state, summary);
  if (state !== stored.state) stored = { ...(await readState(shape, api, refresh)), claimed: run };

  // 2. The UNLOAD, into this attempt's staging folder.
  if (sync.mode === 'full') await store.remove(bucket, [`${shape.spec.prefix}${MARKER}`]);
  options.hooks?.onRoute?.(sync.name, { pushDown: true });
  const staging = stagingPrefix(shape, run);
  const from = refresh ? null : state.watermark;
  const unload = unloadStatement(shape, relation, from, state.run, bucket, staging, iamRole!);
  const batch = unloadBatch(shape, relation, unload, from, state.run, run);
  const results = await api.batchQuery(batch.sqls);
  killPoint('export-after-unload');
  const w = batch.resultIndex >= 0 ? results[batch.resultIndex]?.rows[0]?.watermark : null;
  const watermark = shape.cursor ? (w === null || w === undefined ? from : String(w)) : null;

  // 3. The commit of the files under their names (still in staging), if this is the latest claim.
  const placed = await placedFiles(shape, api, store, bucket, run, (c) => c.claimed !== run);
  if (!placed) throw overtaken(shape);
  const files: RedshiftFileRecord[] = [];
  const late = new Map<string, number>();
  for (const e of placed) {
    files.push({ key: e.key, period: e.period, rows: e.rows, bytes: e.bytes });
    summary.files.push({ key: e.key, rows: e.rows, bytes: e.bytes });
    if (
      e.period !== null &&
      state.signalledThrough !== null &&
      periodDate(e.period) <= state.signalledThrough
    ) {
      const d = periodDate(e.period);
      late.set(d, (late.get(d) ?? 0) + e.rows);
    }
  }
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
    if (!(ok === true || ok === 't' || ok === 'true')) {
      await removeStaging(store, bucket, staging);
      throw overtaken(shape);
    }
    state = next;
    const periods = [stored.firstPeriod, ...files.map((f) => f.period)].filter(
      (p): p is string => p !== null,
    );
    stored = {
      ...stored,
      state,
      firstPeriod: periods.sort()[0] ?? null,
      files: refresh
        ? [...stored.files, ...files.map((f) => ({ key: f.key, run, rows: f.rows }))]
        : stored.files,
    };
  }
  killPoint('export-after-commit');
  // 4. Only now the files get their names (a name only ever holds a committed run's file),
  // the copies are recorded as done, the staging folder goes.
  if (changed && files.length) await copyToNames(shape, api, store, bucket, run, placed);
  else await removeStaging(store, bucket, staging);
  options.hooks?.onProgress?.(sync.name, rows);
  // 5. Signals, superseded files, the snapshot marker: after the copies of their days.
  state = await finishFollowUps(shape, db, store, bucket, state, summary);
  return exportResult(shape, rows, state, warnings, summary);
}

function overtaken(shape: ExportShape): SyncError {
  return new SyncError(
    `sync ${shape.sync.name}: another run of this export started or committed while this one ran; this run committed nothing (run it again)`,
  );
}

interface PlacedFile {
  /** The staging object UNLOAD wrote. */
  from: string;
  /** Its name: `<prefix><period>/<sync>-r<run>-<n>.parquet`. */
  key: string;
  period: string | null;
  rows: number;
  bytes: number;
}

/**
 * Run `run`'s staged files with their names (numbered per period in the manifest's name
 * order, so the same every time the manifest is read), or null when the staging folder has no
 * manifest and `gone` says why, from the claim as it is now: a newer attempt's clean-up
 * removed it, or another run finished the copies.
 */
async function placedFiles(
  shape: ExportShape,
  api: DataApiTransport,
  store: ObjectStore,
  bucket: string,
  run: number,
  gone: (claim: Claim) => boolean,
): Promise<PlacedFile[] | null> {
  const staging = stagingPrefix(shape, run);
  const body = await store.get(bucket, unloadManifestUrl(staging));
  if (!body) {
    if (gone(await readClaim(shape, api))) return null;
    throw new SyncError(
      `sync ${shape.sync.name}: UNLOAD left no manifest at s3://${bucket}/${unloadManifestUrl(staging)}`,
    );
  }
  const entries = manifestFiles(shape, bucket, staging, parseUnloadManifest(body.toString('utf8')).entries);
  const perPeriod = new Map<string | null, number>();
  return entries.map((e) => {
    const n = (perPeriod.get(e.period) ?? 0) + 1;
    perPeriod.set(e.period, n);
    return {
      from: e.key,
      key: fileName(shape, run, e.period, n),
      period: e.period,
      rows: e.rows,
      bytes: e.bytes,
    };
  });
}

/**
 * Copies committed run `run`'s staged files to their names, records that, and deletes its
 * staging folder. Another run may be doing the same at once (the next run finishing a killed
 * run's copies): a copy whose source is gone is fine when the copies are recorded done.
 */
async function copyToNames(
  shape: ExportShape,
  api: DataApiTransport,
  store: ObjectStore,
  bucket: string,
  run: number,
  placed: readonly PlacedFile[],
): Promise<void> {
  try {
    for (const f of placed) {
      await store.copy(bucket, f.from, f.key);
      killPoint('export-after-file');
    }
  } catch (e) {
    if ((await readClaim(shape, api)).copiesPending === run) throw e;
    return;
  }
  await api.batch(copiesDone(shape, run));
  await removeStaging(store, bucket, stagingPrefix(shape, run));
}

/** At start-up: the copies of committed run `run` that a killed run left owed. */
async function finishCopies(
  shape: ExportShape,
  api: DataApiTransport,
  store: ObjectStore,
  bucket: string,
  run: number,
): Promise<void> {
  const placed = await placedFiles(shape, api, store, bucket, run, (c) => c.copiesPending !== run);
  if (placed) await copyToNames(shape, api, store, bucket, run, placed);
}

interface Claim {
  claimed: number;
  copiesPending: number | null;
}

async function readClaim(shape: ExportShape, api: DataApiTransport): Promise<Claim> {
  const row = (await api.query(claimRead(shape))).rows[0];
  const p = row?.copies_pending;
  return {
    claimed: Number(row?.claimed_run ?? 0),
    copiesPending: p === null || p === undefined ? null : Number(p),
  };
}

async function removeStaging(store: ObjectStore, bucket: string, staging: string): Promise<void> {
  const keys = (await store.list(bucket, staging)).map((o) => o.key);
  if (keys.length) await store.remove(bucket, keys);
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
      await api.batch(followUpSave(shape, state, opts.forgetBefore));
    },
  };
}

/**
 * Reads the state (making the tables on the first run when `create`); with `claim`, first
 * claims the run's number in the same batch.
 */
async function readState(
  shape: ExportShape,
  api: DataApiTransport,
  withFiles: boolean,
  opts: { create?: boolean; claim?: boolean } = {},
): Promise<Stored> {
  const create = opts.create === true;
  const at = opts.claim ? CLAIM_READ_AT : 0;
  const sqls = opts.claim ? claimStatements(shape, withFiles) : stateReadStatements(shape, withFiles);
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
  const row = r[at]?.rows[0];
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
    firstPeriod: str(r[at + 1]?.rows[0]?.p),
    files: (r[at + 2]?.rows ?? []).map((f) => ({
      key: String(f.key),
      run: Number(f.run),
      rows: Number(f.rows),
    })),
    claimed: Number(row?.claimed_run ?? 0),
    copiesPending:
      row?.copies_pending === null || row?.copies_pending === undefined ? null : Number(row.copies_pending),
  };
}

/**
 * After claiming run `run` (the committed one being `committed`): deletes this export's
 * staging folders of runs below `run` but `keep` (the committed run whose copies are owed), and
 * files named with a run above the committed one up to `run` (no such run can commit any more:
 * only the latest claim does). Runs above `run` are newer attempts still under way: untouched.
 */
async function cleanUp(
  shape: ExportShape,
  store: ObjectStore,
  bucket: string,
  committed: number,
  run: number,
  keep: number | null,
): Promise<number> {
  const staging = `${shape.spec.prefix}${STAGING_FOLDER}`;
  const folder = new RegExp(`^${escapeRegExp(shape.sync.name)}-r(\\d{6,})/`);
  const prefixes = [shape.spec.prefix, ...(shape.spec.ready ? [shape.spec.ready.prefix] : [])];
  const stale: string[] = [];
  let named = 0;
  for (const p of prefixes)
    for (const o of await store.list(bucket, p)) {
      if (o.key.startsWith(staging)) {
        const m = folder.exec(o.key.slice(staging.length));
        const r = m ? Number(m[1]) : undefined;
        if (r !== undefined && r < run && r !== keep) stale.push(o.key);
        continue;
      }
      const r = runOf(shape, o.key);
      if (r !== undefined && r > committed && r <= run) {
        stale.push(o.key);
        named++;
      }
    }
  if (stale.length) await store.remove(bucket, stale);
  return named;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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
  let claimed = 0;
  try {
    const stored = await readState(shape, api, false);
    state = stored.state;
    claimed = stored.claimed;
  } catch (e) {
    if (!(e instanceof DataApiStatementError)) throw e;
  }
  // The number the next run would claim.
  const run = Math.max(state?.run ?? 0, claimed) + 1;
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
