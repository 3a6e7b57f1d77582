// `wharf inspect`, the pure part: the live resources a provider read (the same read as `plan`)
// -> the sections of a wharf file that, planned against the same live state, change nothing.
// The inverse of src/config/to-desired.ts (and the engines' toDesired): what the file can say,
// it says; what it cannot (a quoted mixed-case name, a type or a partitioning the file has no
// words for) becomes a note, and the objects around it are declared so that plan leaves it
// alone (a schema holding a table the file cannot describe gets `prune: false`). Pure.

import { periodStart, step } from '../config/to-desired.js';
import type {
  DatashareResource,
  DefaultPrivilegeResource,
  GrantResource,
  PartitionChild,
  Resource,
  RoleResource,
  SchemaResource,
  TableResource,
} from '../plan/model.js';
import { foldIdent, normalizeType } from '../plan/normalize.js';

/** Something seen live that the file does not (or cannot) say, with why. */
export interface InspectNote {
  /** e.g. `table "Sales"."Orders"`. */
  object: string;
  reason: string;
}

/** One entry of a section, with the comment written above it. */
export interface Entry<T> {
  value: T;
  comment?: string;
}

export interface InspectedWarehouse {
  schemas: Entry<Record<string, unknown>>[];
  tables: Entry<Record<string, unknown>>[];
  roles: Entry<Record<string, unknown>>[];
  grants: Entry<Record<string, unknown>>[];
  defaultPrivileges: Entry<Record<string, unknown>>[];
  datashares: Entry<Record<string, unknown>>[];
  buckets: Entry<Record<string, unknown>>[];
  notes: InspectNote[];
  /** Environment variables the file's password references name. */
  passwordEnv: string[];
}

export interface WarehouseScope {
  /** Connection name, written on entries only when the file has several connections of this kind. */
  connection: string;
  /** Schemas and roles asked for on the command line (folded or as typed). */
  schemas: string[];
  roles: string[];
  /** The session's own roles (LiveSnapshot.connectingRoles): never given a password reference. */
  connectingRoles: string[];
  now: Date;
  /** The engine's reading of a type the file writes, when not PostgreSQL's (Redshift's defaults). */
  normalizeType?: (fileType: string) => string;
}

const IDENT_RE = /^[A-Za-z_\p{L}][A-Za-z0-9_$\p{L}\p{M}\p{Nd}]{0,126}$/u;
// The file's type grammar (schemas/wharf.schema.json, tables[].columns[].type).
const TYPE_RE = /^[A-Za-z][A-Za-z0-9 _]*(\([0-9, ]+\))?( with(out)? time zone)?(\[\])*$/;

/** True when the file can name `name`: it folds to itself and keeps to the identifier grammar. */
export function expressible(name: string): boolean {
  return IDENT_RE.test(name) && foldIdent(name) === name;
}

/** `"Sales"` for a name the file cannot write, `sales` otherwise: for notes. */
function shown(name: string): string {
  return expressible(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

const SHORT_TYPES: [RegExp, (m: RegExpExecArray) => string][] = [
  [/^character varying\((\d+)\)$/, (m) => `varchar(${m[1]})`],
  [/^character varying$/, () => 'varchar'],
  [/^character\((\d+)\)$/, (m) => `char(${m[1]})`],
  [/^timestamp without time zone$/, () => 'timestamp'],
  [/^timestamp with time zone$/, () => 'timestamptz'],
  [/^time without time zone$/, () => 'time'],
  [/^time with time zone$/, () => 'timetz'],
  [/^double precision$/, () => 'double precision'],
];

/**
 * The type as the file writes it: the short spelling when it normalizes back to the live
 * type (`varchar(64)` for `character varying(64)`), else the live spelling, or undefined
 * when the file's grammar has no words for it.
 */
export function fileType(live: string, normalize: (t: string) => string = normalizeType): string | undefined {
  for (const [re, f] of SHORT_TYPES) {
    const m = re.exec(live);
    if (m) {
      const short = f(m);
      if (normalize(short) === live && TYPE_RE.test(short)) return short;
    }
  }
  if (TYPE_RE.test(live) && normalize(live) === live) return live;
  return undefined;
}

/** The environment variable a role's password reference names: `VENDOR_PASSWORD`. */
export function passwordEnvName(role: string): string {
  const base = role
    .toUpperCase()
    .replace(/[^A-Z0-9_]/g, '_')
    .replace(/^(?=\d)/, '_');
  return `${base}_PASSWORD`;
}

export function inspectWarehouse(live: readonly Resource[], scope: WarehouseScope): InspectedWarehouse {
  const out: InspectedWarehouse = {
    schemas: [],
    tables: [],
    roles: [],
    grants: [],
    defaultPrivileges: [],
    datashares: [],
    buckets: [],
    notes: [],
    passwordEnv: [],
  };
  const note = (object: string, reason: string) => out.notes.push({ object, reason });
  const byKind = <K extends Resource['kind']>(k: K) =>
    live.filter((r): r is Extract<Resource, { kind: K }> => r.kind === k);
  const liveSchemas = new Map(byKind('schema').map((s) => [s.name, s]));
  const liveRoles = new Map(byKind('role').map((r) => [r.name, r]));

  // Schemas: those asked for, and those wharf created (marked): a marked schema left out of
  // the file would be dropped by the next apply.
  const schemaNames = new Set<string>();
  for (const asked of scope.schemas) {
    const name = liveSchemas.has(asked) ? asked : foldIdent(asked);
    if (!liveSchemas.has(name)) note(`schema ${shown(asked)}`, 'does not exist');
    else if (!expressible(name))
      note(
        `schema ${shown(name)}`,
        'its name is not a lower-case identifier; the file folds names to lower case',
      );
    else schemaNames.add(name);
  }
  for (const s of liveSchemas.values())
    if (s.marked && !schemaNames.has(s.name)) {
      if (expressible(s.name)) schemaNames.add(s.name);
      else
        note(
          `schema ${shown(s.name)}`,
          'created by wharf but its name cannot be written; apply would drop it',
        );
    }

  // Tables of the managed schemas; a table the file cannot describe keeps its schema unpruned.
  const unpruned = new Map<string, string[]>();
  const declaredTables = new Set<string>();
  const tables = byKind('table')
    .filter((t) => schemaNames.has(t.schema))
    .sort((a, b) => cmp(a.schema, b.schema) || cmp(a.name, b.name));
  const tableValues: Entry<Record<string, unknown>>[] = [];
  for (const t of tables) {
    const { value, problem } = tableEntry(t, scope);
    if (problem) {
      note(`table ${shown(t.schema)}.${shown(t.name)}`, `${problem}; left out, its schema gets prune: false`);
      unpruned.set(t.schema, [...(unpruned.get(t.schema) ?? []), t.name]);
      continue;
    }
    declaredTables.add(`${t.schema}.${t.name}`);
    tableValues.push(value!);
  }

  // Roles: those asked for, those wharf created, and every role the file then names (the file
  // declares each): the groups they belong to, owners, the roles default privileges are for.
  const roleNames = new Set<string>();
  const why = new Map<string, string>();
  const addRole = (name: string, reason?: string): boolean => {
    if (roleNames.has(name)) return false;
    if (!liveRoles.has(name)) {
      note(`role ${shown(name)}`, 'does not exist');
      return false;
    }
    if (!expressible(name)) {
      note(
        `role ${shown(name)}`,
        `${reason ? `${reason}; ` : ''}its name is not a lower-case identifier; the file folds names to lower case`,
      );
      return false;
    }
    roleNames.add(name);
    if (reason) why.set(name, reason);
    return true;
  };
  for (const asked of scope.roles) addRole(liveRoles.has(asked) ? asked : foldIdent(asked));
  for (const r of liveRoles.values()) if (r.marked) addRole(r.name, 'created by wharf');
  const owned = (owner: string | null) =>
    owner !== null && expressible(owner) && !scope.connectingRoles.includes(owner) ? owner : null;
  const defaultsAll = byKind('default_privileges');
  for (let grew = true; grew; ) {
    grew = false;
    for (const name of [...roleNames])
      for (const g of liveRoles.get(name)!.memberOf) grew = addRole(g, `a group of ${name}`) || grew;
    for (const s of schemaNames) {
      const o = owned(liveSchemas.get(s)!.owner);
      if (o) grew = addRole(o, `owns schema ${s}`) || grew;
    }
    for (const t of tables) {
      const o = declaredTables.has(`${t.schema}.${t.name}`) ? owned(t.owner) : null;
      if (o) grew = addRole(o, `owns table ${t.schema}.${t.name}`) || grew;
    }
    for (const d of defaultsAll)
      if (
        roleNames.has(d.grantee) &&
        (d.schema === null || schemaNames.has(d.schema)) &&
        expressible(d.forRole)
      )
        grew = addRole(d.forRole, 'default privileges are for it') || grew;
  }

  for (const name of [...schemaNames].sort()) {
    const s = liveSchemas.get(name)!;
    out.schemas.push(schemaEntry(s, unpruned.get(name), owned(s.owner)));
  }
  out.tables.push(...tableValues.map((e) => withOwner(e, owned)));

  // Roles, with their memberships; a login role gets a password reference (never read back).
  for (const name of [...roleNames].sort()) {
    const r = liveRoles.get(name)!;
    out.roles.push(roleEntry(r, scope, out.passwordEnv, why.get(name)));
  }

  // Grants held by declared roles on declared schemas and their tables: what plan manages.
  // Grants to other roles are left alone by plan (listed as unmanaged), so they are not written.
  const grants = byKind('grant').filter((g) => roleNames.has(g.grantee));
  out.grants.push(...grantEntries(grants, schemaNames, declaredTables, tables, unpruned, note));

  // Default privileges held by declared roles, database-wide or in a declared schema.
  const defaults = byKind('default_privileges')
    .filter((d) => roleNames.has(d.grantee) && (d.schema === null || schemaNames.has(d.schema)))
    .sort(
      (a, b) => cmp(a.forRole, b.forRole) || cmp(a.schema ?? '', b.schema ?? '') || cmp(a.grantee, b.grantee),
    );
  for (const d of defaults) {
    if (!expressible(d.forRole)) {
      note(
        `default privileges of ${shown(d.forRole)} for ${d.grantee}`,
        'the role they are for cannot be named in the file; apply would revoke them',
      );
      continue;
    }
    out.defaultPrivileges.push({ value: defaultEntry(d) });
  }

  // Datashares (publications on PostgreSQL) whose objects the file declares.
  for (const d of byKind('datashare').sort((a, b) => cmp(a.name, b.name))) {
    const e = datashareEntry(d, schemaNames, declaredTables);
    if (typeof e === 'string') note(`datashare ${shown(d.name)}`, e);
    else out.datashares.push(e);
  }
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function schemaEntry(
  s: SchemaResource,
  unpruned: string[] | undefined,
  owner: string | null,
): Entry<Record<string, unknown>> {
  // The owner is written unless it is the session's own role: apply creates schemas as that.
  const value: Record<string, unknown> = { name: s.name, ...(owner ? { owner } : {}) };
  if (unpruned) value.prune = false;
  const comment = unpruned
    ? `holds ${unpruned.length} table${unpruned.length === 1 ? '' : 's'} the file cannot describe (${unpruned.map(shown).join(', ')}): prune: false leaves them alone`
    : undefined;
  return comment ? { value, comment } : { value };
}

/** A table entry with its owner (after schema and name), unless the session's own role owns it. */
function withOwner(
  e: Entry<Record<string, unknown>>,
  owned: (o: string | null) => string | null,
): Entry<Record<string, unknown>> {
  const { schema, name, _owner, ...rest } = e.value;
  const owner = owned((_owner as string | null | undefined) ?? null);
  return { ...e, value: { schema, name, ...(owner ? { owner } : {}), ...rest } };
}

function roleEntry(
  r: RoleResource,
  scope: WarehouseScope,
  passwordEnv: string[],
  why?: string,
): Entry<Record<string, unknown>> {
  const type = r.login ? 'user' : r.roleKind === 'group' ? 'group' : 'role';
  const value: Record<string, unknown> = { name: r.name, type };
  const comments: string[] = why ? [why] : [];
  if (r.login && !scope.connectingRoles.includes(r.name)) {
    const env = passwordEnvName(r.name);
    value.password = `\${env:${env}}`;
    passwordEnv.push(env);
    comments.push(
      `wharf never reads a password back: set ${env} to ${r.name}'s password before apply (it is only used when the role is created)`,
    );
  }
  if (r.memberOf.length > 0) value.memberOf = [...r.memberOf].filter(expressible).sort();
  return comments.length ? { value, comment: comments.join('; ') } : { value };
}

function tableEntry(
  t: TableResource,
  scope: WarehouseScope,
): { value?: Entry<Record<string, unknown>>; problem?: string } {
  if (!expressible(t.name)) return { problem: 'its name is not a lower-case identifier' };
  if (t.columns.length === 0) return { problem: 'it has no columns' };
  const columns: Record<string, unknown>[] = [];
  for (const c of t.columns) {
    if (!expressible(c.name)) return { problem: `column ${shown(c.name)} is not a lower-case identifier` };
    const type = fileType(c.type, scope.normalizeType ?? normalizeType);
    if (!type) return { problem: `column ${c.name} has type ${c.type}, which the file cannot write` };
    const col: Record<string, unknown> = { name: c.name, type };
    if (!c.nullable) col.nullable = false;
    if (c.default !== null) col.default = c.default;
    if (c.encode) col.encode = c.encode;
    columns.push(col);
  }
  const value: Record<string, unknown> = { schema: t.schema, name: t.name };
  value._owner = t.owner;
  if (t.comment !== null) value.comment = t.comment;
  value.columns = columns;
  if (t.primaryKey) {
    if (!t.primaryKey.every(expressible))
      return { problem: 'its primary key names a column the file cannot write' };
    value.primaryKey = t.primaryKey;
  }
  if (t.partition) {
    const p = partitionEntry(t.partition.by, t.partition.granularity, t.partition.partitions, scope.now);
    if (typeof p === 'string') return { problem: p };
    value.partition = p;
  }
  if (t.redshift) {
    const { distribution, sortKey } = t.redshift;
    if (distribution) {
      value.distribution =
        distribution.style === 'key' && distribution.key
          ? { style: 'key', key: distribution.key }
          : { style: distribution.style };
    }
    if (sortKey)
      value.sortKey =
        sortKey.type === 'auto'
          ? 'auto'
          : { ...(sortKey.type === 'interleaved' ? { type: 'interleaved' } : {}), columns: sortKey.columns };
  }
  return { value: { value } };
}

const DAY = 86_400_000;

/** The live partition periods as `partition: { by, granularity, ahead, from }`, or why not. */
function partitionEntry(
  by: string,
  granularity: 'day' | 'week' | 'month' | 'year' | null,
  parts: PartitionChild[],
  now: Date,
): Record<string, unknown> | string {
  if (by.includes(':'))
    return `it is partitioned by ${by.slice(0, by.indexOf(':')) === 'l' ? 'list' : 'hash'}, the file knows range partitions by date only`;
  if (!expressible(by)) return `its partition key ${shown(by)} is not a lower-case identifier`;
  if (!granularity) return 'it is partitioned but has no date partitions to tell the period from';
  const starts = new Set(parts.map((p) => p.from));
  const current = periodStart(
    new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())),
    granularity,
  );
  if (!starts.has(iso(current)))
    return `it has no partition for the current ${granularity} (${iso(current)}), which the file always keeps`;
  let ahead = 0;
  for (let d = step(current, granularity); starts.has(iso(d)) && ahead < 366; d = step(d, granularity))
    ahead++;
  // The earliest period of the unbroken run that ends with the current one.
  let first = current;
  for (;;) {
    const prev = back(first, granularity);
    if (!starts.has(iso(prev))) break;
    first = prev;
  }
  const value: Record<string, unknown> = { by, granularity, ahead };
  if (first.getTime() !== current.getTime()) value.from = iso(first);
  return value;
}

function iso(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function back(d: Date, g: 'day' | 'week' | 'month' | 'year'): Date {
  if (g === 'year') return new Date(Date.UTC(d.getUTCFullYear() - 1, 0, 1));
  if (g === 'month') return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1));
  return new Date(d.getTime() - (g === 'week' ? 7 : 1) * DAY);
}

/**
 * Grants as file entries: a grantee's privileges on a schema; on tables, grouped by grantee,
 * schema and privilege list, as `allTablesInSchema` when they cover every table of the schema.
 */
function grantEntries(
  grants: GrantResource[],
  schemas: Set<string>,
  declaredTables: Set<string>,
  tables: TableResource[],
  unpruned: Map<string, string[]>,
  note: (object: string, reason: string) => void,
): Entry<Record<string, unknown>>[] {
  const out: Entry<Record<string, unknown>>[] = [];
  const tablesOf = new Map<string, string[]>();
  for (const t of tables)
    tablesOf.set(t.schema, [...(tablesOf.get(t.schema) ?? []), `${t.schema}.${t.name}`]);
  const sorted = [...grants].sort(
    (a, b) => cmp(a.grantee, b.grantee) || cmp(a.objectType, b.objectType) || cmp(a.object, b.object),
  );
  const groups = new Map<
    string,
    { grantee: string; schema: string; privileges: string[]; tables: string[] }
  >();
  for (const g of sorted) {
    const schema = g.objectType === 'schema' ? g.object : g.object.slice(0, g.object.indexOf('.'));
    if (!schemas.has(schema)) continue; // a schema the file does not manage: plan leaves it alone
    if (g.objectType === 'schema') {
      out.push({ value: { to: g.grantee, privileges: g.privileges, schema } });
      continue;
    }
    if (!declaredTables.has(g.object)) {
      note(
        `grant of ${g.privileges.join(', ')} on ${g.object} to ${g.grantee}`,
        'the table cannot be written in the file; apply would revoke it from the declared role',
      );
      continue;
    }
    const key = `${g.grantee}\u0000${schema}\u0000${g.privileges.join(',')}`;
    const cur = groups.get(key) ?? { grantee: g.grantee, schema, privileges: g.privileges, tables: [] };
    cur.tables.push(g.object);
    groups.set(key, cur);
  }
  for (const grp of groups.values()) {
    const all = tablesOf.get(grp.schema) ?? [];
    const whole = !unpruned.has(grp.schema) && all.length > 1 && grp.tables.length === all.length;
    out.push({
      value: whole
        ? { to: grp.grantee, privileges: grp.privileges, allTablesInSchema: grp.schema }
        : { to: grp.grantee, privileges: grp.privileges, tables: grp.tables },
    });
  }
  return out.sort((a, b) => cmp(String(a.value.to), String(b.value.to)));
}

function defaultEntry(d: DefaultPrivilegeResource): Record<string, unknown> {
  return {
    forRole: d.forRole,
    ...(d.schema !== null ? { schema: d.schema } : {}),
    on: 'tables',
    privileges: d.privileges,
    to: d.grantee,
  };
}

function datashareEntry(
  d: DatashareResource,
  schemas: Set<string>,
  declaredTables: Set<string>,
): Entry<Record<string, unknown>> | string {
  if (!expressible(d.name)) return 'its name is not a lower-case identifier';
  const outside = [
    ...d.schemas.filter((s) => !schemas.has(s)),
    ...d.tables.filter((t) => !declaredTables.has(t)),
  ];
  if (outside.length > 0)
    return `it shares objects the file does not declare (${outside.slice(0, 3).join(', ')}${outside.length > 3 ? ', …' : ''}); inspect their schemas too`;
  const value: Record<string, unknown> = { name: d.name };
  if (d.publicAccessible) value.publicAccessible = true;
  const tableSchemas = new Set(d.tables.map((t) => t.slice(0, t.indexOf('.'))));
  const schemaList = d.schemas.map((s) => (d.includeNew.includes(s) ? { name: s, includeNew: true } : s));
  // A schema whose tables are listed comes along by itself; one with none is written.
  const listed = schemaList.filter((s) => typeof s !== 'string' || !tableSchemas.has(s));
  if (listed.length) value.schemas = listed;
  if (d.tables.length) value.tables = d.tables;
  if (d.consumers.length)
    value.consumers = d.consumers.map((c) =>
      c.type === 'account'
        ? { account: c.id, ...(c.viaDataCatalog ? { viaDataCatalog: true } : {}) }
        : { namespace: c.id },
    );
  return { value };
}
