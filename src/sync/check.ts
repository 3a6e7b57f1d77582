// Checks a sync against its source and destination (live before a run; as the plan leaves
// them in `wharf plan`, see plan-check.ts): every destination column exists
// in the source with a type that loads into it, the key and cursor exist, the cursor can be
// compared and uses an index. Used by `wharf plan` (as diagnostics) and before every run.
import { foldIdent, normalizeType } from '../plan/normalize.js';
import type { ColumnInfo, RelationInfo } from './catalog.js';
import type { SyncConfig } from './config.js';
import { parseLookback } from './config.js';

export interface SyncIssue {
  severity: 'error' | 'warning';
  message: string;
}

/** Type categories of declared column types (pg_type.typcategory), for tables as planned. */
export function declaredCategory(type: string): string {
  const t = normalizeType(type);
  if (/\[\]$/.test(t)) return 'A';
  if (/^(smallint|integer|bigint|numeric|real|double precision|decimal)/.test(t)) return 'N';
  if (/^(text|character|varchar|char|name)/.test(t)) return 'S';
  if (/^(date|time|timestamp)/.test(t)) return 'D';
  if (/^interval/.test(t)) return 'T';
  if (t === 'boolean') return 'B';
  return 'U';
}

function loadable(from: ColumnInfo, to: ColumnInfo): boolean {
  if (normalizeType(from.type) === normalizeType(to.type)) return true;
  if (from.category === to.category) return true;
  // Anything has a text form; and numbers load into text, dates into timestamps etc. by cast.
  if (to.category === 'S') return true;
  if (from.category === 'S' && from.type === 'unknown') return true;
  return false;
}

export function checkSync(sync: SyncConfig, src: RelationInfo, dst: RelationInfo): SyncIssue[] {
  const out: SyncIssue[] = [];
  const error = (message: string) => out.push({ severity: 'error', message });
  const warn = (message: string) => out.push({ severity: 'warning', message });
  const what = sync.from.table ? `source table ${sync.from.table}` : 'source query';
  if (!src.exists) error(`${what} does not exist`);
  if (!dst.exists)
    error(`destination table ${sync.to.table} does not exist: declare it under tables and run wharf apply`);
  if (!src.exists || !dst.exists) return out;
  const srcCols = new Map(src.columns.map((c) => [c.name, c]));
  const dstCols = new Map(dst.columns.map((c) => [c.name, c]));
  for (const d of dst.columns) {
    const s = srcCols.get(d.name);
    if (!s) error(`destination column ${d.name} is not in the ${what}`);
    else if (!loadable(s, d))
      error(`column ${d.name}: ${what} has type ${s.type}, which does not load into ${d.type}`);
  }
  const key = (sync.primaryKey ?? []).map(foldIdent);
  // merge compares rows before rewriting them, append without a key compares re-read rows
  // with the destination's: both need equality, which json (unlike jsonb) does not have.
  if (sync.mode === 'merge' || (sync.mode === 'append' && key.length === 0))
    for (const d of dst.columns)
      if (d.type === 'json')
        error(
          `column ${d.name} is json, which has no equality for ${sync.mode} to compare rows with; use jsonb`,
        );
  for (const k of key) {
    if (!dstCols.has(k)) error(`primary key column ${k} is not a column of ${sync.to.table}`);
    else if (!srcCols.has(k)) error(`primary key column ${k} is not in the ${what}`);
  }
  if (sync.mode === 'cdc' && sync.cdc) {
    const op = srcCols.get(foldIdent(sync.cdc.op));
    const seq = srcCols.get(foldIdent(sync.cdc.sequence));
    if (!op) error(`cdc op column ${foldIdent(sync.cdc.op)} is not in the ${what}`);
    if (!seq) error(`cdc sequence column ${foldIdent(sync.cdc.sequence)} is not in the ${what}`);
    else if (seq.category !== 'N' && seq.category !== 'D')
      error(`cdc sequence column ${seq.name} has type ${seq.type}; it must be a number or a timestamp`);
  }
  const curName = sync.cursor
    ? foldIdent(sync.cursor.column)
    : sync.mode === 'cdc' && sync.cdc
      ? foldIdent(sync.cdc.sequence)
      : undefined;
  if (curName) {
    const c = srcCols.get(curName);
    if (!c) error(`cursor column ${curName} is not in the ${what}`);
    else {
      if (c.category !== 'N' && c.category !== 'D')
        error(
          `cursor column ${curName} has type ${c.type}; a cursor must be a timestamp, a date or a number`,
        );
      const lb = sync.cursor?.lookback !== undefined ? parseLookback(sync.cursor.lookback) : undefined;
      if (lb && 'seconds' in lb && c.category !== 'D')
        error(`cursor ${curName} is a ${c.type}: give lookback as a number, not a duration`);
      if (lb && 'amount' in lb && c.category !== 'N' && lb.amount > 0)
        error(`cursor ${curName} is a ${c.type}: give lookback as a duration such as 10m`);
      // Small tables are scanned in no time; past this size a missing index shows in every run.
      if (sync.from.table && !src.indexLeads.includes(curName) && src.estimatedRows >= 100_000)
        warn(
          `no index on ${sync.from.table} starts with the cursor column ${curName}: every run scans the whole source; CREATE INDEX ON ${sync.from.table} (${curName})`,
        );
      if (!c.notNull && sync.from.table)
        warn(`cursor column ${curName} is nullable: rows with a NULL cursor are never loaded`);
    }
    if ((sync.mode === 'append' || sync.mode === 'merge') && !dstCols.has(curName))
      error(
        `cursor column ${curName} must also be a column of ${sync.to.table} (it decides which row is newer)`,
      );
  }
  return out;
}
