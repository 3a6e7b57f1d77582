// Reads the live state of a Redshift database in ONE BatchExecuteStatement: every catalog
// view wharf needs is one sub-statement of the same submission, whatever the number of
// objects. Privileges come from the structured SVV_*_PRIVILEGES views, table layout from
// PG_CLASS_INFO and SVV_REDSHIFT_COLUMNS, datashares from SVV_DATASHARE*; nothing parses an
// ACL string. The SQL text is built here; `assembleRedshift` turns the rows into resources
// and is pure, so it is tested on fixture rows.

import type { Capabilities } from '../../plan/diff.js';
import type { ColumnSpec, Resource, TableResource } from '../../plan/model.js';
import {
  assembleDefaultPrivileges,
  assembleGrants,
  type DefaultPrivilegeRow,
  type GrantRow,
} from '../privilege-rows.js';
import { quoteRedshiftLiteral } from '../sql-quote.js';
import type { DataApiResult } from './data-api-transport.js';
import {
  type ConsumerStatus,
  consumerKey,
  type DatashareConsumer,
  type DatashareResource,
  type DistStyle,
} from './datashare-model.js';
import { datashareArn } from './redshift-sql.js';

// GRANT ALL ON TABLE and ALTER DEFAULT PRIVILEGES … GRANT ALL ON TABLES expand to what each
// statement accepts: https://docs.aws.amazon.com/redshift/latest/dg/r_GRANT.html,
// https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_DEFAULT_PRIVILEGES.html (no ALTER).
export const REDSHIFT_CAPABILITIES: Capabilities = {
  allPrivileges: {
    schema: ['usage', 'create'],
    table: ['select', 'insert', 'update', 'delete', 'drop', 'references', 'alter', 'truncate'],
  },
  defaultTablePrivileges: ['select', 'insert', 'update', 'delete', 'drop', 'references', 'truncate'],
};

export interface CatalogScope {
  schemas: string[];
  roles: string[];
}

/** Schemas Redshift keeps for itself, and wharf's own (sync state, locks); never reported. */
const SYSTEM_SCHEMAS = [
  'information_schema',
  'catalog_history',
  'pg_automv',
  'pg_auto_copy',
  'wharf_state',
  'wharf_meta',
];

function list(values: readonly string[]): string {
  return values.length === 0 ? "''" : values.map(quoteRedshiftLiteral).join(', ');
}

/** The sub-statements of the catalog batch, in the order `assembleRedshift` reads them. */
export function catalogStatements(scope: CatalogScope): string[] {
  const schemas = list(scope.schemas);
  const roles = list(scope.roles);
  return [
    'SELECT version() AS version, current_database() AS database_name, current_user AS user_name, current_namespace AS namespace',
    `SELECT n.nspname AS schema_name, u.usename AS owner FROM pg_namespace n LEFT JOIN pg_user u ON u.usesysid = n.nspowner
     WHERE LEFT(n.nspname, 3) <> 'pg_' AND n.nspname NOT IN (${list(SYSTEM_SCHEMAS)}) ORDER BY 1`,
    "SELECT usename AS user_name FROM pg_user WHERE usename <> 'rdsdb' ORDER BY 1",
    "SELECT groname AS group_name FROM pg_group WHERE LEFT(groname, 3) <> 'pg_' ORDER BY 1",
    "SELECT pg_group.groname AS group_name, pg_user.usename AS user_name FROM pg_user, pg_group WHERE pg_user.usesysid = ANY(pg_group.grolist) AND LEFT(pg_group.groname, 3) <> 'pg_' ORDER BY 1, 2",
    `SELECT n.nspname AS schema_name, c.relname AS table_name, u.usename AS owner, c.releffectivediststyle AS diststyle, d.description AS comment
     FROM pg_class_info c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_user u ON u.usesysid = c.relowner
     LEFT JOIN pg_description d ON d.objoid = c.reloid AND d.objsubid = 0
     WHERE c.relkind = 'r' AND n.nspname IN (${schemas}) ORDER BY 1, 2`,
    `SELECT schema_name, table_name, column_name, ordinal_position, data_type, column_default, is_nullable, encoding, distkey, sortkey
     FROM svv_redshift_columns WHERE database_name = current_database() AND schema_name IN (${schemas})
     ORDER BY schema_name, table_name, ordinal_position`,
    `SELECT n.nspname AS schema_name, c.relname AS table_name, con.conname AS constraint_name, a.attname AS column_name
     FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = ANY(con.conkey)
     WHERE con.contype = 'p' AND n.nspname IN (${schemas}) ORDER BY 1, 2, a.attnum`,
    `SELECT namespace_name, privilege_type, identity_name, identity_type FROM svv_schema_privileges
     WHERE namespace_name IN (${schemas}) OR identity_name IN (${roles}) ORDER BY 1, 3, 2`,
    `SELECT namespace_name, relation_name, privilege_type, identity_name, identity_type FROM svv_relation_privileges
     WHERE namespace_name IN (${schemas}) OR identity_name IN (${roles}) ORDER BY 1, 2, 4, 3`,
    `SELECT schema_name, owner_name, privilege_type, grantee_name, grantee_type FROM svv_default_privileges
     WHERE object_type = 'RELATION' ORDER BY 2, 1, 4, 3`,
    "SELECT share_name, is_publicaccessible, producer_account, producer_namespace FROM svv_datashares WHERE share_type = 'OUTBOUND' ORDER BY 1",
    "SELECT share_name, object_type, object_name, include_new FROM svv_datashare_objects WHERE share_type = 'OUTBOUND' ORDER BY 1, 2, 3",
    'SELECT share_name, consumer_account, consumer_namespace FROM svv_datashare_consumers ORDER BY 1, 2, 3',
    "SELECT role_name FROM svv_roles WHERE LEFT(role_name, 4) <> 'sys:' ORDER BY 1",
    "SELECT user_name, role_name FROM svv_user_grants WHERE LEFT(role_name, 4) <> 'sys:' ORDER BY 1, 2",
    "SELECT role_name, granted_role_name FROM svv_role_grants WHERE LEFT(granted_role_name, 4) <> 'sys:' ORDER BY 1, 2",
    // Whether the session is a superuser: the SVV_*_PRIVILEGES and datashare views show an
    // ordinary user only its own rows, and SET INCLUDENEW needs a superuser.
    'SELECT usesuper AS superuser FROM pg_user WHERE usename = current_user',
    // AUTO sort keys and distribution as automatic table optimization left them
    // (`AUTO(SORTKEY(col))`, `AUTO(KEY(col))`). Superusers only, and no row for an empty table:
    // without a row, the layout is what the two statements above tell.
    `SELECT "schema" AS schema_name, "table" AS table_name, diststyle, sortkey1 FROM svv_table_info
     WHERE "schema" IN (${schemas}) ORDER BY 1, 2`,
  ];
}

/** Control-plane view of one share's consumers: status by consumer identifier. */
export type ConsumerStatuses = Map<string, Map<string, ConsumerStatus>>;

export interface CatalogFacts {
  version: string;
  database: string;
  user: string;
  /** The producer namespace GUID (`current_namespace`). */
  namespace: string;
  /** Producer account, when a share reports it. */
  producerAccount: string | null;
  outboundShares: number;
  /** Outbound shares that have account consumers (whose status the control plane knows). */
  sharesWithAccounts: string[];
  /** Whether the session user is a superuser; null when the catalog did not say. */
  superuser: boolean | null;
}

const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v)).trim();
const bool = (v: unknown): boolean =>
  v === true ||
  v === 1 ||
  (typeof v === 'string' && ['t', 'true', 'yes', 'y', '1'].includes(v.trim().toLowerCase()));

/** Redshift's PG_CLASS_INFO.releffectivediststyle codes. */
function distStyleOf(code: unknown): DistStyle {
  switch (Number(code)) {
    case 0:
      return 'even';
    case 1:
      return 'key';
    case 8:
      return 'all';
    default:
      return 'auto'; // 10 AUTO(ALL), 11 AUTO(EVEN), 12 AUTO(KEY)
  }
}

export function catalogFacts(results: DataApiResult[]): CatalogFacts {
  const head = results[0]?.rows[0] ?? {};
  const shares = results[11]?.rows ?? [];
  const consumers = results[13]?.rows ?? [];
  const su = results[17]?.rows[0]?.superuser;
  return {
    superuser: su === undefined || su === null ? null : bool(su),
    version: str(head.version),
    database: str(head.database_name),
    user: str(head.user_name),
    namespace: str(head.namespace),
    outboundShares: shares.length,
    producerAccount: shares.map((r) => str(r.producer_account)).find((a) => a !== '') ?? null,
    sharesWithAccounts: [
      ...new Set(consumers.filter((r) => str(r.consumer_account) !== '').map((r) => str(r.share_name))),
    ],
  };
}

/** Rows of the catalog batch (+ control-plane statuses) -> resources. Pure. */
export function assembleRedshift(
  results: DataApiResult[],
  statuses: ConsumerStatuses,
  namespaceArn: string | null,
): Resource[] {
  const rows = (i: number) => results[i]?.rows ?? [];
  const out: Resource[] = [];
  const users = new Set(rows(2).map((r) => str(r.user_name)));
  for (const r of rows(1)) {
    out.push({ kind: 'schema', name: str(r.schema_name), owner: str(r.owner) || null });
  }
  const memberOf = new Map<string, string[]>();
  const addMember = (member: string, of: string) =>
    memberOf.set(member, [...(memberOf.get(member) ?? []), of]);
  for (const r of rows(4)) addMember(str(r.user_name), str(r.group_name));
  for (const r of rows(15)) addMember(str(r.user_name), str(r.role_name));
  for (const r of rows(16)) addMember(str(r.role_name), str(r.granted_role_name));
  for (const u of users) {
    out.push({
      kind: 'role',
      name: u,
      login: true,
      memberOf: [...new Set(memberOf.get(u) ?? [])].sort(),
      passwordRef: null,
    });
  }
  for (const r of rows(3)) {
    const g = str(r.group_name);
    out.push({ kind: 'role', name: g, login: false, memberOf: [], passwordRef: null, roleKind: 'group' });
  }
  for (const r of rows(14)) {
    const name = str(r.role_name);
    out.push({
      kind: 'role',
      name,
      login: false,
      memberOf: [...new Set(memberOf.get(name) ?? [])].sort(),
      passwordRef: null,
      roleKind: 'role',
    });
  }

  // Tables with their columns, keys and layout.
  const tables = new Map<string, TableResource>();
  for (const r of rows(5)) {
    const t: TableResource = {
      kind: 'table',
      schema: str(r.schema_name),
      name: str(r.table_name),
      owner: str(r.owner) || null,
      columns: [],
      primaryKey: null,
      partition: null,
      comment: r.comment === null || r.comment === undefined ? null : String(r.comment),
      redshift: { distribution: { style: distStyleOf(r.diststyle), key: null }, sortKey: null },
    };
    tables.set(`${t.schema}.${t.name}`, t);
  }
  const sortCols = new Map<string, { pos: number; name: string }[]>();
  for (const r of rows(6)) {
    const t = tables.get(`${str(r.schema_name)}.${str(r.table_name)}`);
    if (!t) continue;
    const name = str(r.column_name);
    const enc = str(r.encoding).toLowerCase();
    const col: ColumnSpec = {
      name,
      type: str(r.data_type).toLowerCase(),
      nullable: bool(r.is_nullable),
      default: r.column_default === null ? null : str(r.column_default).trim() || null,
      encode: enc === '' || enc === 'none' ? 'raw' : enc,
    };
    t.columns.push(col);
    // The key of KEY, or the one automatic table optimization chose (AUTO(KEY(col))).
    const style = t.redshift?.distribution?.style;
    if (bool(r.distkey) && (style === 'key' || style === 'auto')) t.redshift!.distribution!.key = name;
    const sk = Number(r.sortkey ?? 0);
    if (sk !== 0) {
      const id = `${t.schema}.${t.name}`;
      sortCols.set(id, [...(sortCols.get(id) ?? []), { pos: sk, name }]);
    }
  }
  // SVV_TABLE_INFO.sortkey1 tells an AUTO sort key from a declared one: AUTO(SORTKEY) while
  // none is chosen, AUTO(SORTKEY(col)) once automatic table optimization chose one, whose
  // columns SVV_REDSHIFT_COLUMNS lists like a declared key's. A declared `sortKey: auto` is then
  // no drift; the columns are kept for what they are (keys, which ALTER COLUMN TYPE refuses).
  const autoSorted = new Set<string>();
  for (const r of rows(18)) {
    const id = `${str(r.schema_name)}.${str(r.table_name)}`;
    if (/^AUTO\s*\(\s*SORTKEY/i.test(str(r.sortkey1))) autoSorted.add(id);
    const auto = /^AUTO\s*\(\s*KEY\s*\((.+)\)\s*\)$/i.exec(str(r.diststyle));
    const d = tables.get(id)?.redshift?.distribution;
    if (auto && d?.style === 'auto' && d.key === null) d.key = auto[1]!.trim();
  }
  for (const [id, t] of tables) {
    const cols = (sortCols.get(id) ?? []).sort((a, b) => Math.abs(a.pos) - Math.abs(b.pos));
    const interleaved = cols.some((c) => c.pos < 0);
    t.redshift!.sortKey =
      cols.length === 0 || autoSorted.has(id)
        ? { type: 'auto', columns: cols.map((c) => c.name) }
        : { type: interleaved ? 'interleaved' : 'compound', columns: cols.map((c) => c.name) };
  }
  for (const r of rows(7)) {
    const t = tables.get(`${str(r.schema_name)}.${str(r.table_name)}`);
    if (!t) continue;
    t.primaryKey = [...(t.primaryKey ?? []), str(r.column_name)];
    t.primaryKeyConstraint = str(r.constraint_name);
  }
  out.push(...tables.values());

  // Privileges: one grant resource per (object, grantee); an owner's own rights are not grants.
  const schemaOwner = new Map(
    out.flatMap((r) => (r.kind === 'schema' && r.owner ? [[r.name, r.owner] as const] : [])),
  );
  const grantRows: GrantRow[] = [];
  for (const r of rows(8)) {
    const sch = str(r.namespace_name);
    const who = str(r.identity_name);
    if (str(r.identity_type).toLowerCase() === 'public' || schemaOwner.get(sch) === who) continue;
    grantRows.push({
      objectType: 'schema',
      object: sch,
      grantee: who,
      privilege: str(r.privilege_type),
      granteeType: granteeType(str(r.identity_type)),
    });
  }
  for (const r of rows(9)) {
    const id = `${str(r.namespace_name)}.${str(r.relation_name)}`;
    const who = str(r.identity_name);
    if (str(r.identity_type).toLowerCase() === 'public' || tables.get(id)?.owner === who) continue;
    grantRows.push({
      objectType: 'table',
      object: id,
      grantee: who,
      privilege: str(r.privilege_type),
      granteeType: granteeType(str(r.identity_type)),
    });
  }
  out.push(...assembleGrants(grantRows));
  const defaultRows: DefaultPrivilegeRow[] = [];
  for (const r of rows(10)) {
    if (str(r.grantee_type).toLowerCase() === 'public') continue;
    defaultRows.push({
      forRole: str(r.owner_name),
      schema: str(r.schema_name) || null,
      grantee: str(r.grantee_name),
      privilege: str(r.privilege_type),
      granteeType: granteeType(str(r.grantee_type)),
    });
  }
  out.push(...assembleDefaultPrivileges(defaultRows));

  // Datashares: objects, INCLUDENEW, consumers, and each account consumer's control-plane status.
  const shares = new Map<string, DatashareResource>();
  for (const r of rows(11)) {
    const name = str(r.share_name);
    shares.set(name, {
      kind: 'datashare',
      name,
      publicAccessible: bool(r.is_publicaccessible),
      schemas: [],
      tables: [],
      includeNew: [],
      consumers: [],
      ...(namespaceArn ? { arn: datashareArn(namespaceArn, name) } : {}),
    });
  }
  for (const r of rows(12)) {
    const d = shares.get(str(r.share_name));
    if (!d) continue;
    const type = str(r.object_type).toLowerCase();
    const obj = str(r.object_name);
    if (type === 'schema') {
      d.schemas.push(obj);
      if (bool(r.include_new)) d.includeNew.push(obj);
    } else if (type === 'table') d.tables.push(obj);
  }
  for (const r of rows(13)) {
    const d = shares.get(str(r.share_name));
    if (!d) continue;
    const account = str(r.consumer_account);
    const ns = str(r.consumer_namespace).toLowerCase();
    const st = statuses.get(d.name);
    let c: DatashareConsumer;
    if (account !== '' && (ns === '' || ns === '*')) {
      const catalog = st?.get(`DataCatalog/${account}`);
      c = {
        type: 'account',
        id: account,
        viaDataCatalog: catalog !== undefined,
        status: catalog ?? st?.get(account) ?? 'granted',
      };
    } else c = { type: 'namespace', id: ns, viaDataCatalog: false, status: 'granted' };
    if (!d.consumers.some((x) => consumerKey(x) === consumerKey(c))) d.consumers.push(c);
  }
  for (const d of shares.values()) {
    d.schemas.sort();
    d.tables.sort();
    d.includeNew.sort();
    d.consumers.sort((a, b) => consumerKey(a).localeCompare(consumerKey(b)));
    out.push(d);
  }
  return out;
}

function granteeType(identityType: string): 'user' | 'group' | 'role' {
  const t = identityType.toLowerCase();
  return t === 'group' || t === 'role' ? t : 'user';
}
