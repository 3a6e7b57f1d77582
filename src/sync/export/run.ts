// A bucket export from a PostgreSQL engine (PostgreSQL, the embedded warehouse). One run:
//
//  1. takes the sync's lock on the source session and finishes what a killed run left:
//     files of a run that never committed are deleted (their names carry the run number, so
//     the next run would rewrite them anyway), a signal committed but not written is
//     written, files a committed snapshot superseded are removed;
//  2. reads the rows in one REPEATABLE READ snapshot with COPY, ordered by period, and writes
//     them as they stream, one row group at a time, into files named
//     `<prefix><period>/<sync>-r<run>-<n><ext>` (an object appears only once complete);
//  3. in the same transaction, records the files, the new watermark and the identities of the
//     rows inside the lookback window, and commits: the run has happened exactly when this
//     commit does;
//  4. writes the readiness signal of the days that are now finished (a file in the signal
//     prefix naming them), and records it; mode full (and --full-refresh) removes the files
//     of the previous snapshot and then writes the `_SUCCESS` marker naming the new one.
//
// A run killed anywhere leaves the prefix, after the next successful run, holding exactly the
// rows one uninterrupted run would have written: each row version in one committed file.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { killPoint } from '../../kill-point.js';
import type { ObjectStore } from '../../providers/object-store.js';
import { quoteIdent as q, quoteLiteral } from '../../providers/sql-quote.js';
import type { ExportSyncConfig } from '../config.js';
import { copyOut } from '../copy.js';
import { describeSource } from '../prepare.js';
import { lockSync } from '../state.js';
import { SyncError, type SyncResult, type SyncRunOptions } from '../types.js';
import { type FieldValue, rawFields, textFields } from './copy-fields.js';
import {
  type ExportStateStore,
  type ExportSummary,
  exportResult,
  finishFollowUps,
  MARKER,
  nextExportState,
} from './follow-ups.js';
import { fieldInputs, openRowFile } from './format/index.js';
import {
  type ExportShape,
  exportRelation,
  exportSelect,
  exportShape,
  identityHash,
  lowerBoundExpr,
  PART_COL,
  partitionPath,
  periodDate,
} from './shape.js';
import {
  EXPORT_FILES,
  EXPORT_SEEN,
  type ExportState,
  ensureExportTables,
  type FileRecord,
  filesBefore,
  firstPeriod,
  forgetFilesBefore,
  readExportState,
  recordFiles,
  writeExportState,
} from './state.js';

/** Rows per parquet row group (and per COPY batch): bounds what one file writer holds. */
const ROW_GROUP_ROWS = 5_000;

export interface ExportDestination {
  store: ObjectStore;
  bucket: string;
}

/** Session settings that make PostgreSQL's text output the one the file writers read. */
const SESSION_SETTINGS =
  "SET DateStyle = ISO, MDY; SET TimeZone = 'UTC'; SET IntervalStyle = postgres; SET extra_float_digits = 1";

export function fileName(shape: ExportShape, run: number, period: string | null, n: number): string {
  const r = String(run).padStart(6, '0');
  const i = String(n).padStart(4, '0');
  return `${shape.spec.prefix}${partitionPath(shape, period)}${shape.sync.name}-r${r}-${i}${shape.extension}`;
}

/**
 * Where an engine that writes through a staging area (Redshift's UNLOAD) puts its files before
 * they are copied to their names: under the prefix, in a folder whose leading `_` makes Hive,
 * Spark and the vendors' loaders skip it. No run here writes or deletes anything in it.
 */
export const STAGING_FOLDER = '_wharf_staging/';

/** The run number a file name of this export carries, or undefined for anyone else's object. */
export function runOf(shape: ExportShape, key: string): number | undefined {
  const base = key.slice(key.lastIndexOf('/') + 1);
  const head = `${shape.sync.name}-r`;
  if (!base.startsWith(head)) return undefined;
  const m = /^(\d{6,})(?:-\d{4,})?\./.exec(base.slice(head.length));
  return m ? Number(m[1]) : undefined;
}

/** The export's state in wharf_state on a PostgreSQL source, for the shared steps. */
function postgresStateStore(client: pg.Client, shape: ExportShape): ExportStateStore {
  const { target } = shape;
  const { name, mode } = shape.sync;
  return {
    firstPeriod: () => firstPeriod(client, target, name),
    filesBefore: (run) => filesBefore(client, target, name, run),
    async filesFrom(run) {
      const { rows } = await client.query<{ key: string; rows: string }>(
        `SELECT key, rows FROM ${EXPORT_FILES} WHERE target = $1 AND name = $2 AND run >= $3`,
        [target, name, run],
      );
      return rows.map((r) => ({ key: r.key, rows: Number(r.rows) }));
    },
    async save(state, opts = {}) {
      if (opts.forgetBefore !== undefined) await forgetFilesBefore(client, target, name, opts.forgetBefore);
      await writeExportState(client, target, name, mode, state);
    },
  };
}

export async function describeExport(client: pg.Client, sync: ExportSyncConfig): Promise<ExportShape> {
  const info = await describeSource(client, sync, exportRelation(sync));
  return exportShape(sync, info);
}

export async function runExportOnPostgres(
  sync: ExportSyncConfig,
  client: pg.Client,
  out: ExportDestination,
  options: SyncRunOptions,
): Promise<SyncResult> {
  await client.query(SESSION_SETTINGS);
  const shape = await describeExport(client, sync);
  const errors = shape.issues.filter((i) => i.severity === 'error');
  if (errors.length)
    throw new SyncError(`sync ${sync.name}: ${errors.map((e) => e.message).join('; ')}`, shape.issues);
  const warnings = shape.issues.filter((i) => i.severity === 'warning');
  const { store, bucket } = out;
  if (options.dryRun) return dryRunExport(shape, client, warnings);
  const key = { name: sync.name, target: shape.target };
  const unlock = await lockSync(client, key, options.lockTimeoutMs ?? 0, { ensureState: true });
  try {
    await ensureExportTables(client);
    const db = postgresStateStore(client, shape);
    let state = await readExportState(client, shape.target, sync.name);
    const summary: ExportSummary = {
      bucket,
      prefix: shape.spec.prefix,
      format: shape.spec.format,
      files: [],
    };
    // 1. What a killed run left.
    const cleaned = await cleanUp(shape, store, bucket, state.run);
    if (cleaned) summary.cleaned = cleaned;
    state = await finishFollowUps(shape, db, store, bucket, state, summary);

    // 2. Read and write.
    const run = state.run + 1;
    const refresh = options.fullRefresh === true || sync.mode === 'full';
    if (sync.mode === 'full') await store.remove(bucket, [`${shape.spec.prefix}${MARKER}`]);
    options.hooks?.onRoute?.(sync.name, { pushDown: false });
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    let committed = false;
    try {
      const files = await writeFiles(
        shape,
        client,
        store,
        bucket,
        run,
        refresh ? null : state.watermark,
        state,
        summary,
        options,
      );
      killPoint('export-before-commit');
      // 3. Record and commit.
      let watermark = refresh ? null : state.watermark;
      if (shape.cursor) {
        watermark = await newWatermark(shape, client, watermark);
        await recordSeen(shape, client, watermark);
      }
      const firstPeriod = shape.spec.ready && state.signalledThrough === null ? await db.firstPeriod() : null;
      const { next, changed } = nextExportState(shape, state, {
        run,
        files,
        watermark,
        firstPeriod,
        refresh,
      });
      if (changed) {
        await recordFiles(client, shape.target, sync.name, run, files);
        await db.save(next);
      }
      await client.query('COMMIT');
      committed = true;
      state = changed ? next : state;
      killPoint('export-after-commit');
      const rows = files.reduce((n, f) => n + f.rows, 0);
      options.hooks?.onProgress?.(sync.name, rows);
      // 4. Signals, superseded files, the snapshot marker.
      state = await finishFollowUps(shape, db, store, bucket, state, summary);
      return exportResult(shape, rows, state, warnings, summary);
    } finally {
      if (!committed) await client.query('ROLLBACK').catch(() => {});
    }
  } finally {
    await unlock();
  }
}

/** Deletes the files of runs that never committed (numbered above the last committed run). */
async function cleanUp(
  shape: ExportShape,
  store: ObjectStore,
  bucket: string,
  committed: number,
): Promise<number> {
  const prefixes = [shape.spec.prefix, ...(shape.spec.ready ? [shape.spec.ready.prefix] : [])];
  const stale: string[] = [];
  for (const p of prefixes)
    for (const o of await store.list(bucket, p)) {
      if (o.key.startsWith(`${shape.spec.prefix}${STAGING_FOLDER}`)) continue;
      const r = runOf(shape, o.key);
      if (r !== undefined && r > committed) stale.push(o.key);
    }
  if (stale.length) await store.remove(bucket, stale);
  return stale.length;
}

/** Streams the rows into files; returns the files written (uploaded, not yet committed). */
async function writeFiles(
  shape: ExportShape,
  client: pg.Client,
  store: ObjectStore,
  bucket: string,
  run: number,
  watermark: string | null,
  state: ExportState,
  summary: ExportSummary,
  options: SyncRunOptions,
): Promise<FileRecord[]> {
  const select = exportSelect(shape, watermark);
  const ncols = shape.columns.length;
  const partIndex = shape.partition ? ncols : -1;
  const files: FileRecord[] = [];
  const perPeriod = new Map<string | null, number>();
  let open:
    | {
        key: string;
        period: string | null;
        upload: ReturnType<ObjectStore['upload']>;
        writer: ReturnType<typeof openRowFile>;
        hash: ReturnType<typeof createHash>;
        bytes: number;
        rows: number;
      }
    | undefined;
  let pending: FieldValue[][] = [];
  const late = new Map<string, number>();
  let total = 0;
  const flush = async () => {
    if (!open || pending.length === 0) return;
    const rows = pending;
    pending = [];
    await open.writer.write(rows);
  };
  const close = async () => {
    if (!open) return;
    await flush();
    await open.writer.finish();
    await open.upload.finish();
    files.push({
      key: open.key,
      period: open.period,
      rows: open.rows,
      bytes: open.bytes,
      md5: open.hash.digest('hex'),
    });
    summary.files.push({ key: open.key, rows: open.rows, bytes: open.bytes });
    open = undefined;
    killPoint('export-after-file');
  };
  const start = (period: string | null) => {
    const n = (perPeriod.get(period) ?? 0) + 1;
    perPeriod.set(period, n);
    const key = fileName(shape, run, period, n);
    const upload = store.upload(bucket, key, CONTENT_TYPE[shape.spec.format]);
    const hash = createHash('md5');
    const file = {
      key,
      period,
      upload,
      hash,
      bytes: 0,
      rows: 0,
      writer: undefined as unknown as ReturnType<typeof openRowFile>,
    };
    file.writer = openRowFile(shape.spec.format, shape.spec.compression, shape.columns, {
      write: async (chunk: Uint8Array) => {
        hash.update(chunk);
        file.bytes += chunk.byteLength;
        await upload.write(chunk);
      },
    });
    open = file;
  };
  const rowGroup = Math.min(ROW_GROUP_ROWS, shape.spec.fileRows);
  try {
    const inputs = fieldInputs(shape.spec.format, shape.columns);
    let rows: FieldValue[][] = [];
    const collect = (fields: FieldValue[]) => {
      rows.push(fields);
    };
    for await (const batch of copyOut(client, `COPY (${select}) TO STDOUT`, rowGroup)) {
      for (const chunk of batch.chunks) {
        if (inputs) rawFields(chunk, inputs, collect);
        else textFields(chunk, collect);
        const lines = rows;
        rows = [];
        for (const fields of lines) {
          const period = partIndex >= 0 ? (fields[partIndex] as string) : null;
          if (!open || open.period !== period || open.rows >= shape.spec.fileRows) {
            await close();
            start(period);
          }
          if (
            period !== null &&
            state.signalledThrough !== null &&
            periodDate(period) <= state.signalledThrough
          ) {
            const d = periodDate(period);
            late.set(d, (late.get(d) ?? 0) + 1);
          }
          fields.length = ncols;
          pending.push(fields);
          open!.rows++;
          total++;
          if (pending.length >= rowGroup) await flush();
        }
      }
      options.hooks?.onProgress?.(shape.sync.name, total);
    }
    await close();
  } catch (e) {
    // Nothing of this run is committed (COMMIT is not sent yet): its complete files go too, so a
    // failed run leaves the prefix as it found it. (A killed run's are deleted by the next run.)
    const o = open as { upload: { abort(): Promise<void> } } | undefined;
    await o?.upload.abort().catch(() => {});
    await store
      .remove(
        bucket,
        files.map((f) => f.key),
      )
      .catch(() => {});
    throw e;
  }
  if (late.size)
    summary.late = { rows: [...late.values()].reduce((a, b) => a + b, 0), days: [...late.keys()].sort() };
  return files;
}

const CONTENT_TYPE: Record<string, string> = {
  parquet: 'application/vnd.apache.parquet',
  csv: 'text/csv',
  jsonl: 'application/x-ndjson',
};

/** greatest(stored watermark, highest cursor in the snapshot at or above the lower bound). */
async function newWatermark(
  shape: ExportShape,
  client: pg.Client,
  old: string | null,
): Promise<string | null> {
  const c = `s.${q(shape.cursor!.column)}`;
  const where = old === null ? `${c} IS NOT NULL` : `${c} >= ${lowerBoundExpr(shape, old)}`;
  const oldTyped = old === null ? 'NULL' : `${quoteLiteral(old)}::${shape.cursor!.type}`;
  const { rows } = await client.query<{ w: string | null }>(
    `SELECT greatest(max(${c}), ${oldTyped})::text AS w FROM ${exportRelation(shape.sync)} s WHERE ${where}`,
  );
  return rows[0]?.w ?? old;
}

/** Replaces the identities of the written rows inside the next run's lookback window. */
async function recordSeen(shape: ExportShape, client: pg.Client, watermark: string | null): Promise<void> {
  await client.query(`DELETE FROM ${EXPORT_SEEN} WHERE target = $1 AND name = $2`, [
    shape.target,
    shape.sync.name,
  ]);
  if (watermark === null) return;
  const c = `s.${q(shape.cursor!.column)}`;
  await client.query(
    `INSERT INTO ${EXPORT_SEEN} (target, name, h, n)
     SELECT $1, $2, h, count(*) FROM (
       SELECT ${identityHash(shape)} AS h FROM ${exportRelation(shape.sync)} s
        WHERE ${c} >= ${lowerBoundExpr(shape, watermark)} AND ${c} <= ${quoteLiteral(watermark)}::${shape.cursor!.type}
     ) x GROUP BY h`,
    [shape.target, shape.sync.name],
  );
}

/** --dry-run: the files and rows a run would write, per period; nothing is written or locked. */
async function dryRunExport(
  shape: ExportShape,
  client: pg.Client,
  warnings: SyncResult['issues'],
): Promise<SyncResult> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const state = await readExportState(client, shape.target, shape.sync.name);
    const select = exportSelect(shape, shape.sync.mode === 'full' ? null : state.watermark);
    const count = shape.partition
      ? `SELECT ${q(PART_COL)} AS p, count(*)::bigint AS n FROM (${select}) x GROUP BY 1 ORDER BY 1`
      : `SELECT NULL::text AS p, count(*)::bigint AS n FROM (${select}) x`;
    const { rows } = await client.query<{ p: string | null; n: string }>(count);
    const run = state.run + 1;
    const files: ExportSummary['files'] = [];
    let total = 0;
    for (const r of rows) {
      const n = Number(r.n);
      if (n === 0) continue;
      total += n;
      const parts = Math.ceil(n / shape.spec.fileRows);
      for (let i = 1; i <= parts; i++)
        files.push({
          key: fileName(shape, run, r.p, i),
          rows: Math.min(shape.spec.fileRows, n - (i - 1) * shape.spec.fileRows),
          bytes: 0,
        });
    }
    return {
      ...exportResult(shape, total, state, warnings ?? [], {
        bucket: shape.spec.bucket,
        prefix: shape.spec.prefix,
        format: shape.spec.format,
        files,
      }),
      dryRun: { statements: [`COPY (${select}) TO STDOUT`], rows: total, watermark: state.watermark },
    };
  } finally {
    await client.query('ROLLBACK').catch(() => {});
  }
}
