// The `syncs:` section of a wharf file: its typed shape and the static rules JSON Schema
// cannot express (mode options, references to connections, duplicate names). Checks that
// need the live catalogs (columns, types, keys) are in check.ts.
import { durationProblem, parseDuration } from '../config/duration.js';
import type { YamlPath } from '../config/load.js';
import type { BucketConfig } from '../config/types.js';
import { foldIdent } from '../plan/normalize.js';
import { checkSelectQuery } from '../plan/sql-parse.js';
import {
  checkExportOverlaps,
  checkExportRules,
  type ExportReady,
  type ExportTarget,
  folderPrefix,
} from './export/config.js';

export type SyncMode = 'append' | 'merge' | 'cdc' | 'full';

export interface SyncSource {
  /** Default: the file's default connection. */
  connection?: string;
  /** `schema.table`; exactly one of `table` and `query`. */
  table?: string;
  /** A SELECT whose columns are named like the destination's. */
  query?: string;
}

export interface SyncTarget {
  connection?: string;
  /** `schema.table` */
  table: string;
}

export interface SyncConfig {
  name: string;
  from: SyncSource;
  to: SyncTarget;
  mode: SyncMode;
  /** merge and cdc: the key; append: optional de-duplication key. */
  primaryKey?: string[];
  /** append and merge: required; cdc: optional (default: the sequence column). */
  cursor?: { column: string; lookback?: string | number };
  cdc?: { op: string; sequence: string; insert?: string; update?: string; delete?: string };
  /** Rows per committed batch across connections (default 50,000). */
  batchRows?: number;
}

/** A sync whose destination is files under a bucket prefix (src/sync/export). */
export interface ExportSyncConfig extends Omit<SyncConfig, 'to'> {
  to: ExportTarget;
  /** The readiness signal: the days whose files are all written. */
  ready?: ExportReady;
}

/** Any entry of `syncs:`: into a table, or into files. */
export type AnySyncConfig = SyncConfig | ExportSyncConfig;

export function isExport(s: AnySyncConfig): s is ExportSyncConfig {
  return typeof (s.to as { bucket?: unknown }).bucket === 'string';
}

/** The table syncs of a list (exports run on their own path). */
export function tableSyncs(syncs: readonly AnySyncConfig[] | undefined): SyncConfig[] {
  return (syncs ?? []).filter((s): s is SyncConfig => !isExport(s));
}

type Report = (path: YamlPath, code: string, message: string) => void;

/** Static rules for `syncs:`; `connectionOf` reports a missing/unknown connection itself. */
export function checkSyncRules(
  syncs: readonly AnySyncConfig[],
  connectionNames: readonly string[],
  defaultConnection: string,
  buckets: ReadonlyMap<string, { index: number; bucket: BucketConfig; connectionType?: string }>,
  err: Report,
): void {
  const names = new Map<string, number>();
  const exports: { index: number; name: string; bucket: string; prefixes: string[] }[] = [];
  syncs.forEach((s, i) => {
    const p: YamlPath = ['syncs', i];
    const name = s.name;
    if (names.has(name))
      err(
        [...p, 'name'],
        'duplicate-name',
        `sync "${name}" is declared twice (first at syncs[${names.get(name)}])`,
      );
    else names.set(name, i);
    const exported = isExport(s);
    if (exported) {
      checkExportRules(s, p, buckets, err);
      if (s.to.prefix !== undefined)
        exports.push({
          index: i,
          name,
          bucket: s.to.bucket,
          prefixes: [folderPrefix(s.to.prefix), ...(s.ready ? [folderPrefix(s.ready.prefix)] : [])],
        });
    } else if ((s.to as { table?: string }).table === undefined) {
      const extra = Object.keys(s.to).find((k) => k !== 'connection');
      err(
        [...p, 'to'],
        'sync',
        extra
          ? `sync ${name}: "to.${extra}" belongs to a bucket export, which needs "bucket" (declared under buckets); a table sync needs "table"`
          : `sync ${name}: "to" needs "table" (schema.table) or "bucket" and "prefix" (files in a bucket)`,
      );
    }
    if (!exported && 'ready' in s)
      err([...p, 'ready'], 'sync', `sync ${name}: "ready" applies to syncs into a bucket ("to.bucket")`);
    for (const side of exported ? (['from'] as const) : (['from', 'to'] as const)) {
      const conn = (side === 'from' ? s.from : (s.to as SyncTarget)).connection ?? defaultConnection;
      if (!conn)
        err(
          [...p, side],
          'connection',
          `sync ${name}: several connections are declared (${connectionNames.join(', ')}): name one with "${side}.connection" or set "defaultConnection"`,
        );
      else if (!connectionNames.includes(conn))
        err(
          [...p, side, 'connection'],
          'unknown-reference',
          `sync ${name}: no connection named "${conn}" (declared: ${connectionNames.join(', ')})`,
        );
    }
    if ((s.from.table === undefined) === (s.from.query === undefined))
      err([...p, 'from'], 'sync', `sync ${name}: "from" takes exactly one of "table" or "query"`);
    if (s.from.query !== undefined) {
      const checked = checkSelectQuery(s.from.query);
      if (!checked.ok)
        err(
          [...p, 'from', 'query'],
          'sync',
          `sync ${name}: "from.query" must be exactly one SELECT that only reads: ${checked.message}`,
        );
    }
    const pk = (s.primaryKey ?? []).map(foldIdent);
    if (new Set(pk).size !== pk.length)
      err([...p, 'primaryKey'], 'duplicate-name', `sync ${name}: a primary key column is listed twice`);
    if (!exported) checkTableSyncMode(s, p, pk, err);
    if (s.cursor?.lookback !== undefined && typeof s.cursor.lookback === 'string') {
      if (parseLookback(s.cursor.lookback) === undefined)
        err(
          [...p, 'cursor', 'lookback'],
          'sync',
          `sync ${name}: lookback ${durationProblem(s.cursor.lookback)} (or a number, for a numeric cursor)`,
        );
    }
  });
  checkExportOverlaps(exports, err);
}

function checkTableSyncMode(s: SyncConfig, p: YamlPath, pk: string[], err: Report): void {
  const name = s.name;
  switch (s.mode) {
    case 'append':
      if (!s.cursor)
        err(p, 'sync', `sync ${name}: mode append needs "cursor" (e.g. cursor: { column: updated_at })`);
      if (s.cdc) err([...p, 'cdc'], 'sync', `sync ${name}: "cdc" applies to mode cdc only`);
      break;
    case 'merge':
      if (!s.cursor)
        err(p, 'sync', `sync ${name}: mode merge needs "cursor" (e.g. cursor: { column: updated_at })`);
      if (pk.length === 0)
        err(p, 'sync', `sync ${name}: mode merge needs "primaryKey": rows are upserted by key`);
      if (s.cdc) err([...p, 'cdc'], 'sync', `sync ${name}: "cdc" applies to mode cdc only`);
      break;
    case 'cdc':
      if (!s.cdc) err(p, 'sync', `sync ${name}: mode cdc needs "cdc: { op: <column>, sequence: <column> }"`);
      if (pk.length === 0) err(p, 'sync', `sync ${name}: mode cdc needs "primaryKey": changes apply per key`);
      if (s.cdc) {
        const vals = [s.cdc.insert ?? 'I', s.cdc.update ?? 'U', s.cdc.delete ?? 'D'];
        if (new Set(vals).size !== 3)
          err([...p, 'cdc'], 'sync', `sync ${name}: the insert, update and delete values must differ`);
        if (foldIdent(s.cdc.op) === foldIdent(s.cdc.sequence))
          err([...p, 'cdc'], 'sync', `sync ${name}: "op" and "sequence" must be different columns`);
      }
      break;
    case 'full':
      if (s.cursor)
        err(
          [...p, 'cursor'],
          'sync',
          `sync ${name}: mode full reloads everything and takes no "cursor"; use append or merge for incremental loads`,
        );
      if (s.cdc) err([...p, 'cdc'], 'sync', `sync ${name}: "cdc" applies to mode cdc only`);
      break;
    default: {
      const never: never = s.mode;
      err([...p, 'mode'], 'sync', `sync ${name}: unknown mode ${String(never)}`);
    }
  }
}

/**
 * A lookback as the engine understands it: seconds for a duration string (`90s`, `10m`, `2h`,
 * `1d`; the grammar of every duration, see config/duration.ts), or the number itself (for
 * numeric cursors such as sequences). Undefined if invalid.
 */
export function parseLookback(v: string | number): { seconds: number } | { amount: number } | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? { amount: v } : undefined;
  const ms = parseDuration(v);
  return ms === undefined ? undefined : { seconds: ms / 1000 };
}

/** `schema.table` -> folded parts. */
export function splitTable(qualified: string): { schema: string; name: string } {
  const [schema, name] = qualified.split('.');
  return { schema: foldIdent(schema ?? ''), name: foldIdent(name ?? '') };
}
