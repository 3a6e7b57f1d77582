// `wharf plan` checks the file's syncs before any data moves, against the tables as the plan
// leaves them: a table the plan creates or changes is taken as the file declares it, any other
// as it is live. Problems become plan diagnostics at the sync's place in the file, with the
// code SYNC_CHECK: they stop only that sync (`wharf sync` checks again against the live tables
// and refuses it), never the apply, so the change that fixes a sync is never blocked by it.
import type pg from 'pg';
import { fileLocator } from '../config/load.js';
import type { LoadedConfig } from '../config/types.js';
import type { TableResource } from '../plan/model.js';
import { type Change, type Diagnostic, SYNC_CHECK } from '../plan/plan.js';
import { type OpenedConnection, openConnection } from '../providers/connect.js';
import { describeQueryUnrun, describeTable, type RelationInfo } from './catalog.js';
import { checkSync, declaredCategory, type SyncIssue } from './check.js';
import { isExport, type SyncConfig, splitTable } from './config.js';
import { crossEngineMessage, engineSync } from './engines.js';
import { type ExportPlan, planExport } from './export/plan.js';

/** A table as the plan leaves it: its declared columns and key, the live table's indexes and size. */
export function plannedRelation(after: TableResource, live: RelationInfo): RelationInfo {
  const pk = after.primaryKey ?? [];
  const names = new Set(after.columns.map((c) => c.name));
  return {
    exists: true,
    columns: after.columns.map((c) => ({
      name: c.name,
      type: c.type,
      category: declaredCategory(c.type),
      notNull: !c.nullable || pk.includes(c.name),
    })),
    indexLeads: [...new Set([...live.indexLeads.filter((c) => names.has(c)), ...pk.slice(0, 1)])],
    primaryKey: pk,
    estimatedRows: live.exists ? live.estimatedRows : 0,
  };
}

const ABSENT: RelationInfo = { exists: false, columns: [], indexLeads: [], primaryKey: [], estimatedRows: 0 };

export async function checkSyncsForPlan(
  loaded: LoadedConfig,
  connections: Map<string, OpenedConnection>,
  /** The plan's changes: the tables they create, change or drop are checked as planned. */
  changes: readonly Change[],
  open: typeof openConnection = openConnection,
  /** Filled with what each bucket export will write (the plan's exports section). */
  exports: ExportPlan[] = [],
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
  const planned = new Map(changes.filter((c) => c.kind === 'table').map((c) => [c.address, c]));
  /** One side's columns as the plan leaves them: as planned where the plan touches the table, else live. */
  const tableOn = async (conn: string, qualified: string): Promise<RelationInfo> => {
    const opened = connections.get(conn);
    const own = opened ? engineSync(opened) : undefined;
    const { schema, name } = splitTable(qualified);
    const change = planned.get(`${conn}.table:${schema}.${name}`);
    if (change?.action === 'delete') return ABSENT;
    const live =
      own && opened
        ? await own.describeTable(opened, qualified)
        : await describeTable((await session(conn))!, schema, name);
    return change?.after?.kind === 'table' ? plannedRelation(change.after, live) : live;
  };
  // A query may name tables the plan is about to create: its failure is then
  // only a warning, checked again when the sync runs.
  const pendingTables = changes.some((c) => c.kind === 'table' || c.kind === 'schema');
  /** The source's columns; a failing query is an error, or a warning when it may name tables apply is about to create. */
  const sourceOn = async (
    conn: string,
    sync: Pick<SyncConfig, 'from' | 'name'>,
  ): Promise<RelationInfo | SyncIssue | null> => {
    if (sync.from.table) return tableOn(conn, sync.from.table);
    // Plan never runs the file's queries. On PostgreSQL the query is described (Parse and
    // Describe, no Execute) in a read-only transaction. An engine with sync paths of its own
    // (Redshift: the Data API has no describe that does not execute) is not sent the query at
    // all: it was parsed locally (one SELECT) and its columns are checked when the sync runs.
    const opened = connections.get(conn);
    if (opened && engineSync(opened)) return null;
    try {
      return await describeQueryUnrun((await session(conn))!, sync.from.query!);
    } catch (e) {
      // An unknown table or schema: something the plan may be about to create.
      const missing = ['42P01', '3F000'].includes((e as { code?: string }).code ?? '');
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
      if (isExport(sync)) {
        const srcName = sync.from.connection ?? loaded.defaultConnection;
        const srcInfo = await sourceOn(srcName, sync);
        if (srcInfo !== null && 'severity' in srcInfo) push(srcInfo);
        const info = srcInfo === null || 'severity' in srcInfo ? null : srcInfo;
        const s = await planExport(loaded, sync, info, srcName, info ? await session(srcName) : null);
        if (s) {
          exports.push(s.entry);
          for (const issue of s.issues) push({ ...issue, message: `sync ${sync.name}: ${issue.message}` });
        }
        continue;
      }
      const srcName = sync.from.connection ?? loaded.defaultConnection;
      const dstName = sync.to.connection ?? loaded.defaultConnection;
      // Where rows can move: among connections with SQL sessions (PostgreSQL), inside one
      // connection of an engine with sync paths of its own (Redshift), and between the two.
      const engine = async (conn: string) => {
        if (await session(conn)) return 'sessions';
        const opened = connections.get(conn);
        return opened && engineSync(opened) ? 'own' : undefined;
      };
      const [from, to] = [await engine(srcName), await engine(dstName)];
      if (!from || !to || (from === 'own' && to === 'own' && srcName !== dstName)) {
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
  const locator = fileLocator(loaded);
  return out.map(({ index, issue }) => {
    const at = locator?.at(['syncs', index]) ?? { line: 1, col: 1 };
    return {
      severity: issue.severity,
      code: SYNC_CHECK,
      message: issue.message,
      file: ('file' in at && at.file) || loaded.file,
      line: at.line,
      col: at.col,
      path: `syncs[${index}]`,
    };
  });
}
