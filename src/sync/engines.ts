// The syncs an engine runs on paths of its own, and the one place the sync run names an
// engine. A sync with a Redshift side (reached through the Data API) runs inside Redshift,
// loads into it, or extracts from it; every other sync runs on PostgreSQL sessions (run.ts).
// Looking these paths up through the provider contract instead is a change to this file only.
import type { OpenedConnection } from '../providers/connect.js';
import type { SyncConfig } from './config.js';
import { runFromRedshift } from './redshift-extract.js';
import { runIntoRedshift } from './redshift-load.js';
import { runOnRedshift } from './redshift-run.js';
import type { SyncResult, SyncRunOptions } from './types.js';

/** Why a sync between these two connections cannot run. */
export function crossEngineMessage(from: string, to: string): string {
  return (
    `${from} -> ${to}: rows move inside one connection, between PostgreSQL connections (local, postgres), and between PostgreSQL and Redshift, ` +
    'but not between two Redshift connections (share the data with a datashare instead)'
  );
}

/** One side of a sync: the connection's name in the file, and the connection. */
export interface SyncSide {
  name: string;
  conn: OpenedConnection;
}

/**
 * The run of a sync that an engine's own path takes (one Redshift connection, or Redshift on
 * either side of PostgreSQL), or undefined when the sync runs on PostgreSQL sessions.
 */
export function engineRun(
  sync: SyncConfig,
  src: SyncSide,
  dst: SyncSide,
  options: SyncRunOptions,
  batchRows: number,
): Promise<SyncResult> | undefined {
  if (dst.conn.dataApi && src.name === dst.name) return runOnRedshift(sync, dst.conn, options);
  if (dst.conn.dataApi && src.conn.connectSql)
    return runIntoRedshift(sync, src.conn, dst.conn, options, batchRows);
  if (src.conn.dataApi && dst.conn.connectSql) return runFromRedshift(sync, src.conn, dst.conn, options);
  return undefined;
}
