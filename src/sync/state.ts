// Sync state in the destination: one row per sync in wharf_state.sync_state, keyed by the
// destination table and the sync's name, holding the watermark (the highest cursor value
// loaded, as text, cast back to the cursor's type when read) and, for cdc, the last applied
// sequence. It is always written in the transaction that writes the data it describes. A
// session-level advisory lock per key keeps two runs apart.
//
// The key includes the destination table, so two files that each declare a sync named
// `events` into different tables never share a watermark. Rows of the earlier layout
// (wharf_state.syncs, keyed by name alone) are adopted by the first run that finds no row of
// its own, and removed in that run's transaction.
import type pg from 'pg';
import { quoteQualified } from '../providers/sql-quote.js';

export const STATE_SCHEMA = 'wharf_state';
export const STATE_TABLE = `${STATE_SCHEMA}.sync_state`;
const LEGACY_TABLE = `${STATE_SCHEMA}.syncs`;
/** Advisory lock class for syncs ('wsyc'); the object id is hashtext(target || name). */
const LOCK_CLASS = 0x77737963;

/** Which state row a sync owns: its destination table and its name. */
export interface SyncKey {
  name: string;
  /** The destination table, quoted and qualified: `"analytics"."users"`. */
  target: string;
}

export function syncKey(name: string, target: { schema: string; name: string }): SyncKey {
  return { name, target: quoteQualified(target.schema, target.name) };
}

export interface SyncState {
  watermark: string | null;
  lastSequence: string | null;
  /** The row came from the earlier, name-keyed layout; writeState removes it. */
  legacy?: boolean;
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
      const { rows } = await client.query<{ ok: boolean }>(
        `SELECT to_regclass('${STATE_TABLE}') IS NOT NULL AS ok`,
      );
      if (rows[0]?.ok) return;
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${STATE_SCHEMA}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${STATE_TABLE} (
           target text NOT NULL,
           name text NOT NULL,
           mode text NOT NULL,
           watermark text,
           last_sequence text,
           rows_loaded bigint NOT NULL DEFAULT 0,
           updated_at timestamptz NOT NULL DEFAULT now(),
           PRIMARY KEY (target, name)
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
export async function readState(client: pg.Client, key: SyncKey): Promise<SyncState> {
  const { rows } = await client
    .query<{ watermark: string | null; last_sequence: string | null; legacy: boolean }>(
      `SELECT watermark, last_sequence, false AS legacy FROM ${STATE_TABLE}
        WHERE to_regclass('${STATE_TABLE}') IS NOT NULL AND target = $1 AND name = $2`,
      [key.target, key.name],
    )
    .catch((e: { code?: string }) => {
      if (e.code === '42P01') return { rows: [] };
      throw e;
    });
  let r = rows[0];
  if (!r) r = await readLegacy(client, key.name);
  return {
    watermark: r?.watermark ?? null,
    lastSequence: r?.last_sequence ?? null,
    ...(r?.legacy ? { legacy: true } : {}),
  };
}

async function readLegacy(
  client: pg.Client,
  name: string,
): Promise<{ watermark: string | null; last_sequence: string | null; legacy: boolean } | undefined> {
  const { rows } = await client.query<{ exists: boolean }>(
    `SELECT to_regclass('${LEGACY_TABLE}') IS NOT NULL AS exists`,
  );
  if (!rows[0]?.exists) return undefined;
  const legacy = await client.query<{ watermark: string | null; last_sequence: string | null }>(
    `SELECT watermark, last_sequence FROM ${LEGACY_TABLE} WHERE name = $1`,
    [name],
  );
  const r = legacy.rows[0];
  return r ? { ...r, legacy: true } : undefined;
}

/** Records the new state; call inside the transaction that wrote the data. */
export async function writeState(
  client: pg.Client,
  key: SyncKey,
  mode: string,
  state: SyncState,
  rows: number,
): Promise<void> {
  await client.query(
    `INSERT INTO ${STATE_TABLE} AS s (target, name, mode, watermark, last_sequence, rows_loaded, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, now())
     ON CONFLICT (target, name) DO UPDATE SET mode = EXCLUDED.mode, watermark = EXCLUDED.watermark,
       last_sequence = EXCLUDED.last_sequence, rows_loaded = s.rows_loaded + EXCLUDED.rows_loaded,
       updated_at = now()`,
    [key.target, key.name, mode, state.watermark, state.lastSequence, rows],
  );
  if (state.legacy) await client.query(`DELETE FROM ${LEGACY_TABLE} WHERE name = $1`, [key.name]);
}

/** Forgets a sync's state (part of --full-refresh, in the transaction of its first load). */
export async function clearState(client: pg.Client, key: SyncKey): Promise<void> {
  await client.query(`DELETE FROM ${STATE_TABLE} WHERE target = $1 AND name = $2`, [key.target, key.name]);
  const { rows } = await client.query<{ exists: boolean }>(
    `SELECT to_regclass('${LEGACY_TABLE}') IS NOT NULL AS exists`,
  );
  if (rows[0]?.exists) await client.query(`DELETE FROM ${LEGACY_TABLE} WHERE name = $1`, [key.name]);
}

/**
 * Takes the per-sync lock on this session, waiting up to `timeoutMs`; with `ensureState`, then
 * makes sure the state table exists (checked in the lock's round trip: see ensureStateTable).
 */
export async function lockSync(
  client: pg.Client,
  key: SyncKey,
  timeoutMs: number,
  opts: { ensureState?: boolean } = {},
): Promise<() => Promise<void>> {
  const id = `${key.target} ${key.name}`;
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    const { rows } = await client.query<{ ok: boolean; state: boolean }>(
      `SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok, to_regclass('${STATE_TABLE}') IS NOT NULL AS state`,
      [LOCK_CLASS, id],
    );
    if (rows[0]?.ok) {
      if (opts.ensureState && !rows[0].state) {
        try {
          await ensureStateTable(client);
        } catch (e) {
          await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, id]).catch(() => {});
          throw e;
        }
      }
      break;
    }
    if (Date.now() >= deadline) {
      const who = await client.query<{ holder: string }>(
        `SELECT format('%s, pid %s', a.application_name, a.pid) AS holder
           FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.classid = $1::oid AND l.objid = hashtext($2)::oid AND l.granted`,
        [LOCK_CLASS, id],
      );
      throw new SyncLockedError(key.name, who.rows[0]?.holder ?? 'another session');
    }
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
  }
  return async () => {
    await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, id]).catch(() => {});
  };
}

/** The cdc per-key table of a sync: named after its destination table and name (at most 63 bytes). */
export function keysTableName(
  target: { schema: string; name: string },
  name: string,
  prefix = 'cdc',
): string {
  const full = `${prefix}_${target.schema}_${target.name}_${name}`;
  if (Buffer.byteLength(full) <= 63) return full;
  let h = 0;
  for (const ch of full) h = (Math.imul(h, 31) + ch.codePointAt(0)!) >>> 0;
  const suffix = `_${h.toString(16).padStart(8, '0')}`;
  let head = full;
  while (Buffer.byteLength(head) + suffix.length > 63) head = head.slice(0, -1);
  return head + suffix;
}
