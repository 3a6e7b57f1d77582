// Planning a run on PostgreSQL sessions: both sides described (one catalog query on the
// destination, and the source's table or query), the sync checked against them, and the
// shape the SQL is compiled from (sql.ts). Also what every such run shares: the run's context,
// the typed columns of its staging table, and the adoption of a cdc key table of the earlier
// layout.
import type pg from 'pg';
import { foldIdent } from '../plan/normalize.js';
import { quoteIdent, quoteQualified } from '../providers/sql-quote.js';
import { describeQuery, describeTable, describeTables, type RelationInfo } from './catalog.js';
import { checkSync } from './check.js';
import { parseLookback, type SyncConfig, splitTable } from './config.js';
import { CDC_CUR, CDC_OP, CDC_SEQ, readNames, type SyncShape, sourceRelation } from './sql.js';
import { keysTableName, STATE_SCHEMA, type SyncKey } from './state.js';
import { SyncError, type SyncRunOptions } from './types.js';

/** The staging table a run loads the rows it reads into (a temporary table, per session). */
export const STAGE = 'wharf_stage';

/** Both sides of a run on PostgreSQL sessions, described, and the shape derived from them. */
export interface Sides {
  src: pg.Client;
  dst: pg.Client;
  sameEngine: boolean;
  srcInfo: RelationInfo;
  dstInfo: RelationInfo;
  relation: string;
  shape: SyncShape;
}

/** What the steps of one run share. */
export interface RunCtx {
  sync: SyncConfig;
  key: SyncKey;
  sides: Sides;
  options: SyncRunOptions;
  batchRows: number;
}

/** A cdc key table of the earlier layout (`cdc_<name>`) is renamed to this sync's, once. */
export async function adoptLegacyKeysTable(client: pg.Client, name: string, current: string): Promise<void> {
  const legacy = `cdc_${name}`.slice(0, 63);
  if (legacy === current) return;
  const { rows } = await client.query<{ move: boolean }>(
    'SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NULL AS move',
    [quoteQualified(STATE_SCHEMA, legacy), quoteQualified(STATE_SCHEMA, current)],
  );
  if (rows[0]?.move)
    await client.query(
      `ALTER TABLE ${quoteQualified(STATE_SCHEMA, legacy)} RENAME TO ${quoteIdent(current)}`,
    );
}

export async function describe(
  sync: SyncConfig,
  src: pg.Client,
  dst: pg.Client,
  sameEngine: boolean,
): Promise<Sides> {
  const target = splitTable(sync.to.table);
  const relation = sourceRelation(sync.from);
  // One catalog query on the destination: its table, the source table too on the same engine,
  // and the server's version.
  const srcTable = sync.from.table ? splitTable(sync.from.table) : undefined;
  const both = sameEngine && srcTable !== undefined;
  const described = await describeTables(dst, both ? [target, srcTable] : [target]);
  const dstInfo = described.relations[0]!;
  const srcInfo = both ? described.relations[1]! : await describeSource(src, sync, relation);
  const issues = checkSync(sync, srcInfo, dstInfo);
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length)
    throw new SyncError(`sync ${sync.name}: ${errors.map((e) => e.message).join('; ')}`, issues);
  const shape = shapeOf(sync, srcInfo, dstInfo);
  shape.mergeReturning = described.serverVersion >= 170000;
  shape.mergePlain = described.serverVersion >= 150000 && described.serverVersion < 170000;
  return { src, dst, sameEngine, srcInfo, dstInfo, relation, shape };
}

/** The source's columns on a PostgreSQL engine: its table, or its query planned with LIMIT 0. */
export async function describeSource(
  client: pg.Client,
  sync: Pick<SyncConfig, 'from' | 'name'>,
  relation: string,
): Promise<RelationInfo> {
  if (sync.from.table) {
    const t = splitTable(sync.from.table);
    return describeTable(client, t.schema, t.name);
  }
  try {
    return await describeQuery(client, relation);
  } catch (e) {
    throw new SyncError(`sync ${sync.name}: the source query fails: ${(e as Error).message}`);
  }
}

export function shapeOf(sync: SyncConfig, srcInfo: RelationInfo, dstInfo: RelationInfo): SyncShape {
  const target = splitTable(sync.to.table);
  const curCol = sync.cursor
    ? foldIdent(sync.cursor.column)
    : sync.cdc
      ? foldIdent(sync.cdc.sequence)
      : undefined;
  const shape: SyncShape = {
    mode: sync.mode,
    target,
    columns: dstInfo.columns.map((c) => c.name),
    key: (sync.primaryKey ?? []).map(foldIdent),
  };
  const sorted = (xs: string[]) => [...xs].sort().join(',');
  if (shape.key.length > 0 && sorted(srcInfo.primaryKey) === sorted(shape.key)) shape.sourceUniqueKey = true;
  if (curCol) shape.cursor = { column: curCol, type: srcInfo.columns.find((c) => c.name === curCol)!.type };
  const lb = sync.cursor?.lookback !== undefined ? parseLookback(sync.cursor.lookback) : undefined;
  if (lb) shape.lookback = lb;
  if (sync.mode === 'cdc' && sync.cdc)
    shape.cdc = {
      op: foldIdent(sync.cdc.op),
      sequence: foldIdent(sync.cdc.sequence),
      insert: sync.cdc.insert ?? 'I',
      update: sync.cdc.update ?? 'U',
      delete: sync.cdc.delete ?? 'D',
      keysTable: { schema: STATE_SCHEMA, name: keysTableName(target, sync.name) },
    };
  return shape;
}

/** Typed columns of the rows a run reads (the staging table). */
export function stagingColumns(s: Sides): { name: string; type: string }[] {
  const typeOf = (info: RelationInfo, c: string) => info.columns.find((x) => x.name === c)!.type;
  return readNames(s.shape).map((name) => {
    if (s.shape.cdc) {
      if (name === CDC_OP) return { name, type: typeOf(s.srcInfo, s.shape.cdc.op) };
      if (name === CDC_SEQ) return { name, type: typeOf(s.srcInfo, s.shape.cdc.sequence) };
      if (name === CDC_CUR) return { name, type: s.shape.cursor!.type };
    }
    return { name, type: typeOf(s.dstInfo, name) };
  });
}

export function stagingType(ctx: RunCtx, column: string): string {
  return stagingColumns(ctx.sides).find((c) => c.name === column)!.type;
}
