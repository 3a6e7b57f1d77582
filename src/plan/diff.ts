// The keyed diff: desired vs live resources of one connection -> ordered changes with
// field-level before/after, replace-vs-update decisions and destructive classification.
// Ownership rules decide what a live object not in the file becomes: a delete (the file
// manages it) or an "unmanaged" note (left alone). A resource kind an engine owns (buckets,
// datashares) goes to that engine's differ, and an engine may extend a table's diff; both are
// found through src/providers/engine.ts. Pure: no I/O.

import { engines, type KindDiffResult } from '../providers/engine.js';
import { address, assertNever, resourceId } from './address.js';
import type {
  ColumnSpec,
  DefaultPrivilegeResource,
  GrantResource,
  Resource,
  RoleResource,
  SchemaResource,
  TableResource,
} from './model.js';
import { isWidening, normalizePrivileges } from './normalize.js';
import { orderChanges } from './order.js';
import type { Change, Diagnostic, FieldChange, UnmanagedObject } from './plan.js';
import { expressionKey } from './sql-parse.js';

export interface Capabilities {
  /** What `ALL` expands to on this engine, per object type. */
  allPrivileges: { schema: readonly string[]; table: readonly string[] };
  /**
   * What `ALL` expands to in default privileges on tables, where the engine accepts fewer
   * privileges than GRANT … ON TABLE (Redshift: no ALTER). Default: `allPrivileges.table`.
   */
  defaultTablePrivileges?: readonly string[];
}

export interface DiffInput {
  connection: string;
  desired: readonly Resource[];
  live: readonly Resource[];
  capabilities: Capabilities;
}

export interface DiffResult {
  changes: Change[];
  unmanaged: UnmanagedObject[];
  /** Problems only the live state reveals, e.g. a missing bucket without `create: true`. */
  diagnostics?: Diagnostic[];
}

/** A change the engine would refuse and no replace should paper over: an error diagnostic. */
export interface TableRefusal {
  code: string;
  /** The column it is about: the diagnostic points at it in the file. */
  column: string;
  message: string;
}

/** The diff of one resource: its field changes, and whether it must be replaced and why. */
export interface TableDiff {
  fields: FieldChange[];
  replace: boolean;
  reasons: string[];
  /** Changes the engine would refuse (e.g. Redshift's ALTER limits): error diagnostics. */
  refusals?: TableRefusal[];
}

type KindDiff = TableDiff;

export function diff(full: DiffInput): DiffResult {
  // The kinds an engine owns (buckets, datashares) have the engine's differ; the rest is diffed here.
  const owned = new Set<string>();
  const byEngines: KindDiffResult[] = [];
  for (const e of engines())
    for (const [kind, differ] of Object.entries(e.differs ?? {})) {
      owned.add(kind);
      byEngines.push(differ(full.connection, full.desired, full.live));
    }
  const input: DiffInput = {
    ...full,
    desired: full.desired.filter((r) => !owned.has(r.kind)),
    live: full.live.filter((r) => !owned.has(r.kind)),
  };
  const { connection } = input;
  const live = new Map(input.live.map((r) => [keyOf(r), r] as const));
  // An owner holds every privilege on its object; the engine lists no grant for it, so a
  // declared grant to the owner is already satisfied and must not show as a change.
  const ownerOf = new Map<string, string>();
  for (const r of [...input.live, ...input.desired]) {
    if ((r.kind === 'schema' || r.kind === 'table') && r.owner) ownerOf.set(keyOf(r), r.owner);
  }
  const desired = new Map(
    expandWildcards(input.desired, input.live)
      .filter((r) => !(r.kind === 'grant' && ownerOf.get(`${r.objectType}:${r.object}`) === r.grantee))
      .filter((r) => !(r.kind === 'default_privileges' && r.forRole === r.grantee))
      .map((r) => [keyOf(r), expandAll(r, input.capabilities)] as const),
  );
  const desiredOfKind = <K extends Resource['kind']>(k: K) =>
    [...desired.values()].filter((r): r is Extract<Resource, { kind: K }> => r.kind === k);

  const managedSchemas = new Map(desiredOfKind('schema').map((s) => [s.name, s]));
  const managedRoles = new Set(desiredOfKind('role').map((r) => r.name));
  // Schemas wharf created earlier (marker) and that left the file are managed too: they go.
  const droppedSchemas = new Set<string>();
  for (const r of live.values()) {
    if (r.kind === 'schema' && r.marked && !managedSchemas.has(r.name)) droppedSchemas.add(r.name);
  }

  const changes: Change[] = [];
  const unmanaged: UnmanagedObject[] = [];
  const refused: Diagnostic[] = [];
  const replacedTables = new Set<string>();
  const droppedTables = new Set<string>();

  // First pass: tables, because their replace/drop decides what happens to their grants.
  const tableDiffs = new Map<string, KindDiff>();
  for (const [id, want] of desired) {
    if (want.kind !== 'table') continue;
    const have = live.get(id);
    if (have?.kind === 'table') {
      const d = diffTable(have, want);
      tableDiffs.set(id, d);
      if (d.replace) replacedTables.add(resourceId(want));
    }
  }

  // Table grants that a declared default privilege produced are the file's (Heap's pattern:
  // the vendor's user creates tables, ALTER DEFAULT PRIVILEGES grants them): they join the
  // desired state as they are, so they are neither a perpetual diff nor revoked.
  const willDrop = (t: TableResource) =>
    !desired.has(keyOf(t)) && ownership(t, managedSchemas, managedRoles, droppedSchemas) === true;
  for (const [id, privileges] of explainedGrants(input.live, desiredOfKind('default_privileges'))) {
    const have = live.get(id) as GrantResource;
    const table = live.get(`table:${have.object}`);
    if (replacedTables.has(have.object) || (table?.kind === 'table' && willDrop(table))) continue;
    const want = desired.get(id) as GrantResource | undefined;
    if (want) {
      desired.set(id, { ...want, privileges: unionPrivileges(want.privileges, privileges) });
    } else if (
      privileges.length === have.privileges.length ||
      ownership(have, managedSchemas, managedRoles, droppedSchemas) === true
    ) {
      // Wholly explained: kept as it is. Partly, on a grant the file manages: the rest is revoked.
      desired.set(id, { ...have, privileges });
    }
  }

  for (const [id, want] of desired) {
    let have = live.get(id);
    if (have && isOnReplacedObject(have, replacedTables)) have = undefined;
    if (!have) {
      changes.push(makeChange(connection, 'create', null, want, [], []));
      continue;
    }
    const d = tableDiffs.get(id) ?? diffKind(have, want);
    for (const r of d.refusals ?? [])
      refused.push({
        severity: 'error',
        code: r.code,
        message: `${address(connection, want)}: ${r.message}`,
      });
    if (d.fields.length === 0 && !d.replace) continue;
    changes.push(makeChange(connection, d.replace ? 'replace' : 'update', have, want, d.fields, d.reasons));
  }

  for (const [id, have] of live) {
    if (desired.has(id)) continue;
    const owned = ownership(have, managedSchemas, managedRoles, droppedSchemas);
    if (owned === true) {
      if (have.kind === 'table') droppedTables.add(resourceId(have));
      changes.push(makeChange(connection, 'delete', have, null, deleteFields(have), deleteReasons(have)));
    } else {
      unmanaged.push({ address: address(connection, have), reason: owned });
    }
  }

  // Grants on objects that are dropped vanish with them: no separate revoke.
  const pruned = changes.filter(
    (c) => !(c.action === 'delete' && c.before && isOnDroppedObject(c.before, droppedTables, droppedSchemas)),
  );
  unmanaged.push(...byEngines.flatMap((r) => r.unmanaged));
  const diagnostics = [...byEngines.flatMap((r) => r.diagnostics), ...refused];
  return {
    changes: orderChanges([...pruned, ...byEngines.flatMap((r) => r.changes)]),
    unmanaged: unmanaged.sort((a, b) => a.address.localeCompare(b.address)),
    ...(diagnostics.length > 0 ? { diagnostics } : {}),
  };
}

/**
 * `schema.*` table grants (from `allTablesInSchema`) become one grant per table the schema
 * will hold after apply: every declared table, plus live tables the file will not drop
 * (those in a `prune: false` schema). Privileges merge with explicit grants on the same table.
 */
function expandWildcards(desired: readonly Resource[], live: readonly Resource[]): Resource[] {
  const wild = desired.filter((r): r is GrantResource => r.kind === 'grant' && r.object.endsWith('.*'));
  if (wild.length === 0) return [...desired];
  const keepLive = new Set(
    desired.flatMap((r) => (r.kind === 'schema' && r.prune === false ? [r.name] : [])),
  );
  const tablesIn = new Map<string, Set<string>>();
  const addTable = (schema: string, id: string) =>
    tablesIn.set(schema, (tablesIn.get(schema) ?? new Set()).add(id));
  for (const r of desired) if (r.kind === 'table') addTable(r.schema, `${r.schema}.${r.name}`);
  for (const r of live)
    if (r.kind === 'table' && keepLive.has(r.schema)) addTable(r.schema, `${r.schema}.${r.name}`);
  const out = new Map<string, GrantResource>();
  const rest: Resource[] = [];
  const add = (g: GrantResource) => {
    const k = keyOf(g);
    const cur = out.get(k);
    out.set(k, cur ? { ...cur, privileges: [...new Set([...cur.privileges, ...g.privileges])] } : g);
  };
  for (const r of desired) {
    if (r.kind !== 'grant' || r.objectType !== 'table') rest.push(r);
    else if (!r.object.endsWith('.*')) add(r);
  }
  for (const w of wild) {
    const schema = w.object.slice(0, -2);
    for (const t of tablesIn.get(schema) ?? []) add({ ...w, object: t });
  }
  return [...rest, ...out.values()];
}

/**
 * Live table grants that declared default privileges explain, by map key, with the privileges
 * explained: the table's owner is the default privilege's `forRole`, its schema the default
 * privilege's (any schema when it names none), the grantee its `to`; only privileges in the
 * declared set count. Privileges of the live grant outside every declared set are not explained.
 */
export function explainedGrants(
  live: readonly Resource[],
  defaults: readonly DefaultPrivilegeResource[],
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (defaults.length === 0) return out;
  const owners = new Map<string, string | null>();
  for (const r of live) if (r.kind === 'table') owners.set(`${r.schema}.${r.name}`, r.owner);
  for (const g of live) {
    if (g.kind !== 'grant' || g.objectType !== 'table') continue;
    const owner = owners.get(g.object);
    if (!owner) continue;
    const schema = g.object.slice(0, g.object.indexOf('.'));
    const allowed = new Set(
      defaults
        .filter((d) => d.forRole === owner && d.grantee === g.grantee && (d.schema ?? schema) === schema)
        .flatMap((d) => d.privileges),
    );
    const privileges = g.privileges.filter((p) => allowed.has(p));
    if (privileges.length > 0) out.set(keyOf(g), privileges);
  }
  return out;
}

/** Both lists' privileges, in the fixed order (an empty engine list: nothing is `all` here). */
function unionPrivileges(a: readonly string[], b: readonly string[]): string[] {
  return normalizePrivileges([...a, ...b], []);
}

/** Map key: ids are unique per kind only (a schema and a role may share a name). */
function keyOf(r: Resource): string {
  return `${r.kind}:${resourceId(r)}`;
}

function expandAll(r: Resource, caps: Capabilities): Resource {
  if (r.kind === 'grant') {
    return { ...r, privileges: normalizePrivileges(r.privileges, caps.allPrivileges[r.objectType]) };
  }
  if (r.kind === 'default_privileges') {
    const all = caps.defaultTablePrivileges ?? caps.allPrivileges.table;
    return { ...r, privileges: normalizePrivileges(r.privileges, all) };
  }
  return r;
}

function objectSchema(r: GrantResource): string {
  return r.objectType === 'schema' ? r.object : r.object.slice(0, r.object.indexOf('.'));
}

function isOnReplacedObject(r: Resource, replaced: Set<string>): boolean {
  return r.kind === 'grant' && r.objectType === 'table' && replaced.has(r.object);
}

function isOnDroppedObject(r: Resource, tables: Set<string>, schemas: Set<string>): boolean {
  if (r.kind === 'grant') {
    return (r.objectType === 'table' && tables.has(r.object)) || schemas.has(objectSchema(r));
  }
  if (r.kind === 'default_privileges') return r.schema !== null && schemas.has(r.schema);
  return false;
}

/** `true` when the file owns this live object (so it may be deleted), else why it is left alone. */
function ownership(
  r: Resource,
  schemas: Map<string, SchemaResource>,
  roles: Set<string>,
  droppedSchemas: Set<string>,
): true | string {
  switch (r.kind) {
    case 'schema':
      return r.marked ? true : 'schema not declared in the file';
    case 'table': {
      if (droppedSchemas.has(r.schema)) return true;
      const s = schemas.get(r.schema);
      if (!s) return 'table in a schema the file does not manage';
      return s.prune === false ? `schema ${r.schema} has prune: false` : true;
    }
    case 'role':
      return r.marked ? true : 'role not declared in the file';
    case 'grant': {
      const sch = objectSchema(r);
      if (!roles.has(r.grantee)) return `grantee ${r.grantee} is not a role the file manages`;
      if (!schemas.has(sch) && !droppedSchemas.has(sch))
        return `object in schema ${sch}, which the file does not manage`;
      return true;
    }
    case 'default_privileges':
      if (!roles.has(r.grantee)) return `grantee ${r.grantee} is not a role the file manages`;
      if (r.schema !== null && !schemas.has(r.schema) && !droppedSchemas.has(r.schema)) {
        return `schema ${r.schema} is not managed by the file`;
      }
      return true;
    case 'bucket':
      return 'bucket'; // never reached: buckets have their engine's differ (src/providers/s3)
    case 'datashare':
      return 'datashare'; // never reached: datashares have their engine's differ (src/providers/redshift)
    default:
      return assertNever(r);
  }
}

function makeChange(
  connection: string,
  action: Change['action'],
  before: Resource | null,
  after: Resource | null,
  fields: FieldChange[],
  reasons: string[],
): Change {
  const r = (after ?? before)!;
  const destructive =
    action === 'delete' || action === 'replace' || fields.some((f) => f.destructive === true);
  return {
    address: address(connection, r),
    connection,
    kind: r.kind,
    action,
    destructive,
    reasons,
    fields,
    statements: [],
    dependsOn: dependencies(r).map((d) => `${connection}.${d}`),
    before,
    after,
  };
}

/** What a resource needs to exist first, as `kind:id`. */
export function dependencies(r: Resource): string[] {
  switch (r.kind) {
    case 'schema':
      return r.owner ? [`role:${r.owner}`] : [];
    case 'table':
      return [`schema:${r.schema}`, ...(r.owner ? [`role:${r.owner}`] : [])];
    case 'role':
      return r.memberOf.map((g) => `role:${g}`);
    case 'grant':
      return [`${r.objectType}:${r.object}`, `role:${r.grantee}`];
    case 'default_privileges':
      return [`role:${r.forRole}`, `role:${r.grantee}`, ...(r.schema ? [`schema:${r.schema}`] : [])];
    case 'bucket':
      return [];
    case 'datashare':
      return [...r.schemas.map((s) => `schema:${s}`), ...r.tables.map((t) => `table:${t}`)];
    default:
      return assertNever(r);
  }
}

function deleteFields(r: Resource): FieldChange[] {
  if (r.kind === 'grant' || r.kind === 'default_privileges') {
    return [{ path: 'privileges', before: r.privileges, after: [], destructive: true }];
  }
  return [];
}

function deleteReasons(r: Resource): string[] {
  switch (r.kind) {
    case 'table':
      return ['table is in a schema the file manages but is not declared: dropping it loses its rows'];
    case 'schema':
      return ['schema was created by wharf and is no longer in the file'];
    case 'role':
      return ['role was created by wharf and is no longer in the file'];
    case 'grant':
    case 'default_privileges':
      return ['privileges held by a managed role that the file does not declare are revoked'];
    case 'bucket':
    case 'datashare':
      return [];
    default:
      return assertNever(r);
  }
}

function diffKind(have: Resource, want: Resource): KindDiff {
  switch (want.kind) {
    case 'schema':
      return diffSchema(have as SchemaResource, want);
    case 'table':
      return diffTable(have as TableResource, want);
    case 'role':
      return diffRole(have as RoleResource, want);
    case 'grant':
    case 'default_privileges':
      return diffPrivileges(have as GrantResource | DefaultPrivilegeResource, want);
    case 'bucket':
    case 'datashare':
      return { fields: [], replace: false, reasons: [] };
    default:
      return assertNever(want);
  }
}

function diffSchema(have: SchemaResource, want: SchemaResource): KindDiff {
  const fields: FieldChange[] = [];
  if (want.owner !== null && want.owner !== have.owner)
    fields.push({ path: 'owner', before: have.owner, after: want.owner });
  return { fields, replace: false, reasons: [] };
}

export function diffTable(have: TableResource, want: TableResource): KindDiff {
  const fields: FieldChange[] = [];
  const reasons: string[] = [];
  const hp = have.partition;
  const wp = want.partition;
  if (
    (hp?.by ?? null) !== (wp?.by ?? null) ||
    (hp && wp && hp.granularity !== null && hp.granularity !== wp.granularity)
  ) {
    fields.push({
      path: 'partition',
      before: hp ? { by: hp.by, granularity: hp.granularity } : null,
      after: wp ? { by: wp.by, granularity: wp.granularity } : null,
      destructive: true,
    });
    reasons.push(
      'partitioning changed: PostgreSQL cannot re-partition a table in place, so it is dropped and re-created and its rows are lost',
    );
    return { fields, replace: true, reasons };
  }
  const hcols = new Map(have.columns.map((c) => [c.name, c]));
  const wcols = new Map(want.columns.map((c) => [c.name, c]));
  for (const [name, w] of wcols) {
    const h = hcols.get(name);
    if (!h) {
      fields.push({ path: `columns.${name}`, before: null, after: w });
      continue;
    }
    fields.push(...diffColumn(h, w));
  }
  for (const [name, h] of hcols) {
    if (!wcols.has(name)) {
      fields.push({ path: `columns.${name}`, before: h, after: null, destructive: true });
      reasons.push(`column ${name} is dropped with its data`);
    }
  }
  if (!sameList(have.primaryKey, want.primaryKey)) {
    fields.push({ path: 'primaryKey', before: have.primaryKey, after: want.primaryKey });
  }
  if (want.owner !== null && want.owner !== have.owner)
    fields.push({ path: 'owner', before: have.owner, after: want.owner });
  if (want.comment !== have.comment)
    fields.push({ path: 'comment', before: have.comment, after: want.comment });
  if (hp && wp) {
    // Compare by lower bound, not name, so partitions made by hand with other names count.
    const existing = new Set(hp.partitions.map((p) => p.from));
    const missing = wp.partitions.filter((p) => !existing.has(p.from));
    if (missing.length > 0) {
      fields.push({ path: 'partition.partitions', before: null, after: missing.map((p) => p.name) });
      reasons.push(`creates ${missing.length} partition(s) ahead on ${wp.by} (${wp.granularity})`);
    }
  }
  // An engine's own table parts (Redshift: distribution, sort key, encodings, and what it
  // cannot alter in place).
  const base: TableDiff = { fields, replace: false, reasons };
  for (const e of engines()) {
    const extended = e.diffTable?.(have, want, base);
    if (extended) return extended;
  }
  return base;
}

function diffColumn(h: ColumnSpec, w: ColumnSpec): FieldChange[] {
  const out: FieldChange[] = [];
  if (h.type !== w.type) {
    out.push({
      path: `columns.${w.name}.type`,
      before: h.type,
      after: w.type,
      destructive: !isWidening(h.type, w.type),
    });
  }
  if (h.nullable !== w.nullable)
    out.push({ path: `columns.${w.name}.nullable`, before: h.nullable, after: w.nullable });
  if (expressionKey(h.default) !== expressionKey(w.default))
    out.push({ path: `columns.${w.name}.default`, before: h.default, after: w.default });
  return out;
}

function diffRole(have: RoleResource, want: RoleResource): KindDiff {
  const fields: FieldChange[] = [];
  if (have.login !== want.login) fields.push({ path: 'login', before: have.login, after: want.login });
  if (!sameList([...have.memberOf].sort(), [...want.memberOf].sort())) {
    const lost = have.memberOf.filter((g) => !want.memberOf.includes(g));
    fields.push({
      path: 'memberOf',
      before: have.memberOf,
      after: want.memberOf,
      destructive: lost.length > 0,
    });
  }
  return { fields, replace: false, reasons: [] };
}

function diffPrivileges(
  have: GrantResource | DefaultPrivilegeResource,
  want: GrantResource | DefaultPrivilegeResource,
): KindDiff {
  if (sameList(have.privileges, want.privileges)) return { fields: [], replace: false, reasons: [] };
  const lost = have.privileges.filter((p) => !want.privileges.includes(p));
  return {
    fields: [
      { path: 'privileges', before: have.privileges, after: want.privileges, destructive: lost.length > 0 },
    ],
    replace: false,
    reasons: lost.length > 0 ? [`revokes ${lost.join(', ')}`] : [],
  };
}

function sameList(a: readonly string[] | null, b: readonly string[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
