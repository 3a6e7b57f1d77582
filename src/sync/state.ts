// Sync state in the destination: one row per sync in wharf_state.syncs holding the watermark
// (the highest cursor value loaded, as text, cast back to the cursor's type when read) and,
// for cdc, the last applied sequence. It is always written in the transaction that writes the
// data it describes. A session-level advisory lock per sync name keeps two runs apart.
import type pg from 'pg';

export const STATE_SCHEMA = 'wharf_state';
/** Advisory lock class for syncs ('wsyc'); the object id is hashtext(sync name). */
const LOCK_CLASS = 0x77737963;

export interface SyncState {
  watermark: string | null;
  lastSequence: string | null;
}

export class SyncLockedError extends Error {
  constructor(
    readonly sync: string,
    holder: string,
  ) {
    super(`sync ${sync} is already running (${holder}); concurrent runs of one sync are refused`);
    this.name = 'SyncLockedError';
  }
}

/** Creates the state schema and table if missing (tolerates a concurrent creator). */
export async function ensureStateTable(client: pg.Client): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${STATE_SCHEMA}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${STATE_SCHEMA}.syncs (
           name text PRIMARY KEY,
           mode text NOT NULL,
           watermark text,
           last_sequence text,
           rows_loaded bigint NOT NULL DEFAULT 0,
           updated_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      return;
    } catch (e) {
      const code = (e as { code?: string }).code;
      // unique_violation / duplicate_object: another session created it at the same moment.
      if (attempt < 3 && (code === '23505' || code === '42P06' || code === '42P07')) continue;
      throw e;
    }
  }
}

/** The stored state, or an empty one (also when the state table does not exist yet). */
export async function readState(client: pg.Client, name: string): Promise<SyncState> {
  const { rows } = await client
    .query<{ watermark: string | null; last_sequence: string | null }>(
      `SELECT watermark, last_sequence FROM ${STATE_SCHEMA}.syncs
      WHERE to_regclass('${STATE_SCHEMA}.syncs') IS NOT NULL AND name = $1`,
      [name],
    )
    .catch((e: { code?: string }) => {
      if (e.code === '42P01') return { rows: [] };
      throw e;
    });
  const r = rows[0];
  return { watermark: r?.watermark ?? null, lastSequence: r?.last_sequence ?? null };
}

/** Records the new state; call inside the transaction that wrote the data. */
export async function writeState(
  client: pg.Client,
  name: string,
  mode: string,
  state: SyncState,
  rows: number,
): Promise<void> {
  await client.query(
    `INSERT INTO ${STATE_SCHEMA}.syncs AS s (name, mode, watermark, last_sequence, rows_loaded, updated_at)
     VALUES ($1, $2, $3, $4, $5, now())
     ON CONFLICT (name) DO UPDATE SET mode = EXCLUDED.mode, watermark = EXCLUDED.watermark,
       last_sequence = EXCLUDED.last_sequence, rows_loaded = s.rows_loaded + EXCLUDED.rows_loaded,
       updated_at = now()`,
    [name, mode, state.watermark, state.lastSequence, rows],
  );
}

/** Forgets a sync's state (part of --full-refresh, in the transaction of its first load). */
export async function clearState(client: pg.Client, name: string): Promise<void> {
  await client.query(`DELETE FROM ${STATE_SCHEMA}.syncs WHERE name = $1`, [name]);
}

/** Takes the per-sync lock on this session, waiting up to `timeoutMs`. */
export async function lockSync(
  client: pg.Client,
  name: string,
  timeoutMs: number,
): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    const { rows } = await client.query<{ ok: boolean }>(
      'SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok',
      [LOCK_CLASS, name],
    );
    if (rows[0]?.ok) break;
    if (Date.now() >= deadline) {
      const who = await client.query<{ holder: string }>(
        `SELECT format('%s, pid %s', a.application_name, a.pid) AS holder
           FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.classid = $1::oid AND l.objid = hashtext($2)::oid AND l.granted`,
        [LOCK_CLASS, name],
      );
      throw new SyncLockedError(name, who.rows[0]?.holder ?? 'another session');
    }
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
  }
  return async () => {
    await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, name]).catch(() => {});
  };
}
