// The diff of declared Redshift datashares against live ones: objects added or removed,
// INCLUDENEW per schema, public accessibility, and each consumer's lifecycle (granted ->
// authorized -> active). A live datashare the file does not declare is left alone (wharf has
// no way to mark the shares it created on Redshift), so this differ never drops one. The
// Redshift engine's differ for the `datashare` kind (engine.ts), run by src/plan/diff.ts.
// Pure: no I/O.
import { address } from '../../plan/address.js';
import type { Resource } from '../../plan/model.js';
import type { Change, Diagnostic, FieldChange, UnmanagedObject } from '../../plan/plan.js';
import {
  type ConsumerStatus,
  consumerKey,
  consumerSatisfied,
  type DatashareConsumer,
  type DatashareResource,
} from './datashare-model.js';

export interface DatashareDiffResult {
  changes: Change[];
  unmanaged: UnmanagedObject[];
  diagnostics: Diagnostic[];
}

/**
 * `desired`/`live` are every resource of the connection: tables are needed to expand
 * `schema.*` (ALL TABLES IN SCHEMA) into the tables the schema will hold.
 */
export function diffDatashares(
  connection: string,
  desired: readonly Resource[],
  live: readonly Resource[],
): DatashareDiffResult {
  const out: DatashareDiffResult = { changes: [], unmanaged: [], diagnostics: [] };
  const wantShares = desired.filter((r): r is DatashareResource => r.kind === 'datashare');
  const liveShares = new Map(
    live.filter((r): r is DatashareResource => r.kind === 'datashare').map((d) => [d.name, d]),
  );
  const tablesIn = new Map<string, Set<string>>();
  for (const r of [...desired, ...live]) {
    if (r.kind !== 'table') continue;
    const set = tablesIn.get(r.schema) ?? new Set<string>();
    set.add(`${r.schema}.${r.name}`);
    tablesIn.set(r.schema, set);
  }
  for (const raw of [...wantShares].sort((a, b) => a.name.localeCompare(b.name))) {
    const want = expandTables(raw, tablesIn);
    const have = liveShares.get(want.name) ?? null;
    const addr = address(connection, want);
    for (const c of have?.consumers ?? []) out.diagnostics.push(lifecycleNote(addr, c));
    const change = have ? update(connection, have, want) : create(connection, want);
    if (change) out.changes.push(change);
  }
  const declared = new Set(wantShares.map((d) => d.name));
  for (const d of liveShares.values()) {
    if (!declared.has(d.name))
      out.unmanaged.push({ address: address(connection, d), reason: 'datashare not declared in the file' });
  }
  return out;
}

function expandTables(d: DatashareResource, tablesIn: Map<string, Set<string>>): DatashareResource {
  if (!d.tables.some((t) => t.endsWith('.*'))) return d;
  const tables = new Set<string>();
  for (const t of d.tables) {
    if (t.endsWith('.*')) for (const x of tablesIn.get(t.slice(0, -2)) ?? []) tables.add(x);
    else tables.add(t);
  }
  return { ...d, tables: [...tables].sort() };
}

function dependsOn(connection: string, d: DatashareResource): string[] {
  return [
    ...d.schemas.map((s) => `${connection}.schema:${s}`),
    ...d.tables.map((t) => `${connection}.table:${t}`),
  ];
}

function create(connection: string, want: DatashareResource): Change {
  const fields: FieldChange[] = [{ path: 'publicAccessible', before: null, after: want.publicAccessible }];
  for (const s of want.schemas) fields.push({ path: `schemas.${s}`, before: null, after: s });
  for (const t of want.tables) fields.push({ path: `tables.${t}`, before: null, after: t });
  for (const s of want.includeNew) fields.push({ path: `includeNew.${s}`, before: null, after: true });
  for (const c of want.consumers)
    fields.push({ path: `consumers.${consumerKey(c)}`, before: null, after: c });
  return {
    address: address(connection, want),
    connection,
    kind: 'datashare',
    action: 'create',
    destructive: false,
    reasons: want.consumers.map((c) => lifecycleReason(c, null)),
    fields,
    statements: [],
    dependsOn: dependsOn(connection, want),
    before: null,
    after: want,
  };
}

function update(connection: string, have: DatashareResource, want: DatashareResource): Change | null {
  const fields: FieldChange[] = [];
  const reasons: string[] = [];
  if (have.publicAccessible !== want.publicAccessible)
    fields.push({ path: 'publicAccessible', before: have.publicAccessible, after: want.publicAccessible });
  setFields(fields, reasons, 'schemas', have.schemas, want.schemas, 'schema');
  // Redshift adds tables created in an INCLUDENEW schema by itself: they are not removed.
  const autoAdded = have.tables.filter(
    (t) => want.includeNew.includes(t.slice(0, t.indexOf('.'))) && !want.tables.includes(t),
  );
  setFields(fields, reasons, 'tables', have.tables, [...want.tables, ...autoAdded].sort(), 'table');
  for (const s of want.includeNew)
    if (!have.includeNew.includes(s)) fields.push({ path: `includeNew.${s}`, before: false, after: true });
  for (const s of have.includeNew)
    if (!want.includeNew.includes(s) && want.schemas.includes(s))
      fields.push({ path: `includeNew.${s}`, before: true, after: false });
  const liveConsumers = new Map(have.consumers.map((c) => [consumerKey(c), c]));
  const wantConsumers = new Map(want.consumers.map((c) => [consumerKey(c), c]));
  for (const [k, c] of wantConsumers) {
    const h = liveConsumers.get(k);
    if (!h || h.viaDataCatalog !== c.viaDataCatalog) {
      if (h) {
        fields.push({ path: `consumers.${k}`, before: h, after: null, destructive: true });
        reasons.push(`${label(h)} is re-granted to change viaDataCatalog`);
      }
      fields.push({ path: `consumers.${k}`, before: null, after: c });
      reasons.push(lifecycleReason(c, null));
    } else if (!consumerSatisfied(c.status, h.status)) {
      fields.push({ path: `consumers.${k}.status`, before: h.status, after: c.status });
      reasons.push(lifecycleReason(c, h.status));
    }
  }
  for (const [k, h] of liveConsumers) {
    if (wantConsumers.has(k)) continue;
    fields.push({ path: `consumers.${k}`, before: h, after: null, destructive: true });
    reasons.push(`${label(h)} loses access: usage is revoked`);
  }
  if (fields.length === 0) return null;
  return {
    address: address(connection, want),
    connection,
    kind: 'datashare',
    action: 'update',
    destructive: fields.some((f) => f.destructive === true),
    reasons,
    fields,
    statements: [],
    dependsOn: dependsOn(connection, want),
    before: have,
    after: { ...want, ...(have.arn ? { arn: have.arn } : {}) },
  };
}

function setFields(
  fields: FieldChange[],
  reasons: string[],
  path: 'schemas' | 'tables',
  have: readonly string[],
  want: readonly string[],
  noun: string,
): void {
  for (const x of want) if (!have.includes(x)) fields.push({ path: `${path}.${x}`, before: null, after: x });
  for (const x of have) {
    if (want.includes(x)) continue;
    fields.push({ path: `${path}.${x}`, before: x, after: null, destructive: true });
    reasons.push(`${noun} ${x} is removed from the share: its consumers lose access to it`);
  }
}

function label(c: DatashareConsumer): string {
  return `consumer ${c.type} ${c.id}${c.viaDataCatalog ? ' (via Data Catalog)' : ''}`;
}

/** The lifecycle a consumer goes through, and where this plan takes it. */
function lifecycleReason(c: DatashareConsumer, live: ConsumerStatus | null): string {
  if (c.type === 'namespace')
    return `${label(c)}: GRANT USAGE; a namespace of the same account needs no authorization`;
  if (live === null)
    return `${label(c)}: granted -> authorized by this plan (GRANT USAGE, then AuthorizeDataShare); active once the consumer associates it`;
  if (live === 'granted')
    return `${label(c)} was granted usage but never authorized: the consumer cannot see the share until AuthorizeDataShare runs`;
  return `${label(c)} is ${live}: AuthorizeDataShare authorizes it again`;
}

function lifecycleNote(addr: string, c: DatashareConsumer): Diagnostic {
  const next: Record<ConsumerStatus, string> = {
    granted: c.type === 'account' ? 'waiting for AuthorizeDataShare' : 'usable by the consumer',
    authorized: 'waiting for the consumer to associate it',
    active: 'in use',
    rejected: 'the consumer rejected it',
    deauthorized: 'authorization was withdrawn',
  };
  const unauthorized = c.type === 'account' && c.status === 'granted';
  return {
    severity: unauthorized ? 'warning' : 'info',
    code: unauthorized ? 'datashare-unauthorized' : 'datashare-consumer',
    message: `${addr}: ${label(c)} is ${c.status} (${next[c.status]})`,
  };
}
