// `wharf plan` checks the file's syncs before any data moves: for each sync, the source and
// destination are read from the live catalogs (or, for tables the file declares and apply has
// not created yet, taken as declared) and checked with checkSync. Problems become plan
// diagnostics at the sync's place in the file.
import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { exactParse } from '../config/load.js';
import type { LoadedConfig } from '../config/types.js';
import { foldIdent } from '../plan/normalize.js';
import type { Diagnostic } from '../plan/plan.js';
import { type OpenedConnection, openConnection } from '../providers/connect.js';
import { describeQuery, describeTable, type RelationInfo } from './catalog.js';
import { checkSync, declaredRelation, type SyncIssue } from './check.js';
import { splitTable } from './config.js';
import { describeOnRedshift, describeRedshiftSource } from './redshift-run.js';
import { crossEngineMessage } from './run.js';
import { sourceRelation } from './sql.js';

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
  const out: { index: number; issue: SyncIssue }[] = [];
  try {
    for (const [index, sync] of syncs.entries()) {
      const push = (issue: SyncIssue) => out.push({ index, issue });
      const srcName = sync.from.connection ?? loaded.defaultConnection;
      const dstName = sync.to.connection ?? loaded.defaultConnection;
      const src = await session(srcName);
      const dst = await session(dstName);
      const redshift = connections.get(dstName)?.dataApi;
      const table = async (client: pg.Client, qualified: string): Promise<RelationInfo> => {
        const { schema, name } = splitTable(qualified);
        const live = await describeTable(client, schema, name);
        return live.exists ? live : (declared(qualified) ?? live);
      };
      if (redshift && srcName === dstName) {
        // Inside Redshift: both sides and the state through the Data API, changing nothing.
        let d: Awaited<ReturnType<typeof describeOnRedshift>>;
        try {
          d = await describeOnRedshift(redshift, sync, sourceRelation(sync.from), '', sync.name, false);
        } catch (e) {
          // Before the first apply the query may name tables the file is about to create.
          const pending = (loaded.config.tables ?? []).length > 0;
          push({
            severity: pending ? 'warning' : 'error',
            message: `${(e as Error).message}${pending ? ' (checked again at sync time)' : ''}`,
          });
          continue;
        }
        const dstInfo = d.dst.exists ? d.dst : (declared(sync.to.table) ?? d.dst);
        const srcInfo = d.src.exists || !sync.from.table ? d.src : (declared(sync.from.table) ?? d.src);
        for (const issue of checkSync(sync, srcInfo, dstInfo))
          push({ ...issue, message: `sync ${sync.name}: ${issue.message}` });
        continue;
      }
      if (redshift && src) {
        // From PostgreSQL into Redshift: the destination through the Data API.
        let d: Awaited<ReturnType<typeof describeOnRedshift>>;
        try {
          d = await describeOnRedshift(redshift, sync, '', '', sync.name, false, false);
        } catch (e) {
          push({ severity: 'error', message: `sync ${sync.name}: ${(e as Error).message}` });
          continue;
        }
        const dstInfo = d.dst.exists ? d.dst : (declared(sync.to.table) ?? d.dst);
        let srcInfo: RelationInfo;
        if (sync.from.table) srcInfo = await table(src, sync.from.table);
        else {
          try {
            srcInfo = await describeQuery(src, sourceRelation(sync.from));
          } catch (e) {
            push({
              severity: 'error',
              message: `sync ${sync.name}: the source query fails: ${(e as Error).message}`,
            });
            continue;
          }
        }
        for (const issue of checkSync(sync, srcInfo, dstInfo))
          push({ ...issue, message: `sync ${sync.name}: ${issue.message}` });
        continue;
      }
      const fromRedshift = connections.get(srcName)?.dataApi;
      if (fromRedshift && dst) {
        // From Redshift into PostgreSQL: the source through the Data API.
        let srcInfo: RelationInfo;
        try {
          srcInfo = await describeRedshiftSource(fromRedshift, sync, sourceRelation(sync.from));
        } catch (e) {
          push({ severity: 'error', message: (e as Error).message });
          continue;
        }
        if (!srcInfo.exists && sync.from.table) srcInfo = declared(sync.from.table) ?? srcInfo;
        for (const issue of checkSync(sync, srcInfo, await table(dst, sync.to.table)))
          push({ ...issue, message: `sync ${sync.name}: ${issue.message}` });
        continue;
      }
      if (!src || !dst) {
        push({ severity: 'error', message: `sync ${sync.name}: ${crossEngineMessage(srcName, dstName)}` });
        continue;
      }
      const dstInfo = await table(dst, sync.to.table);
      let srcInfo: RelationInfo;
      if (sync.from.table) srcInfo = await table(src, sync.from.table);
      else {
        try {
          srcInfo = await describeQuery(src, sourceRelation(sync.from));
        } catch (e) {
          // Before the first apply the query may name tables the file is about to create.
          const pending =
            (e as { code?: string }).code === '42P01' && (loaded.config.tables ?? []).length > 0;
          push({
            severity: pending ? 'warning' : 'error',
            message: `sync ${sync.name}: the source query fails: ${(e as Error).message}${pending ? ' (checked again at sync time)' : ''}`,
          });
          continue;
        }
      }
      for (const issue of checkSync(sync, srcInfo, dstInfo))
        push({ ...issue, message: `sync ${sync.name}: ${issue.message}` });
    }
  } finally {
    for (const c of sessions.values()) await c?.end().catch(() => {});
  }
  if (out.length === 0) return [];
  const locator = exactParse(readFileSync(loaded.file, 'utf8'), loaded.file).locator;
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
