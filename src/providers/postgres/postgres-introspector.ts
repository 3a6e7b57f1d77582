// Reads the live state of a PostgreSQL database in ONE catalog query: the session's own role,
// every schema and role, and the tables, columns, keys, partitions, grants and default privileges of the managed
// scope, as flat JSON arrays assembled here. wharf's own schemas (wharf_state: sync
// watermarks; wharf_meta: locks) are never reported. Grants come from aclexplode() over the
// catalogs, never from parsing ACL strings.
import type { PartitionChild, PartitionSpec, Resource, TableResource } from '../../plan/model.js';
import { DEFAULT_ALL_PRIVILEGES } from '../../plan/normalize.js';
import { assembleDefaultPrivileges, assembleGrants } from '../privilege-rows.js';
import type { LiveSnapshot, ReadScope } from '../provider.js';
import { assemblePublications } from './postgres-publications.js';
import { OWNERSHIP_MARKER, roleMarker } from './postgres-sql.js';

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

// $1 managed schemas, $2 managed roles, $3 schema ownership marker, $4 role ownership marker.
export const CATALOG_QUERY = `
WITH scope AS (
  SELECT n.oid, n.nspname FROM pg_namespace n
  WHERE n.nspname = ANY($1::text[]) OR obj_description(n.oid, 'pg_namespace') = $3
),
managed_roles AS (
  SELECT oid FROM pg_roles WHERE rolname = ANY($2::text[]) OR shobj_description(oid, 'pg_authid') = $4
),
rels AS (
  SELECT c.oid, c.relname, s.nspname, c.relowner, c.relkind
  FROM pg_class c JOIN scope s ON s.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
)
SELECT json_build_object(
  'version', current_setting('server_version'),
  'versionNum', current_setting('server_version_num')::int,
  'sessionUser', session_user,
  'currentUser', current_user,
  'schemas', (SELECT coalesce(json_agg(json_build_array(n.nspname, pg_get_userbyid(n.nspowner),
                 coalesce(obj_description(n.oid, 'pg_namespace') = $3, false))), '[]')
              FROM pg_namespace n WHERE n.nspname !~ '^pg_' AND n.nspname NOT IN ('information_schema', 'wharf_state', 'wharf_meta')),
  'roles', (SELECT coalesce(json_agg(json_build_array(r.rolname, r.rolcanlogin,
                 coalesce(shobj_description(r.oid, 'pg_authid') = $4, false))), '[]')
            FROM pg_roles r WHERE r.rolname !~ '^pg_'),
  'members', (SELECT coalesce(json_agg(json_build_array(m.rolname, g.rolname)), '[]')
              FROM pg_auth_members am JOIN pg_roles m ON m.oid = am.member JOIN pg_roles g ON g.oid = am.roleid
              WHERE m.rolname !~ '^pg_' AND g.rolname !~ '^pg_'),
  'tables', (SELECT coalesce(json_agg(json_build_array(t.nspname, t.relname, pg_get_userbyid(t.relowner),
                 d.description, t.relkind)), '[]')
             FROM rels t LEFT JOIN pg_description d
               ON d.objoid = t.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0),
  'columns', (SELECT coalesce(json_agg(json_build_array(t.nspname, t.relname, a.attname,
                  format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attnum)
                  ORDER BY t.oid, a.attnum), '[]')
              FROM rels t JOIN pg_attribute a ON a.attrelid = t.oid
              LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE a.attnum > 0 AND NOT a.attisdropped),
  'primaryKeys', (SELECT coalesce(json_agg(json_build_array(t.nspname, t.relname, con.conname, con.conkey)), '[]')
                  FROM rels t JOIN pg_constraint con ON con.conrelid = t.oid AND con.contype = 'p'),
  'partitionKeys', (SELECT coalesce(json_agg(json_build_array(t.nspname, t.relname, pt.partstrat, a.attname)), '[]')
                    FROM rels t JOIN pg_partitioned_table pt ON pt.partrelid = t.oid
                    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = pt.partattrs[0]),
  'partitions', (SELECT coalesce(json_agg(json_build_array(t.nspname, t.relname, ch.relname,
                     pg_get_expr(ch.relpartbound, ch.oid))), '[]')
                 FROM rels t JOIN pg_inherits i ON i.inhparent = t.oid JOIN pg_class ch ON ch.oid = i.inhrelid),
  'tableGrants', (SELECT coalesce(json_agg(json_build_array(n.nspname, c.relname,
                      CASE WHEN a.grantee = 0 THEN 'public' ELSE pg_get_userbyid(a.grantee) END, lower(a.privilege_type))), '[]')
                  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  CROSS JOIN LATERAL aclexplode(c.relacl) a
                  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relacl IS NOT NULL
                    AND a.grantee <> c.relowner
                    AND (c.relnamespace IN (SELECT oid FROM scope) OR a.grantee IN (SELECT oid FROM managed_roles))),
  'schemaGrants', (SELECT coalesce(json_agg(json_build_array(n.nspname,
                      CASE WHEN a.grantee = 0 THEN 'public' ELSE pg_get_userbyid(a.grantee) END, lower(a.privilege_type))), '[]')
                   FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a
                   WHERE n.nspacl IS NOT NULL AND a.grantee <> n.nspowner
                     AND n.nspname !~ '^pg_' AND n.nspname NOT IN ('information_schema', 'wharf_state', 'wharf_meta')
                     AND (n.oid IN (SELECT oid FROM scope) OR a.grantee IN (SELECT oid FROM managed_roles))),
  'defaultPrivileges', (SELECT coalesce(json_agg(json_build_array(pg_get_userbyid(d.defaclrole),
                      CASE WHEN d.defaclnamespace = 0 THEN NULL ELSE d.defaclnamespace::regnamespace::text END,
                      CASE WHEN a.grantee = 0 THEN 'public' ELSE pg_get_userbyid(a.grantee) END, lower(a.privilege_type))), '[]')
                   FROM pg_default_acl d CROSS JOIN LATERAL aclexplode(d.defaclacl) a
                   WHERE d.defaclobjtype = 'r' AND a.grantee <> d.defaclrole),
  'publications', (SELECT coalesce(json_agg(p.pubname ORDER BY p.pubname), '[]') FROM pg_publication p),
  'publicationTables', (SELECT coalesce(json_agg(json_build_array(pt.pubname, pt.schemaname, pt.tablename)), '[]')
                        FROM pg_publication_tables pt),
  'publicationSchemas', (SELECT coalesce(json_agg(json_build_array(p.pubname, n.nspname)), '[]')
                         FROM pg_publication_namespace pn JOIN pg_publication p ON p.oid = pn.pnpubid
                         JOIN pg_namespace n ON n.oid = pn.pnnspid)
) AS state`;

/** The same query for servers without pg_publication_namespace (PostgreSQL 14 and older). */
export const CATALOG_QUERY_BEFORE_15 = CATALOG_QUERY.replace(
  / {2}'publicationSchemas', \(SELECT[\s\S]*?pn\.pnnspid\)/,
  "  'publicationSchemas', '[]'::json",
);

type Row<T extends unknown[]> = T;

interface CatalogDoc {
  version: string;
  versionNum: number;
  /** The login role of this session, and the role it acts as (they differ after SET ROLE). */
  sessionUser?: string;
  currentUser?: string;
  schemas: Row<[string, string, boolean]>[];
  roles: Row<[string, boolean, boolean]>[];
  members: Row<[string, string]>[];
  tables: Row<[string, string, string, string | null, string]>[];
  columns: Row<[string, string, string, string, boolean, string | null, number]>[];
  /** Key columns as attribute numbers, resolved against `columns` (cheaper than a join). */
  primaryKeys: Row<[string, string, string, number[]]>[];
  partitionKeys: Row<[string, string, string, string]>[];
  partitions: Row<[string, string, string, string]>[];
  tableGrants: Row<[string, string, string, string]>[];
  schemaGrants: Row<[string, string, string]>[];
  defaultPrivileges: Row<[string, string | null, string, string]>[];
  /** Publications (datashares on PostgreSQL), their effective tables, and whole schemas. */
  publications?: string[];
  publicationTables?: Row<[string, string, string]>[];
  publicationSchemas?: Row<[string, string]>[];
}

export async function readPostgres(db: Queryable, database: string, scope: ReadScope): Promise<LiveSnapshot> {
  const params = [scope.schemas, scope.roles, OWNERSHIP_MARKER, roleMarker(database)];
  let rows: { state: CatalogDoc }[];
  let roundTrips = 1;
  try {
    ({ rows } = await db.query<{ state: CatalogDoc }>(CATALOG_QUERY, params));
  } catch (e) {
    // PostgreSQL before 15 has no schema publications (pg_publication_namespace): read without.
    if ((e as { code?: string }).code !== '42P01') throw e;
    ({ rows } = await db.query<{ state: CatalogDoc }>(CATALOG_QUERY_BEFORE_15, params));
    roundTrips = 2;
  }
  const doc = rows[0]!.state;
  return {
    resources: assemble(doc),
    capabilities: {
      allPrivileges: {
        schema: DEFAULT_ALL_PRIVILEGES.schema,
        table:
          doc.versionNum >= 170000
            ? [...DEFAULT_ALL_PRIVILEGES.table, 'maintain']
            : DEFAULT_ALL_PRIVILEGES.table,
      },
    },
    roundTrips,
    serverVersion: `PostgreSQL ${doc.version}`,
    connectingRoles: [...new Set([doc.sessionUser, doc.currentUser].filter((r): r is string => !!r))],
  };
}

/** Identifiers the catalog returns are already the engine's spelling; regnamespace may quote. */
function unquote(name: string): string {
  return name.startsWith('"') && name.endsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name;
}

export function assemble(doc: CatalogDoc): Resource[] {
  const out: Resource[] = [];
  for (const [name, owner, marked] of doc.schemas) out.push({ kind: 'schema', name, owner, marked });
  const memberOf = new Map<string, string[]>();
  for (const [m, g] of doc.members) memberOf.set(m, [...(memberOf.get(m) ?? []), g]);
  for (const [name, login, marked] of doc.roles) {
    out.push({
      kind: 'role',
      name,
      login,
      memberOf: (memberOf.get(name) ?? []).sort(),
      passwordRef: null,
      marked,
    });
  }

  const tables = new Map<string, TableResource>();
  for (const [schema, name, owner, comment] of doc.tables) {
    tables.set(`${schema}.${name}`, {
      kind: 'table',
      schema,
      name,
      owner,
      columns: [],
      primaryKey: null,
      partition: null,
      comment,
    });
  }
  // Rows arrive grouped by table (ORDER BY oid, attnum): look the table up once per group.
  const attnums = new Map<TableResource, number[]>();
  let cur: TableResource | undefined;
  let curKey = '';
  for (const [schema, table, name, type, nullable, def, attnum] of doc.columns) {
    const key = `${schema}.${table}`;
    if (key !== curKey) {
      curKey = key;
      cur = tables.get(key);
      if (cur) attnums.set(cur, []);
    }
    if (!cur) continue;
    cur.columns.push({ name, type, nullable, default: def === null ? null : def });
    attnums.get(cur)!.push(attnum);
  }
  for (const [schema, table, conname, keys] of doc.primaryKeys) {
    const t = tables.get(`${schema}.${table}`);
    if (t) {
      const nums = attnums.get(t) ?? [];
      t.primaryKey = keys.map((n) => t.columns[nums.indexOf(n)]?.name ?? `#${n}`);
      t.primaryKeyConstraint = conname;
    }
  }
  const children = new Map<string, PartitionChild[]>();
  for (const [schema, table, child, bound] of doc.partitions) {
    const m = /FROM \('(\d{4}-\d{2}-\d{2})[^']*'\) TO \('(\d{4}-\d{2}-\d{2})[^']*'\)/.exec(bound);
    if (!m) continue; // DEFAULT partitions and non-date bounds are not wharf's
    const key = `${schema}.${table}`;
    children.set(key, [...(children.get(key) ?? []), { name: child, from: m[1]!, to: m[2]! }]);
  }
  for (const [schema, table, strategy, column] of doc.partitionKeys) {
    const t = tables.get(`${schema}.${table}`);
    if (!t) continue;
    const parts = (children.get(`${schema}.${table}`) ?? []).sort((a, b) => a.from.localeCompare(b.from));
    t.partition = {
      by: strategy === 'r' ? column : `${strategy}:${column}`,
      granularity: inferGranularity(parts),
      partitions: parts,
    };
  }
  out.push(...tables.values());

  out.push(
    ...assembleGrants([
      ...doc.tableGrants.map(([schema, table, grantee, privilege]) => ({
        objectType: 'table' as const,
        object: `${schema}.${table}`,
        grantee,
        privilege,
      })),
      ...doc.schemaGrants.map(([schema, grantee, privilege]) => ({
        objectType: 'schema' as const,
        object: schema,
        grantee,
        privilege,
      })),
    ]),
    ...assembleDefaultPrivileges(
      doc.defaultPrivileges.map(([forRole, schemaRaw, grantee, privilege]) => ({
        forRole,
        schema: schemaRaw === null ? null : unquote(schemaRaw),
        grantee,
        privilege,
      })),
    ),
  );
  out.push(
    ...assemblePublications(
      doc.publications ?? [],
      doc.publicationTables ?? [],
      doc.publicationSchemas ?? [],
    ),
  );
  return out;
}

function inferGranularity(parts: PartitionChild[]): PartitionSpec['granularity'] {
  const p = parts[0];
  if (!p) return null;
  const days = Math.round((Date.parse(p.to) - Date.parse(p.from)) / 86_400_000);
  if (days === 1) return 'day';
  if (days === 7) return 'week';
  if (days >= 28 && days <= 31) return 'month';
  if (days >= 365 && days <= 366) return 'year';
  return null;
}
