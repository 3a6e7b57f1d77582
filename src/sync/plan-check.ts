// `wharf plan` checks the file's syncs before any data moves: for each sync, the source and
// destination are read from the live catalogs (or, for tables the file declares and apply has
// not created yet, taken as declared) and checked with checkSync. Problems become plan
// diagnostics at the sync's place in the file.
import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { textLocator } from '../config/load.js';
import type { LoadedConfig } from '../config/types.js';
import { foldIdent } from '../plan/normalize.js';
import type { Diagnostic } from '../plan/plan.js';
import { type OpenedConnection, openConnection } from '../providers/connect.js';
import { describeQueryUnrun, describeTable, type RelationInfo } from './catalog.js';
import { checkSync, declaredRelation, type SyncIssue } from './check.js';
import { type SyncConfig, splitTable } from './config.js';
import { describeRedshiftTable } from './redshift-run.js';
import { crossEngineMessage } from './run.js';

export async function checkSyncsForPlan(
  loaded: LoadedConfig,
  connections: Map<string, OpenedConnection>,
  open: typeof openConnection = openConnection,
): Promise<Diagnostic[]> {
  const syncs = loaded.config.syncs ?? [];
  if (syncs.length === 0) return [];
  const sessions = new Map<string, pg.Client | null>();
  const session = async (name: string): Promise<pg.Client | null> => {
    if (sessions.has(name)) return sessions.get(name)!;
    let conn = connections.get(name);
    if (!conn) {
      conn = await open(name, loaded.connections[name]!, loaded.baseDir);
      connections.set(name, conn);
    }
    const c = conn.connectSql ? await conn.connectSql() : null;
    sessions.set(name, c);
    return c;
  };
  const declared = (qualified: string) => {
    const { schema, name } = splitTable(qualified);
    const t = (loaded.config.tables ?? []).find(
      (x) => foldIdent(x.schema) === schema && foldIdent(x.name) === name,
    );
    return t ? declaredRelation(t) : undefined;
  };
  const pendingTables = (loaded.config.tables ?? []).length > 0;
  /** One side's columns, live on its engine, or as declared when apply has not created it yet. */
  const tableOn = async (conn: string, qualified: string): Promise<RelationInfo> => {
    const api = connections.get(conn)?.dataApi;
    const { schema, name } = splitTable(qualified);
    const live = api
      ? await describeRedshiftTable(api, qualified)
      : await describeTable((await session(conn))!, schema, name);
    return live.exists ? live : (declared(qualified) ?? live);
  };
  /** The source's columns; a failing query is an error, or a warning when it may name tables apply is about to create. */
  const sourceOn = async (conn: string, sync: SyncConfig): Promise<RelationInfo | SyncIssue | null> => {
    if (sync.from.table) return tableOn(conn, sync.from.table);
    const api = connections.get(conn)?.dataApi;
    // Plan never runs the file's queries. On PostgreSQL the query is described (Parse and
    // Describe, no Execute) in a read-only transaction. The Data API has no describe that
    // does not execute, so on Redshift the query is not sent at all: it was parsed locally
    // (one SELECT) and its columns are checked when the sync runs.
    if (api) return null;
    try {
      return await describeQueryUnrun((await session(conn))!, sync.from.query!);
    } catch (e) {
      const missing = api
        ? /does not exist/i.test((e as Error).message)
        : (e as { code?: string }).code === '42P01';
      const pending = missing && pendingTables;
      return {
        severity: pending ? 'warning' : 'error',
        message: `sync ${sync.name}: the source query fails: ${(e as Error).message}${pending ? ' (checked again at sync time)' : ''}`,
      };
    }
  };
  const out: { index: number; issue: SyncIssue }[] = [];
  try {
    for (const [index, sync] of syncs.entries()) {
      const push = (issue: SyncIssue) => out.push({ index, issue });
      const srcName = sync.from.connection ?? loaded.defaultConnection;
      const dstName = sync.to.connection ?? loaded.defaultConnection;
      // Where rows can move: PostgreSQL engines among themselves, Redshift inside one
      // connection, and between PostgreSQL and Redshift.
      const engine = async (conn: string) =>
        (await session(conn)) ? 'postgres' : connections.get(conn)?.dataApi ? 'redshift' : undefined;
      const [from, to] = [await engine(srcName), await engine(dstName)];
      if (!from || !to || (from === 'redshift' && to === 'redshift' && srcName !== dstName)) {
        push({ severity: 'error', message: `sync ${sync.name}: ${crossEngineMessage(srcName, dstName)}` });
        continue;
      }
      const srcInfo = await sourceOn(srcName, sync);
      if (srcInfo === null) continue;
      if ('severity' in srcInfo) {
        push(srcInfo);
        continue;
      }
      for (const issue of checkSync(sync, srcInfo, await tableOn(dstName, sync.to.table)))
        push({ ...issue, message: `sync ${sync.name}: ${issue.message}` });
    }
  } finally {
    for (const c of sessions.values()) await c?.end().catch(() => {});
  }
  if (out.length === 0) return [];
  const locator = textLocator(readFileSync(loaded.file, 'utf8'), loaded.file);
  return out.map(({ index, issue }) => {
    const at = locator?.at(['syncs', index]) ?? { line: 1, col: 1 };
    return {
      severity: issue.severity,
      code: 'sync',
      message: issue.message,
      file: loaded.file,
      line: at.line,
      col: at.col,
      path: `syncs[${index}]`,
    };
  });
}
