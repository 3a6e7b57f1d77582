// The syncs an engine runs on paths of its own (src/providers/engine.ts, `Engine.sync`): inside
// one of its connections, loading into it, or extracting from it. Every other sync runs on
// SQL sessions, as PostgreSQL (run.ts). The only place the sync run asks which engine it meets.
import type { OpenedConnection } from '../providers/connect.js';
import { type EngineSync, engineFor } from '../providers/engine.js';
import type { SyncConfig } from './config.js';
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

/** The sync paths of the engine serving a connection, if it has its own. */
export function engineSync(conn: OpenedConnection): EngineSync | undefined {
  return engineFor(conn.config.type)?.sync;
}

/**
 * The run of a sync that an engine's own path takes (inside one of its connections, or on
 * either side of a connection with SQL sessions), or undefined when the sync runs on SQL sessions.
 */
export function engineRun(
  sync: SyncConfig,
  src: SyncSide,
  dst: SyncSide,
  options: SyncRunOptions,
  batchRows: number,
): Promise<SyncResult> | undefined {
  const into = engineSync(dst.conn);
  const from = engineSync(src.conn);
  if (into && src.name === dst.name) return into.runInside(sync, dst.conn, options);
  if (into && src.conn.connectSql) return into.loadInto(sync, src.conn, dst.conn, options, batchRows);
  if (from && dst.conn.connectSql) return from.extractFrom(sync, src.conn, dst.conn, options);
  return undefined;
}
