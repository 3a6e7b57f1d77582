// Config -> desired resources, the Redshift part: tables get their layout (distribution,
// sort key, encodings) and Redshift's type names, `partition` becomes the leading sort-key
// column, grants learn whether the grantee is a user or a group, and `datashares:` become
// datashare resources. The Redshift engine's toDesired (engine.ts), run by src/config/to-desired.ts
// after the core's mapping. Pure, like toDesired.

import type { LoadedConfig, TableConfig } from '../../config/types.js';
import type { Resource, TableResource } from '../../plan/model.js';
import { foldIdent, normalizeType } from '../../plan/normalize.js';
import { schemaEntry } from './config.js';
import {
  consumerKey,
  type DatashareConsumer,
  type DatashareResource,
  type SortKey,
} from './datashare-model.js';

/** Type names as Redshift prints them: its defaults fill what the file leaves out. */
export function normalizeRedshiftType(raw: string): string {
  const t = normalizeType(raw);
  if (t === 'text' || t === 'character varying') return 'character varying(256)';
  if (t === 'numeric') return 'numeric(18,0)';
  if (t === 'character varying(max)') return 'character varying(65535)';
  return t;
}

/** Rewrites, in place, the resources of every redshift connection of `byConn`. */
export function applyRedshiftDesired(loaded: LoadedConfig, byConn: Map<string, Resource[]>): void {
  const { config } = loaded;
  const tableCfg = new Map<string, TableConfig>();
  for (const t of config.tables ?? []) tableCfg.set(`${foldIdent(t.schema)}.${foldIdent(t.name)}`, t);
  const roleType = new Map<string, 'user' | 'group' | 'role'>();
  for (const r of config.roles ?? []) roleType.set(foldIdent(r.name), r.type ?? 'role');
  for (const [conn, resources] of byConn) {
    if (loaded.connections[conn]?.type !== 'redshift') continue;
    for (const [i, r] of resources.entries()) {
      if (r.kind === 'table') {
        const cfg = tableCfg.get(`${r.schema}.${r.name}`);
        if (cfg) resources[i] = redshiftTable(r, cfg);
      } else if (r.kind === 'role' && !r.login) {
        resources[i] = { ...r, roleKind: roleType.get(r.name) === 'group' ? 'group' : 'role' };
      } else if (r.kind === 'grant' || r.kind === 'default_privileges') {
        resources[i] = { ...r, granteeType: roleType.get(r.grantee) ?? 'user' };
      }
    }
  }
  for (const d of config.datashares ?? []) {
    const conn = d.connection ?? loaded.defaultConnection;
    const name = foldIdent(d.name);
    const tables = new Set<string>();
    for (const t of d.tables ?? []) tables.add(t.split('.').map(foldIdent).join('.'));
    for (const s of d.allTablesInSchema ?? []) tables.add(`${foldIdent(s)}.*`);
    const schemas = new Set<string>();
    const includeNew = new Set<string>();
    for (const s of d.schemas ?? []) {
      const e = schemaEntry(s);
      schemas.add(foldIdent(e.name));
      if (e.includeNew) includeNew.add(foldIdent(e.name));
    }
    // A table can only join a share whose schema is in it: the table's schema comes along.
    for (const t of tables) schemas.add(t.slice(0, t.indexOf('.')));
    const consumers: DatashareConsumer[] = (d.consumers ?? []).map((c) =>
      'account' in c
        ? { type: 'account', id: c.account, viaDataCatalog: c.viaDataCatalog ?? false, status: 'authorized' }
        : { type: 'namespace', id: c.namespace.toLowerCase(), viaDataCatalog: false, status: 'granted' },
    );
    const share: DatashareResource = {
      kind: 'datashare',
      name,
      publicAccessible: d.publicAccessible ?? false,
      schemas: [...schemas].sort(),
      tables: [...tables].sort(),
      includeNew: [...includeNew].sort(),
      consumers: consumers.sort((a, b) => consumerKey(a).localeCompare(consumerKey(b))),
    };
    byConn.get(conn)?.push(share);
  }
}

function redshiftTable(t: TableResource, cfg: TableConfig): TableResource {
  const encodes = new Map(cfg.columns.map((c) => [foldIdent(c.name), c.encode?.toLowerCase() ?? null]));
  const columns = t.columns.map((c) => ({
    ...c,
    type: normalizeRedshiftType(c.type),
    encode: encodes.get(c.name) ?? null,
  }));
  let sortKey: SortKey | null = null;
  if (cfg.sortKey === 'auto') sortKey = { type: 'auto', columns: [] };
  else if (cfg.sortKey)
    sortKey = { type: cfg.sortKey.type ?? 'compound', columns: cfg.sortKey.columns.map(foldIdent) };
  // Redshift has no partitions: the partition column leads the sort key (rules.ts checks that
  // an explicit sort key starts with it).
  if (t.partition && !sortKey) sortKey = { type: 'compound', columns: [t.partition.by] };
  const d = cfg.distribution;
  return {
    ...t,
    columns,
    partition: null,
    redshift: {
      distribution: d ? { style: d.style, key: d.style === 'key' && d.key ? foldIdent(d.key) : null } : null,
      sortKey,
    },
  };
}
