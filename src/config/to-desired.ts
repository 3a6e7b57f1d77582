// Config -> desired resources per connection, normalized exactly as providers normalize
// what they read: the core's resource kinds here, then each engine's part (its own kinds, its
// parts of core ones) through src/providers/engine.ts. Pure: `now` is an input (partitions
// ahead depend on the date).
import type {
  ColumnSpec,
  DefaultPrivilegeResource,
  GrantResource,
  PartitionChild,
  PartitionSpec,
  Resource,
  TableResource,
} from '../plan/model.js';
import { foldIdent, normalizePrivileges, normalizeType } from '../plan/normalize.js';
import { isNullDefault } from '../plan/sql-parse.js';
import { engines } from '../providers/engine.js';
import { listOf } from './rules.js';
import type { LoadedConfig, TableConfig } from './types.js';

export function toDesired(loaded: LoadedConfig, now: Date): Map<string, Resource[]> {
  const { config, defaultConnection } = loaded;
  const byConn = new Map<string, Resource[]>();
  for (const name of Object.keys(loaded.connections)) byConn.set(name, []);
  const push = (conn: string, r: Resource) => byConn.get(conn)?.push(r);
  const schemaConn = new Map<string, string>();

  for (const s of config.schemas ?? []) {
    const conn = s.connection ?? defaultConnection;
    schemaConn.set(foldIdent(s.name), conn);
    push(conn, {
      kind: 'schema',
      name: foldIdent(s.name),
      owner: s.owner ? foldIdent(s.owner) : null,
      prune: s.prune ?? true,
    });
  }
  for (const t of config.tables ?? []) {
    const sch = foldIdent(t.schema);
    push(schemaConn.get(sch) ?? defaultConnection, tableResource(t, now));
  }
  for (const r of config.roles ?? []) {
    push(r.connection ?? defaultConnection, {
      kind: 'role',
      name: foldIdent(r.name),
      login: r.type === 'user',
      memberOf: [...new Set((r.memberOf ?? []).map(foldIdent))].sort(),
      passwordRef: r.password ?? null,
    });
  }

  // Grants: one resource per (object, grantee); several entries may add to the same one.
  const grants = new Map<string, { conn: string; g: GrantResource }>();
  const addGrant = (
    conn: string,
    objectType: 'schema' | 'table',
    object: string,
    grantee: string,
    privs: string[],
  ) => {
    const id = `${conn}|${objectType}:${object}/${grantee}`;
    const cur = grants.get(id);
    const merged = [...(cur?.g.privileges ?? []), ...privs.map((p) => p.toLowerCase())];
    grants.set(id, {
      conn,
      g: { kind: 'grant', objectType, object, grantee, privileges: normalizePrivileges(merged, ['all']) },
    });
  };
  for (const g of config.grants ?? []) {
    const grantees = listOf(g.to).map(foldIdent);
    for (const grantee of grantees) {
      if (g.schema !== undefined) {
        const sch = foldIdent(g.schema);
        addGrant(schemaConn.get(sch) ?? defaultConnection, 'schema', sch, grantee, g.privileges);
      }
      for (const t of g.tables ?? []) {
        const key = t.split('.').map(foldIdent).join('.');
        const sch = key.slice(0, key.indexOf('.'));
        addGrant(schemaConn.get(sch) ?? defaultConnection, 'table', key, grantee, g.privileges);
      }
      if (g.allTablesInSchema !== undefined) {
        // A wildcard the planner expands over every table the schema will hold: the ones
        // declared here and, in a `prune: false` schema, the ones that are already there.
        const sch = foldIdent(g.allTablesInSchema);
        addGrant(schemaConn.get(sch) ?? defaultConnection, 'table', `${sch}.*`, grantee, g.privileges);
      }
    }
  }
  for (const { conn, g } of grants.values()) push(conn, g);

  const defaults = new Map<string, { conn: string; d: DefaultPrivilegeResource }>();
  for (const d of config.defaultPrivileges ?? []) {
    const sch = d.schema !== undefined ? foldIdent(d.schema) : null;
    const conn = (sch && schemaConn.get(sch)) || defaultConnection;
    for (const grantee of listOf(d.to).map(foldIdent)) {
      const forRole = foldIdent(d.forRole);
      const id = `${conn}|${forRole}/${sch ?? '*'}/${grantee}`;
      const merged = [...(defaults.get(id)?.d.privileges ?? []), ...d.privileges.map((p) => p.toLowerCase())];
      defaults.set(id, {
        conn,
        d: {
          kind: 'default_privileges',
          forRole,
          schema: sch,
          objectType: 'tables',
          grantee,
          privileges: normalizePrivileges(merged, ['all']),
        },
      });
    }
  }
  for (const { conn, d } of defaults.values()) push(conn, d);
  // Each engine's part: buckets (S3); on Redshift connections, table layout and types,
  // grantee types, datashares.
  for (const e of engines()) e.toDesired?.(loaded, byConn);
  return byConn;
}

function tableResource(t: TableConfig, now: Date): TableResource {
  const pk = t.primaryKey ? t.primaryKey.map(foldIdent) : null;
  const columns: ColumnSpec[] = t.columns.map((c) => {
    const name = foldIdent(c.name);
    return {
      name,
      type: normalizeType(c.type),
      // The engine makes primary-key columns NOT NULL whatever the file says.
      nullable: pk?.includes(name) ? false : (c.nullable ?? true),
      // The file's text, as written: it is emitted as is (checked as one expression) and
      // compared through the parser's canonical form, never rewritten.
      default: c.default === undefined || isNullDefault(String(c.default)) ? null : String(c.default).trim(),
    };
  });
  const name = foldIdent(t.name);
  let partition: PartitionSpec | null = null;
  if (t.partition) {
    partition = {
      by: foldIdent(t.partition.by),
      granularity: t.partition.granularity,
      partitions: partitionsAhead(
        name,
        t.partition.granularity,
        t.partition.ahead ?? 3,
        t.partition.from,
        now,
      ),
    };
  }
  return {
    kind: 'table',
    schema: foldIdent(t.schema),
    name,
    owner: t.owner ? foldIdent(t.owner) : null,
    columns,
    primaryKey: pk,
    partition,
    comment: t.comment ?? null,
  };
}

/** A table may have at most this many partitions planned; the loader reports more as an error. */
export const MAX_PARTITIONS = 10_000;

/** The first and the end (exclusive) period of the partitions `partitionsAhead` plans. */
function partitionSpan(
  granularity: PartitionSpec['granularity'],
  ahead: number,
  from: string | undefined,
  now: Date,
): { start: Date; end: Date } {
  const current = periodStart(utc(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()), granularity);
  let start = from ? periodStart(new Date(`${from}T00:00:00Z`), granularity) : current;
  if (start > current) start = current;
  let end = current;
  for (let i = 0; i <= ahead; i++) end = step(end, granularity);
  return { start, end };
}

/** How many partitions `partitionsAhead` returns, computed without listing them. */
export function partitionCount(
  granularity: PartitionSpec['granularity'],
  ahead: number,
  from: string | undefined,
  now: Date,
): number {
  const { start, end } = partitionSpan(granularity, ahead, from, now);
  const months =
    (end.getUTCFullYear() - start.getUTCFullYear()) * 12 + end.getUTCMonth() - start.getUTCMonth();
  switch (granularity) {
    case 'year':
      return end.getUTCFullYear() - start.getUTCFullYear();
    case 'month':
      return months;
    case 'week':
      return Math.round((end.getTime() - start.getTime()) / (7 * 86_400_000));
    default:
      return Math.round((end.getTime() - start.getTime()) / 86_400_000);
  }
}

/** Child partitions from `from` (or the current period) through `ahead` periods after now. */
export function partitionsAhead(
  table: string,
  granularity: PartitionSpec['granularity'],
  ahead: number,
  from: string | undefined,
  now: Date,
): PartitionChild[] {
  const n = partitionCount(granularity, ahead, from, now);
  if (n > MAX_PARTITIONS)
    throw new RangeError(`table ${table}: ${n} partitions planned, more than ${MAX_PARTITIONS}`);
  const { start, end } = partitionSpan(granularity, ahead, from, now);
  const out: PartitionChild[] = [];
  for (let d = start; d < end; d = step(d, granularity)) {
    const next = step(d, granularity);
    out.push({ name: `${table}_p${suffix(d, granularity)}`, from: iso(d), to: iso(next) });
  }
  return out;
}

/** Midnight UTC of a day; unlike Date.UTC, years 0-99 stay what they are (not 1900-1999). */
function utc(y: number, m: number, d: number): Date {
  const t = new Date(0);
  t.setUTCFullYear(y, m, d);
  return t;
}

/** The first day of the period holding `d` (UTC); also read by `wharf inspect`. */
export function periodStart(d: Date, g: PartitionSpec['granularity']): Date {
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  switch (g) {
    case 'year':
      return utc(y, 0, 1);
    case 'month':
      return utc(y, m, 1);
    case 'week': {
      const dow = (d.getUTCDay() + 6) % 7; // Monday = 0 (ISO weeks)
      return utc(y, m, d.getUTCDate() - dow);
    }
    default:
      return utc(y, m, d.getUTCDate());
  }
}

/** The first day of the period after the one starting at `d`; also read by `wharf inspect`. */
export function step(d: Date, g: PartitionSpec['granularity']): Date {
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  switch (g) {
    case 'year':
      return utc(y + 1, 0, 1);
    case 'month':
      return utc(y, m + 1, 1);
    case 'week':
      return utc(y, m, d.getUTCDate() + 7);
    default:
      return utc(y, m, d.getUTCDate() + 1);
  }
}

function iso(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function suffix(d: Date, g: PartitionSpec['granularity']): string {
  const [y, m, day] = iso(d).split('-');
  switch (g) {
    case 'year':
      return `${y}`;
    case 'month':
      return `${y}_${m}`;
    default:
      return `${y}_${m}_${day}`;
  }
}
