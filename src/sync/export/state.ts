// What a bucket export keeps on its source warehouse, in wharf_state next to the table syncs'
// state: one row per export (the last committed run, the watermark, the last day signalled,
// and the follow-up work a crash may have cut short), one row per file committed (its
// partition, rows, bytes and MD5), and the identities of the rows already written within the
// lookback window (so re-read rows are not written twice). All of it is written in the
// transaction that read the rows, after the files are in place.
import type pg from 'pg';
import { STATE_SCHEMA } from '../state.js';

export const EXPORT_STATE = `${STATE_SCHEMA}.export_state`;
export const EXPORT_FILES = `${STATE_SCHEMA}.export_files`;
export const EXPORT_SEEN = `${STATE_SCHEMA}.export_seen`;

export interface ExportState {
  /** The last committed run (0: none); file names carry it. */
  run: number;
  watermark: string | null;
  /** The last day whose signal is written (YYYY-MM-DD), or null. */
  signalledThrough: string | null;
  /** Days up to this one are finished but their signal may not be written yet. */
  signalPending: string | null;
  /** Files of runs before `run` are to be removed (mode full, --full-refresh). */
  supersedePending: boolean;
  rowsWritten: number;
}

export const EMPTY_EXPORT_STATE: ExportState = {
  run: 0,
  watermark: null,
  signalledThrough: null,
  signalPending: null,
  supersedePending: false,
  rowsWritten: 0,
};

/** Creates the export state tables if missing (after lockSync made the schema). */
export async function ensureExportTables(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ ok: boolean }>(
    `SELECT to_regclass('${EXPORT_SEEN}') IS NOT NULL AS ok`,
  );
  if (rows[0]?.ok) return;
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${STATE_SCHEMA};
CREATE TABLE IF NOT EXISTS ${EXPORT_STATE} (
  target text NOT NULL,
  name text NOT NULL,
  mode text NOT NULL,
  run bigint NOT NULL DEFAULT 0,
  watermark text,
  signalled_through text,
  signal_pending text,
  supersede_pending boolean NOT NULL DEFAULT false,
  rows_written bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (target, name)
);
CREATE TABLE IF NOT EXISTS ${EXPORT_FILES} (
  target text NOT NULL,
  name text NOT NULL,
  run bigint NOT NULL,
  key text NOT NULL,
  period text,
  rows bigint NOT NULL,
  bytes bigint NOT NULL,
  md5 text NOT NULL,
  written_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (target, name, key)
);
CREATE TABLE IF NOT EXISTS ${EXPORT_SEEN} (
  target text NOT NULL,
  name text NOT NULL,
  h text NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (target, name, h)
);`);
}

/** The stored state, or an empty one (also when the tables do not exist yet). */
export async function readExportState(client: pg.Client, target: string, name: string): Promise<ExportState> {
  // Checked first: a failed query would abort the caller's transaction (a dry run's).
  const exists = await client.query<{ ok: boolean }>(
    `SELECT to_regclass('${EXPORT_STATE}') IS NOT NULL AS ok`,
  );
  if (!exists.rows[0]?.ok) return { ...EMPTY_EXPORT_STATE };
  const { rows } = await client
    .query<{
      run: string;
      watermark: string | null;
      signalled_through: string | null;
      signal_pending: string | null;
      supersede_pending: boolean;
      rows_written: string;
    }>(
      `SELECT run, watermark, signalled_through, signal_pending, supersede_pending, rows_written
       FROM ${EXPORT_STATE} WHERE to_regclass('${EXPORT_STATE}') IS NOT NULL AND target = $1 AND name = $2`,
      [target, name],
    )
    .catch((e: { code?: string }) => {
      if (e.code === '42P01') return { rows: [] };
      throw e;
    });
  const r = rows[0];
  if (!r) return { ...EMPTY_EXPORT_STATE };
  return {
    run: Number(r.run),
    watermark: r.watermark,
    signalledThrough: r.signalled_through,
    signalPending: r.signal_pending,
    supersedePending: r.supersede_pending,
    rowsWritten: Number(r.rows_written),
  };
}

export interface FileRecord {
  key: string;
  period: string | null;
  rows: number;
  bytes: number;
  md5: string;
}

export async function recordFiles(
  client: pg.Client,
  target: string,
  name: string,
  run: number,
  files: readonly FileRecord[],
): Promise<void> {
  if (files.length === 0) return;
  await client.query(
    `INSERT INTO ${EXPORT_FILES} (target, name, run, key, period, rows, bytes, md5)
     SELECT $1, $2, $3, f.key, f.period, f.rows, f.bytes, f.md5
       FROM unnest($4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::text[]) AS f(key, period, rows, bytes, md5)
     ON CONFLICT (target, name, key) DO UPDATE
        SET run = excluded.run, period = excluded.period, rows = excluded.rows, bytes = excluded.bytes,
            md5 = excluded.md5, written_at = now()`,
    [
      target,
      name,
      run,
      files.map((f) => f.key),
      files.map((f) => f.period),
      files.map((f) => f.rows),
      files.map((f) => f.bytes),
      files.map((f) => f.md5),
    ],
  );
}

export async function writeExportState(
  client: pg.Client,
  target: string,
  name: string,
  mode: string,
  s: ExportState,
): Promise<void> {
  await client.query(
    `INSERT INTO ${EXPORT_STATE} (target, name, mode, run, watermark, signalled_through, signal_pending, supersede_pending, rows_written, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
     ON CONFLICT (target, name) DO UPDATE
        SET mode = excluded.mode, run = excluded.run, watermark = excluded.watermark,
            signalled_through = excluded.signalled_through, signal_pending = excluded.signal_pending,
            supersede_pending = excluded.supersede_pending, rows_written = excluded.rows_written,
            updated_at = now()`,
    [
      target,
      name,
      mode,
      s.run,
      s.watermark,
      s.signalledThrough,
      s.signalPending,
      s.supersedePending,
      s.rowsWritten,
    ],
  );
}

/** The committed files of runs before `run` (what a new snapshot supersedes). */
export async function filesBefore(
  client: pg.Client,
  target: string,
  name: string,
  run: number,
): Promise<string[]> {
  const { rows } = await client.query<{ key: string }>(
    `SELECT key FROM ${EXPORT_FILES} WHERE target = $1 AND name = $2 AND run < $3 ORDER BY key`,
    [target, name, run],
  );
  return rows.map((r) => r.key);
}

export async function forgetFilesBefore(
  client: pg.Client,
  target: string,
  name: string,
  run: number,
): Promise<void> {
  await client.query(`DELETE FROM ${EXPORT_FILES} WHERE target = $1 AND name = $2 AND run < $3`, [
    target,
    name,
    run,
  ]);
}

/** The first period any committed file holds, or null. */
export async function firstPeriod(client: pg.Client, target: string, name: string): Promise<string | null> {
  const { rows } = await client.query<{ p: string | null }>(
    `SELECT min(period) AS p FROM ${EXPORT_FILES} WHERE target = $1 AND name = $2 AND period IS NOT NULL`,
    [target, name],
  );
  return rows[0]?.p ?? null;
}
