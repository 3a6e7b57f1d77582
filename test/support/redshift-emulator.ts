// A Redshift stand-in on real PostgreSQL, for convergence tests through the fake Data API:
//
// - catalog views named exactly like the Redshift ones wharf reads (PG_CLASS_INFO,
//   SVV_REDSHIFT_COLUMNS, SVV_SCHEMA_PRIVILEGES, SVV_RELATION_PRIVILEGES,
//   SVV_DEFAULT_PRIVILEGES, SVV_DATASHARES, SVV_DATASHARE_OBJECTS, SVV_DATASHARE_CONSUMERS),
//   with their documented column names, in schema `rsemu` on the session's search_path, over
//   pg_catalog plus small bookkeeping tables (layout, encodings, datashares);
// - `rewrite(sql)`, plugged into the fake, which turns the Redshift-only statements wharf
//   emits (DISTSTYLE/DISTKEY/SORTKEY/ENCODE clauses, ALTER ... ALTER DISTSTYLE/SORTKEY/ENCODE,
//   CREATE/ALTER/DROP DATASHARE, GRANT/REVOKE USAGE ON DATASHARE, PASSWORD DISABLE,
//   current_namespace, GETDATE) into PostgreSQL statements plus bookkeeping writes;
// - Redshift's refusals PostgreSQL would not make: statements not allowed in a transaction
//   block arriving inside a batch (refuseInTransactionBlock), a DISTKEY that is no column,
//   default privileges in a schema for a user without CREATE there.
//
// What it does not emulate: Redshift's storage, automatic table optimization, datashare
// INCLUDENEW picking up new tables by itself, and the control plane (served by
// support/redshift-control-server.ts; `grants` below is what a GRANT USAGE left for it to report).
import type pg from 'pg';

export const EMULATED_NAMESPACE = '86b5169f-01dc-4a6f-9fbb-e2e24359e9a8';
export const EMULATED_ACCOUNT = '123456789012';
const VERSION =
  'PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 (Red Hat 3.4.2-6.fc3), Redshift 1.0.80000 (emulated)';

const SETUP = `
CREATE SCHEMA IF NOT EXISTS rsemu;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'rsemu' AND t.typname = 'super') THEN
    CREATE DOMAIN rsemu.super AS jsonb;
  END IF;
END $$;
CREATE OR REPLACE FUNCTION rsemu.getdate() RETURNS timestamp LANGUAGE sql AS $$ SELECT localtimestamp::timestamp(0) $$;
CREATE OR REPLACE FUNCTION rsemu.json_serialize(v jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT v::text $$;
CREATE OR REPLACE FUNCTION rsemu.json_parse(v text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$ SELECT v::jsonb $$;
CREATE TABLE IF NOT EXISTS rsemu.table_meta (
  schema_name text, table_name text, diststyle text NOT NULL, distkey text, sorttype text NOT NULL, sortcols text[] NOT NULL,
  -- what automatic table optimization chose for a DISTSTYLE AUTO / SORTKEY AUTO table
  ato_distkey text, ato_sortcols text[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (schema_name, table_name));
CREATE TABLE IF NOT EXISTS rsemu.column_encode (
  schema_name text, table_name text, column_name text, encoding text NOT NULL,
  PRIMARY KEY (schema_name, table_name, column_name));
CREATE TABLE IF NOT EXISTS rsemu.rbac_roles (role_name text PRIMARY KEY);
CREATE TABLE IF NOT EXISTS rsemu.datashares (share_name text PRIMARY KEY, is_publicaccessible boolean NOT NULL);
CREATE TABLE IF NOT EXISTS rsemu.datashare_objects (
  share_name text, object_type text, object_name text, include_new boolean NOT NULL DEFAULT false,
  PRIMARY KEY (share_name, object_type, object_name));
CREATE TABLE IF NOT EXISTS rsemu.datashare_consumers (
  share_name text, consumer_account text NOT NULL DEFAULT '', consumer_namespace text NOT NULL DEFAULT '',
  share_date timestamp NOT NULL DEFAULT localtimestamp, PRIMARY KEY (share_name, consumer_account, consumer_namespace));

CREATE OR REPLACE VIEW rsemu.pg_class_info AS
SELECT c.oid AS reloid, c.relname, c.relnamespace, c.relowner, c.relkind, c.relcreationtime,
  CASE coalesce(m.diststyle, 'auto') WHEN 'even' THEN 0 WHEN 'key' THEN 1 WHEN 'all' THEN 8
    ELSE CASE WHEN m.ato_distkey IS NOT NULL THEN 12 ELSE 10 END END AS releffectivediststyle
FROM (SELECT c.*, NULL::timestamp AS relcreationtime FROM pg_class c) c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN rsemu.table_meta m ON m.schema_name = n.nspname AND m.table_name = c.relname;

CREATE OR REPLACE VIEW rsemu.svv_redshift_columns AS
SELECT current_database()::varchar(128) AS database_name, n.nspname::varchar(128) AS schema_name,
  c.relname::varchar(128) AS table_name, a.attname::varchar(128) AS column_name, a.attnum::int AS ordinal_position,
  format_type(a.atttypid, a.atttypmod)::varchar(128) AS data_type, pg_get_expr(d.adbin, d.adrelid)::varchar(4000) AS column_default,
  CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END::varchar(3) AS is_nullable,
  coalesce(e.encoding, CASE
    WHEN a.attname = ANY(coalesce(m.sortcols, '{}')) THEN 'raw'
    WHEN format_type(a.atttypid, a.atttypmod) ~ '^(smallint|integer|bigint|numeric|date|timestamp)' THEN 'az64'
    WHEN format_type(a.atttypid, a.atttypmod) ~ '^(character)' THEN 'lzo'
    ELSE 'none' END)::varchar(64) AS encoding,
  coalesce((m.diststyle = 'key' AND m.distkey = a.attname) OR (m.diststyle = 'auto' AND m.ato_distkey = a.attname), false) AS distkey,
  coalesce(CASE m.sorttype WHEN 'compound' THEN array_position(m.sortcols, a.attname::text)
                           WHEN 'interleaved' THEN -array_position(m.sortcols, a.attname::text)
                           WHEN 'auto' THEN array_position(m.ato_sortcols, a.attname::text) END, 0)::int AS sortkey,
  NULL::varchar(128) AS column_acl, NULL::varchar(256) AS remarks
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN rsemu.table_meta m ON m.schema_name = n.nspname AND m.table_name = c.relname
LEFT JOIN rsemu.column_encode e ON e.schema_name = n.nspname AND e.table_name = c.relname AND e.column_name = a.attname
WHERE c.relkind IN ('r', 'v') AND a.attnum > 0 AND NOT a.attisdropped;

CREATE OR REPLACE VIEW rsemu.svv_schema_privileges AS
SELECT n.nspname::varchar(128) AS namespace_name, a.privilege_type::varchar(32) AS privilege_type, a.grantee::int AS identity_id,
  coalesce(r.rolname, 'public')::varchar(128) AS identity_name,
  CASE WHEN a.grantee = 0 THEN 'public' WHEN r.rolcanlogin THEN 'user'
       WHEN r.rolname IN (SELECT role_name FROM rsemu.rbac_roles) THEN 'role' ELSE 'group' END::varchar(32) AS identity_type,
  a.is_grantable AS admin_option
FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee;

CREATE OR REPLACE VIEW rsemu.svv_relation_privileges AS
SELECT n.nspname::varchar(128) AS namespace_name, c.relname::varchar(128) AS relation_name, a.privilege_type::varchar(32) AS privilege_type,
  a.grantee::int AS identity_id, coalesce(r.rolname, 'public')::varchar(128) AS identity_name,
  CASE WHEN a.grantee = 0 THEN 'public' WHEN r.rolcanlogin THEN 'user'
       WHEN r.rolname IN (SELECT role_name FROM rsemu.rbac_roles) THEN 'role' ELSE 'group' END::varchar(32) AS identity_type,
  a.is_grantable AS admin_option
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN LATERAL aclexplode(c.relacl) a
LEFT JOIN pg_roles r ON r.oid = a.grantee WHERE c.relkind IN ('r', 'v');

CREATE OR REPLACE VIEW rsemu.svv_default_privileges AS
SELECT n.nspname::varchar(128) AS schema_name,
  CASE d.defaclobjtype WHEN 'r' THEN 'RELATION' WHEN 'f' THEN 'FUNCTION' ELSE 'OTHER' END::varchar(32) AS object_type,
  d.defaclrole::int AS owner_id, o.rolname::varchar(128) AS owner_name,
  CASE WHEN o.rolcanlogin THEN 'user' ELSE 'role' END::varchar(32) AS owner_type,
  a.privilege_type::varchar(32) AS privilege_type, a.grantee::int AS grantee_id, coalesce(r.rolname, 'public')::varchar(128) AS grantee_name,
  CASE WHEN a.grantee = 0 THEN 'public' WHEN r.rolcanlogin THEN 'user'
       WHEN r.rolname IN (SELECT role_name FROM rsemu.rbac_roles) THEN 'role' ELSE 'group' END::varchar(32) AS grantee_type,
  a.is_grantable AS admin_option
FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace JOIN pg_roles o ON o.oid = d.defaclrole
CROSS JOIN LATERAL aclexplode(d.defaclacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
WHERE a.grantee <> d.defaclrole;

-- RBAC roles are NOLOGIN roles listed in rsemu.rbac_roles; pg_group (shadowed through the
-- search_path) shows the other NOLOGIN roles only, as Redshift keeps groups and roles apart.
CREATE OR REPLACE VIEW rsemu.pg_group AS
SELECT * FROM pg_catalog.pg_group WHERE groname NOT IN (SELECT role_name FROM rsemu.rbac_roles);
CREATE OR REPLACE VIEW rsemu.svv_roles AS
SELECT r.oid::int AS role_id, r.rolname::varchar(128) AS role_name, NULL::varchar(128) AS role_owner, NULL::varchar(128) AS external_id
FROM pg_roles r JOIN rsemu.rbac_roles x ON x.role_name = r.rolname;
CREATE OR REPLACE VIEW rsemu.svv_user_grants AS
SELECT u.oid::int AS user_id, u.rolname::varchar(128) AS user_name, g.oid::int AS role_id, g.rolname::varchar(128) AS role_name, m.admin_option
FROM pg_auth_members m JOIN pg_roles u ON u.oid = m.member JOIN pg_roles g ON g.oid = m.roleid
WHERE u.rolcanlogin AND g.rolname IN (SELECT role_name FROM rsemu.rbac_roles);
CREATE OR REPLACE VIEW rsemu.svv_role_grants AS
SELECT r.oid::int AS role_id, r.rolname::varchar(128) AS role_name, g.oid::int AS granted_role_id, g.rolname::varchar(128) AS granted_role_name, m.admin_option
FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member JOIN pg_roles g ON g.oid = m.roleid
WHERE r.rolname IN (SELECT role_name FROM rsemu.rbac_roles) AND g.rolname IN (SELECT role_name FROM rsemu.rbac_roles);

CREATE OR REPLACE VIEW rsemu.svv_datashares AS
SELECT share_name::varchar(128), 1 AS share_id, 1 AS share_owner, current_database()::varchar(128) AS source_database,
  NULL::varchar(128) AS consumer_database, 'OUTBOUND'::varchar(8) AS share_type, NULL::timestamp AS createdate,
  is_publicaccessible, NULL::varchar(256) AS share_acl, '${EMULATED_ACCOUNT}'::varchar(16) AS producer_account,
  '${EMULATED_NAMESPACE}'::varchar(64) AS producer_namespace, NULL::varchar(64) AS managed_by
FROM rsemu.datashares;

CREATE OR REPLACE VIEW rsemu.svv_datashare_objects AS
SELECT 'OUTBOUND'::varchar(8) AS share_type, share_name::varchar(128), object_type::varchar(64), object_name::varchar(512),
  '${EMULATED_ACCOUNT}'::varchar(16) AS producer_account, '${EMULATED_NAMESPACE}'::varchar(64) AS producer_namespace,
  CASE WHEN object_type = 'schema' THEN include_new END AS include_new
FROM rsemu.datashare_objects;

CREATE OR REPLACE VIEW rsemu.svv_datashare_consumers AS
SELECT share_name::varchar(128), consumer_account::varchar(16), consumer_namespace::varchar(64), share_date
FROM rsemu.datashare_consumers;
`;

/** Where a statement arrives: inside a BatchExecuteStatement (one transaction block) or alone. */
export interface RewriteContext {
  inBatch: boolean;
}

export interface RedshiftEmulator {
  /** Plug into startFakeDataApi({ rewrite }). */
  rewrite(sql: string, ctx?: RewriteContext): string;
  /** Account consumers granted through SQL, by share: what the control plane would know about. */
  grants: Map<string, Set<string>>;
}

// ---- CONVERT_TIMEZONE (bucket exports partition by a period in a time zone) ----------------
// https://docs.aws.amazon.com/redshift/latest/dg/CONVERT_TIMEZONE.html: CONVERT_TIMEZONE(
// ['source_timezone',] 'target_timezone', 'timestamp') returns a TIMESTAMP; the source
// defaults to UTC; IANA names follow daylight saving time.
const CONVERT_TIMEZONE_SETUP = `
CREATE OR REPLACE FUNCTION rsemu.convert_timezone(src text, tgt text, ts timestamp) RETURNS timestamp
  LANGUAGE sql IMMUTABLE AS $$ SELECT (ts AT TIME ZONE src) AT TIME ZONE tgt $$;
CREATE OR REPLACE FUNCTION rsemu.convert_timezone(tgt text, ts timestamptz) RETURNS timestamp
  LANGUAGE sql IMMUTABLE AS $$ SELECT ts AT TIME ZONE tgt $$;
`;

/** Installs the views and bookkeeping into the database `db` is connected to, and sets its search_path. */
export async function installRedshiftEmulator(db: pg.Client): Promise<RedshiftEmulator> {
  await db.query(SETUP);
  await db.query(CONVERT_TIMEZONE_SETUP);
  await db.query(STRICT_SETUP);
  // rsemu before pg_catalog, so its pg_group shadows the catalog's.
  await db.query('SET search_path = rsemu, pg_catalog, public');
  // Redshift reads a backslash in '…' as an escape (PostgreSQL before standard strings).
  await db.query('SET standard_conforming_strings = off; SET escape_string_warning = off');
  const grants = new Map<string, Set<string>>();
  return { rewrite: (sql, ctx) => strictRewrite(sql, (s) => rewrite(s, grants, ctx)), grants };
}

const ID = '"((?:[^"]|"")*)"';
const unq = (s: string) => s.replace(/""/g, '"');
const qid = (s: string) => `"${s.replace(/"/g, '""')}"`;
const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
const idents = (list: string) => [...list.matchAll(new RegExp(ID, 'g'))].map((m) => unq(m[1]!));

function metaUpsert(schema: string, table: string, set: Record<string, string>): string {
  const cols = Object.keys(set);
  return (
    `INSERT INTO rsemu.table_meta (schema_name, table_name, diststyle, distkey, sorttype, sortcols) VALUES (${lit(schema)}, ${lit(table)}, 'auto', NULL, 'auto', '{}') ON CONFLICT (schema_name, table_name) DO NOTHING; ` +
    `UPDATE rsemu.table_meta SET ${cols.map((c) => `${c} = ${set[c]}`).join(', ')} WHERE schema_name = ${lit(schema)} AND table_name = ${lit(table)}`
  );
}

function encodeUpsert(schema: string, table: string, column: string, enc: string): string {
  return `INSERT INTO rsemu.column_encode VALUES (${lit(schema)}, ${lit(table)}, ${lit(column)}, ${lit(enc.toLowerCase())}) ON CONFLICT (schema_name, table_name, column_name) DO UPDATE SET encoding = EXCLUDED.encoding`;
}

const sortArray = (cols: string[]) => `ARRAY[${cols.map(lit).join(', ')}]::text[]`;

// ---- statements Redshift refuses inside a transaction block -------------------------------
// A BatchExecuteStatement runs its statements as one transaction, so these fail there, as on
// a cluster, and run only when submitted alone (ExecuteStatement). From the SQL reference:
// ALTER TABLE ... ALTER COLUMN ... TYPE, https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE.html;
// ALTER TABLE ... APPEND, https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE_APPEND.html;
// CREATE DATABASE, https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_DATABASE.html;
// DROP DATABASE, https://docs.aws.amazon.com/redshift/latest/dg/r_DROP_DATABASE.html;
// VACUUM, https://docs.aws.amazon.com/redshift/latest/dg/r_VACUUM_command.html;
// CREATE EXTERNAL TABLE, https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_EXTERNAL_TABLE.html;
// ALTER DATASHARE ... SET PUBLICACCESSIBLE, https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_DATASHARE.html
// (reported to fail in a transaction block).
const NOT_IN_TRANSACTION_BLOCK: readonly [RegExp, string][] = [
  [/^ALTER TABLE\s.*\sALTER\s+COLUMN\s.*\sTYPE\s/is, 'ALTER TABLE ALTER COLUMN'],
  [/^ALTER TABLE\s.*\sAPPEND\s+FROM\s/is, 'ALTER TABLE APPEND'],
  [/^CREATE\s+DATABASE\s/i, 'CREATE DATABASE'],
  [/^DROP\s+DATABASE\s/i, 'DROP DATABASE'],
  [/^VACUUM\b/i, 'VACUUM'],
  [/^CREATE\s+EXTERNAL\s+TABLE\s/i, 'CREATE EXTERNAL TABLE'],
  [/^ALTER\s+DATASHARE\s.*\sSET\s+PUBLICACCESSIBLE\b/is, 'ALTER DATASHARE SET PUBLICACCESSIBLE'],
];

/** Throws as Redshift answers when `sql` may not run inside a transaction block and arrives in one. */
export function refuseInTransactionBlock(sql: string, ctx: RewriteContext | undefined): void {
  if (!ctx?.inBatch) return;
  const hit = NOT_IN_TRANSACTION_BLOCK.find(([re]) => re.test(sql.trim()));
  if (hit) throw new Error(`${hit[1]} cannot run inside a transaction block`);
}

// ---- DISTKEY columns must exist ------------------------------------------------------------

/** SQL that fails unless `column` is a column of the table, as a DISTKEY naming another does. */
function distkeyMustExist(schema: string, table: string, column: string): string {
  return `DO $wharf_distkey$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ${lit(schema)} AND c.relname = ${lit(table)} AND a.attname = ${lit(column)} AND a.attnum > 0 AND NOT a.attisdropped) THEN RAISE EXCEPTION 'column "%" named in DISTKEY does not exist', ${lit(column)}; END IF; END $wharf_distkey$`;
}

// ---- default privileges in a schema need CREATE on it --------------------------------------
// https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_DEFAULT_PRIVILEGES.html (IN SCHEMA):
// the user that is the target of ALTER DEFAULT PRIVILEGES must have CREATE privilege for the
// schema. PostgreSQL does not ask, so the emulator checks first.

/** SQL that fails unless the FOR USER of an `ALTER DEFAULT PRIVILEGES … IN SCHEMA` holds CREATE there, or null. */
function defaultPrivilegesNeedCreate(sql: string): string | null {
  const m = new RegExp(`^ALTER DEFAULT PRIVILEGES FOR USER ${ID} IN SCHEMA ${ID} `).exec(sql);
  if (!m) return null;
  const [user, schema] = [unq(m[1]!), unq(m[2]!)];
  return `DO $wharf_defacl$ BEGIN IF NOT has_schema_privilege(${lit(user)}, ${lit(schema)}, 'CREATE') THEN RAISE EXCEPTION 'user "%" must have CREATE privilege for schema "%"', ${lit(user)}, ${lit(schema)}; END IF; END $wharf_defacl$`;
}

export function rewrite(sql: string, grants: Map<string, Set<string>>, ctx?: RewriteContext): string {
  refuseInTransactionBlock(sql, ctx);
  const needCreate = defaultPrivilegesNeedCreate(sql);
  if (needCreate) return `${needCreate}; ${rewriteStatement(sql, grants)}`;
  return rewriteStatement(sql, grants);
}

function rewriteStatement(sql: string, grants: Map<string, Set<string>>): string {
  let m: RegExpExecArray | null;
  let s = sql
    .replace(/\bcurrent_namespace\b/g, `${lit(EMULATED_NAMESPACE)}::text`)
    .replace(/\bversion\(\)/g, lit(VERSION));

  // CREATE TABLE with Redshift attributes.
  m = new RegExp(`^CREATE TABLE ${ID}\\.${ID} \\(\\n([\\s\\S]*)\\n\\)((?:\\n.*)*)$`).exec(s);
  if (m) {
    const [schema, table] = [unq(m[1]!), unq(m[2]!)];
    const out: string[] = [];
    const encodes: string[] = [];
    const body = m[3]!
      .split('\n')
      .map((line) => {
        const e = / ENCODE (\w+)/.exec(line);
        const col = new RegExp(`^\\s*${ID}`).exec(line);
        if (e && col) encodes.push(encodeUpsert(schema, table, unq(col[1]!), e[1]!));
        return line.replace(/ ENCODE \w+/, '');
      })
      .join('\n');
    const attrs = m[4] ?? '';
    let dist = 'auto';
    let distkey = 'NULL';
    let sorttype = 'auto';
    let sortcols: string[] = [];
    const ds = /DISTSTYLE (\w+)/.exec(attrs);
    if (ds) dist = ds[1]!.toLowerCase();
    const dk = new RegExp(`DISTKEY \\(${ID}\\)`).exec(attrs);
    if (dk) {
      const declared = body.split('\n').map((line) => new RegExp(`^\\s*${ID} `).exec(line)?.[1]);
      if (!declared.some((c) => c !== undefined && unq(c) === unq(dk[1]!)))
        throw new Error(`column "${unq(dk[1]!)}" named in DISTKEY does not exist`);
      distkey = lit(unq(dk[1]!));
    }
    const sk = /(COMPOUND|INTERLEAVED) SORTKEY \(([^)]*)\)/.exec(attrs);
    if (sk) {
      sorttype = sk[1]!.toLowerCase();
      sortcols = idents(sk[2]!);
    }
    out.push(`CREATE TABLE ${qid(schema)}.${qid(table)} (\n${body}\n)`);
    out.push(
      `DELETE FROM rsemu.column_encode WHERE schema_name = ${lit(schema)} AND table_name = ${lit(table)}`,
    );
    out.push(
      metaUpsert(schema, table, {
        diststyle: lit(dist),
        distkey,
        sorttype: lit(sorttype),
        sortcols: sortArray(sortcols),
      }),
    );
    out.push(...encodes);
    return out.join(';\n');
  }

  // ALTER TABLE ... ALTER DISTSTYLE / DISTKEY / SORTKEY / COLUMN ENCODE, ADD COLUMN ... ENCODE.
  const alter = new RegExp(`^ALTER TABLE ${ID}\\.${ID} (.*)$`, 's').exec(s);
  if (alter) {
    const [schema, table, rest] = [unq(alter[1]!), unq(alter[2]!), alter[3]!];
    // The ALTER forms name the column without parentheses (ALTER TABLE reference); a
    // parenthesized one is left to PostgreSQL, which refuses it.
    m = new RegExp(`^ALTER (?:DISTSTYLE KEY )?DISTKEY ${ID}$`).exec(rest);
    if (m)
      return `${distkeyMustExist(schema, table, unq(m[1]!))}; ${metaUpsert(schema, table, { diststyle: "'key'", distkey: lit(unq(m[1]!)) })}`;
    m = /^ALTER DISTSTYLE (EVEN|ALL|AUTO)$/.exec(rest);
    if (m) return metaUpsert(schema, table, { diststyle: lit(m[1]!.toLowerCase()), distkey: 'NULL' });
    m = /^ALTER (?:COMPOUND )?SORTKEY \(([^)]*)\)$/.exec(rest);
    if (m) return metaUpsert(schema, table, { sorttype: "'compound'", sortcols: sortArray(idents(m[1]!)) });
    if (/^ALTER SORTKEY (AUTO|NONE)$/.test(rest))
      return metaUpsert(schema, table, { sorttype: "'auto'", sortcols: "'{}'" });
    m = new RegExp(`^ALTER COLUMN ${ID} ENCODE (\\w+)$`).exec(rest);
    if (m) return encodeUpsert(schema, table, unq(m[1]!), m[2]!);
    m = new RegExp(`^ADD COLUMN ${ID} (.*) ENCODE (\\w+)(.*)$`).exec(rest);
    if (m)
      return `ALTER TABLE ${qid(schema)}.${qid(table)} ADD COLUMN ${qid(unq(m[1]!))} ${m[2]}${m[4]}; ${encodeUpsert(schema, table, unq(m[1]!), m[3]!)}`;
    return s;
  }

  m = new RegExp(`^CREATE USER ${ID} PASSWORD DISABLE$`).exec(s);
  if (m) return `CREATE USER ${qid(unq(m[1]!))}`;

  // RBAC roles: NOLOGIN roles recorded in rsemu.rbac_roles; ROLE before a grantee is dropped.
  m = new RegExp(`^CREATE ROLE ${ID}$`).exec(s);
  if (m)
    return `CREATE ROLE ${qid(unq(m[1]!))} NOLOGIN; INSERT INTO rsemu.rbac_roles VALUES (${lit(unq(m[1]!))})`;
  m = new RegExp(`^DROP ROLE ${ID}$`).exec(s);
  if (m)
    return `DROP ROLE ${qid(unq(m[1]!))}; DELETE FROM rsemu.rbac_roles WHERE role_name = ${lit(unq(m[1]!))}`;
  if (/^(GRANT|REVOKE|ALTER DEFAULT PRIVILEGES) /.test(s) && !/ ON DATASHARE /.test(s))
    s = s.replace(/^(GRANT|REVOKE) ROLE /, '$1 ').replace(/ (TO|FROM) ROLE "/g, ' $1 "');

  // Datashares.
  m = new RegExp(`^CREATE DATASHARE ${ID}(?: SET PUBLICACCESSIBLE = (TRUE|FALSE))?$`).exec(s);
  if (m) return `INSERT INTO rsemu.datashares VALUES (${lit(unq(m[1]!))}, ${m[2] === 'TRUE'})`;
  m = new RegExp(`^DROP DATASHARE ${ID}$`).exec(s);
  if (m) {
    const n = lit(unq(m[1]!));
    grants.delete(unq(m[1]!));
    return `DELETE FROM rsemu.datashare_objects WHERE share_name = ${n}; DELETE FROM rsemu.datashare_consumers WHERE share_name = ${n}; DELETE FROM rsemu.datashares WHERE share_name = ${n}`;
  }
  const ds = new RegExp(`^ALTER DATASHARE ${ID} (.*)$`, 's').exec(s);
  if (ds) {
    const n = lit(unq(ds[1]!));
    const rest = ds[2]!;
    const exists = `SELECT 1/(SELECT count(*)::int FROM rsemu.datashares WHERE share_name = ${n})`;
    m = /^ADD SCHEMA (.*)$/.exec(rest);
    if (m)
      return `${exists}; INSERT INTO rsemu.datashare_objects (share_name, object_type, object_name) SELECT ${n}, 'schema', s FROM unnest(ARRAY[${idents(m[1]!).map(lit).join(', ')}]) s JOIN pg_namespace ns ON ns.nspname = s`;
    m = /^ADD TABLE (.*)$/.exec(rest);
    if (m) {
      const names = [...m[1]!.matchAll(new RegExp(`${ID}\\.${ID}`, 'g'))].map(
        (x) => `${unq(x[1]!)}.${unq(x[2]!)}`,
      );
      return `${exists}; INSERT INTO rsemu.datashare_objects (share_name, object_type, object_name) SELECT ${n}, 'table', t FROM unnest(ARRAY[${names.map(lit).join(', ')}]) t`;
    }
    m = new RegExp(`^ADD ALL TABLES IN SCHEMA ${ID}$`).exec(rest);
    if (m)
      return `INSERT INTO rsemu.datashare_objects (share_name, object_type, object_name) SELECT ${n}, 'table', schemaname || '.' || tablename FROM pg_tables WHERE schemaname = ${lit(unq(m[1]!))} ON CONFLICT DO NOTHING`;
    m = /^REMOVE TABLE (.*)$/.exec(rest);
    if (m) {
      const names = [...m[1]!.matchAll(new RegExp(`${ID}\\.${ID}`, 'g'))].map(
        (x) => `${unq(x[1]!)}.${unq(x[2]!)}`,
      );
      return `DELETE FROM rsemu.datashare_objects WHERE share_name = ${n} AND object_type = 'table' AND object_name IN (${names.map(lit).join(', ')})`;
    }
    m = /^REMOVE SCHEMA (.*)$/.exec(rest);
    if (m)
      return `DELETE FROM rsemu.datashare_objects WHERE share_name = ${n} AND object_type = 'schema' AND object_name IN (${idents(m[1]!).map(lit).join(', ')})`;
    m = new RegExp(`^SET INCLUDENEW = (TRUE|FALSE) FOR SCHEMA ${ID}$`).exec(rest);
    if (m)
      return `UPDATE rsemu.datashare_objects SET include_new = ${m[1]} WHERE share_name = ${n} AND object_type = 'schema' AND object_name = ${lit(unq(m[2]!))}`;
    m = /^SET PUBLICACCESSIBLE = (TRUE|FALSE)$/.exec(rest);
    if (m) return `UPDATE rsemu.datashares SET is_publicaccessible = ${m[1]} WHERE share_name = ${n}`;
    throw new Error(`redshift emulator: unsupported ALTER DATASHARE: ${s}`);
  }
  m = new RegExp(
    `^GRANT USAGE ON DATASHARE ${ID} TO (ACCOUNT|NAMESPACE) '([^']*)'( VIA DATA CATALOG)?$`,
  ).exec(s);
  if (m) {
    const share = unq(m[1]!);
    const isAccount = m[2] === 'ACCOUNT';
    if (isAccount)
      grants.set(share, (grants.get(share) ?? new Set()).add(m[4] ? `DataCatalog/${m[3]}` : m[3]!));
    return `INSERT INTO rsemu.datashare_consumers (share_name, consumer_account, consumer_namespace) VALUES (${lit(share)}, ${lit(isAccount ? m[3]! : '')}, ${lit(isAccount ? '' : m[3]!)})`;
  }
  m = new RegExp(`^REVOKE USAGE ON DATASHARE ${ID} FROM (ACCOUNT|NAMESPACE) '([^']*)'$`).exec(s);
  if (m) {
    const share = unq(m[1]!);
    const col = m[2] === 'ACCOUNT' ? 'consumer_account' : 'consumer_namespace';
    grants.get(share)?.delete(m[3]!);
    grants.get(share)?.delete(`DataCatalog/${m[3]}`);
    return `DELETE FROM rsemu.datashare_consumers WHERE share_name = ${lit(share)} AND ${col} = ${lit(m[3]!)}`;
  }
  return s;
}

// ---- Redshift's rules, enforced --------------------------------------------------------------
//
// What a real cluster refuses or rewrites, so that wharf's SQL is checked against Redshift
// rather than against what PostgreSQL happens to accept. Each rule cites the reference page.
// `strictRewrite` runs before `rewrite`: it maps type names to what Redshift stores, and puts
// guard statements in front of the ones Redshift would refuse; a guard raises the error.
//
// - Types read back as Redshift reports them
//   (https://docs.aws.amazon.com/redshift/latest/dg/c_Supported_data_types.html):
//   TEXT and VARCHAR without a length are VARCHAR(256), VARCHAR(MAX) is VARCHAR(65535),
//   DECIMAL/NUMERIC without precision are NUMERIC(18,0), CHAR without a length is CHAR(1),
//   BPCHAR is CHAR(256), NCHAR/NVARCHAR are CHAR/VARCHAR.
// - ALTER TABLE limits (https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE.html):
//   ALTER COLUMN ... TYPE refuses BYTEDICT, RUNLENGTH, TEXT255 and TEXT32K columns, columns
//   with a default and key columns (primary key, UNIQUE, foreign key per the reference;
//   distribution and sort key columns are reported to fail with "found unexpected dependency
//   for column"); ALTER COLUMN ... ENCODE, ALTER DISTSTYLE, ALTER DISTKEY and ALTER ENCODE AUTO
//   are refused on a table with an interleaved sort key; ALTER COLUMN ... ENCODE to the
//   encoding the column has is refused; ADD COLUMN ... NOT NULL needs a DEFAULT.
// - ALTER DATASHARE ... ADD TABLE needs the table to exist and its schema to be in the share
//   (https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_DATASHARE.html).
// - A session that is not a superuser (`emulateSuperuser(db, false)`): PG_USER.usesuper is
//   false for it, and SVV_TABLE_INFO, visible to superusers only, shows it nothing
//   (https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_TABLE_INFO.html).
// - SVV_TABLE_INFO has no row for an empty table, and reports AUTO distribution and sort
//   keys as automatic table optimization left them (`AUTO(KEY(col))`, `AUTO(SORTKEY(col))`);
//   `simulateAutomaticTableOptimization` makes that choice for a table.

const TYPE_LOCKING = ['bytedict', 'runlength', 'text255', 'text32k'];

const STRICT_SETUP = `
CREATE TABLE IF NOT EXISTS rsemu.session (superuser boolean NOT NULL);
DO $$ DECLARE cols text; BEGIN
  SELECT string_agg(CASE WHEN attname = 'usesuper'
      THEN 'CASE WHEN u.usename = current_user THEN coalesce((SELECT superuser FROM rsemu.session LIMIT 1), u.usesuper) ELSE u.usesuper END AS usesuper'
      ELSE 'u.' || quote_ident(attname) END, ', ' ORDER BY attnum)
    INTO cols FROM pg_attribute WHERE attrelid = 'pg_catalog.pg_user'::regclass AND attnum > 0 AND NOT attisdropped;
  EXECUTE 'CREATE OR REPLACE VIEW rsemu.pg_user AS SELECT ' || cols || ' FROM pg_catalog.pg_user u';
END $$;
CREATE OR REPLACE FUNCTION rsemu.row_count(rel oid) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE n bigint; BEGIN EXECUTE format('SELECT count(*) FROM %s', rel::regclass) INTO n; RETURN n; END $$;
CREATE OR REPLACE VIEW rsemu.svv_table_info AS
SELECT current_database()::text AS database, n.nspname::text AS schema, c.oid AS table_id, c.relname::text AS "table",
  CASE coalesce(m.diststyle, 'auto') WHEN 'even' THEN 'EVEN' WHEN 'all' THEN 'ALL' WHEN 'key' THEN 'KEY(' || m.distkey || ')'
    ELSE CASE WHEN m.ato_distkey IS NOT NULL THEN 'AUTO(KEY(' || m.ato_distkey || '))' ELSE 'AUTO(ALL)' END END::text AS diststyle,
  CASE WHEN coalesce(m.sorttype, 'auto') = 'auto'
    THEN CASE WHEN cardinality(m.ato_sortcols) > 0 THEN 'AUTO(SORTKEY(' || m.ato_sortcols[1] || '))' ELSE 'AUTO(SORTKEY)' END
    WHEN cardinality(m.sortcols) > 0 THEN m.sortcols[1] END::text AS sortkey1,
  coalesce(cardinality(CASE WHEN m.sorttype = 'auto' THEN m.ato_sortcols ELSE m.sortcols END), 0)::int AS sortkey_num,
  rsemu.row_count(c.oid)::numeric(38,0) AS tbl_rows
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN rsemu.table_meta m ON m.schema_name = n.nspname AND m.table_name = c.relname
WHERE c.relkind = 'r' AND n.nspname NOT IN ('information_schema', 'rsemu') AND LEFT(n.nspname, 3) <> 'pg_'
  AND (SELECT usesuper FROM rsemu.pg_user WHERE usename = current_user)
  AND rsemu.row_count(c.oid) > 0;

CREATE OR REPLACE FUNCTION rsemu.fail(msg text, code text DEFAULT '0A000') RETURNS void LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '%', msg USING ERRCODE = code; END $$;
CREATE OR REPLACE FUNCTION rsemu.check_alter_column_type(s text, t text, col text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r record; BEGIN
  SELECT * INTO r FROM rsemu.svv_redshift_columns WHERE schema_name = s AND table_name = t AND column_name = col;
  IF NOT FOUND THEN RETURN; END IF; -- PostgreSQL reports the missing column itself
  IF r.encoding IN (${TYPE_LOCKING.map((e) => `'${e}'`).join(', ')}) THEN
    PERFORM rsemu.fail(format('ALTER COLUMN TYPE is not supported for column "%s" with %s encoding', col, upper(r.encoding)));
  END IF;
  IF r.column_default IS NOT NULL THEN
    PERFORM rsemu.fail(format('ALTER COLUMN TYPE is not supported for column "%s" with a default value', col));
  END IF;
  IF r.distkey OR r.sortkey <> 0 THEN PERFORM rsemu.fail('found unexpected dependency for column', 'XX000'); END IF;
  IF EXISTS (SELECT 1 FROM pg_constraint k JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey)
             WHERE k.conrelid = format('%I.%I', s, t)::regclass AND a.attname = col AND k.contype IN ('p', 'u', 'f')) THEN
    PERFORM rsemu.fail(format('ALTER COLUMN TYPE is not supported for column "%s" with a UNIQUE, PRIMARY KEY or FOREIGN KEY constraint', col));
  END IF;
END $$;
CREATE OR REPLACE FUNCTION rsemu.check_not_interleaved(s text, t text, what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM rsemu.table_meta WHERE schema_name = s AND table_name = t AND sorttype = 'interleaved') THEN
    PERFORM rsemu.fail(format('%s is not supported for tables with an interleaved sort key', what));
  END IF;
END $$;
CREATE OR REPLACE FUNCTION rsemu.check_encode_differs(s text, t text, col text, enc text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM rsemu.svv_redshift_columns WHERE schema_name = s AND table_name = t AND column_name = col AND encoding = lower(enc)) THEN
    PERFORM rsemu.fail(format('column "%s" already has encoding %s', col, upper(enc)));
  END IF;
END $$;
CREATE OR REPLACE FUNCTION rsemu.check_datashare_table(share text, s text, t text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF to_regclass(format('%I.%I', s, t)) IS NULL THEN
    PERFORM rsemu.fail(format('relation "%s.%s" does not exist', s, t), '42P01');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM rsemu.datashare_objects WHERE share_name = share AND object_type = 'schema' AND object_name = s) THEN
    PERFORM rsemu.fail(format('schema "%s" is not added to datashare "%s": add the schema before its tables', s, share));
  END IF;
END $$;
`;

/** What Redshift stores for a type name (lower case): its defaults fill what is left out. */
export function redshiftStoredType(raw: string): string {
  const t = raw.trim().toLowerCase().replace(/\s+/g, ' ');
  if (/^(text|varchar|character varying|nvarchar)$/.test(t)) return 'character varying(256)';
  if (/^(varchar|character varying|nvarchar)\s*\(\s*max\s*\)$/.test(t)) return 'character varying(65535)';
  let m = /^(?:nvarchar|varchar|character varying)\s*\(\s*(\d+)\s*\)$/.exec(t);
  if (m) return `character varying(${m[1]})`;
  if (/^(numeric|decimal)$/.test(t)) return 'numeric(18,0)';
  if (/^(char|character|nchar)$/.test(t)) return 'character(1)';
  if (t === 'bpchar') return 'character(256)';
  if (/^(char|character|nchar)\s*\(\s*max\s*\)$/.test(t)) return 'character(4096)';
  m = /^(?:nchar|char|character)\s*\(\s*(\d+)\s*\)$/.exec(t);
  if (m) return `character(${m[1]})`;
  return raw;
}

/** `"col" TYPE [DEFAULT …] [ENCODE …] [NOT NULL]` with the type as Redshift stores it. */
function storedColumnDef(def: string): string {
  const m = new RegExp(`^(\\s*${ID}\\s+)(.+?)(\\s+(?:DEFAULT|ENCODE|NOT NULL|NULL)\\b.*|,?)$`, 's').exec(def);
  return m ? `${m[1]}${redshiftStoredType(m[3]!)}${m[4]}` : def;
}

/** Redshift's rules on one statement, then `next` (the rewriter). */
export function strictRewrite(sql: string, next: (sql: string) => string): string {
  const guards: string[] = [];
  let s = sql;
  let m = new RegExp(`^(CREATE TABLE ${ID}\\.${ID} \\(\\n)([\\s\\S]*?)(\\n\\)(?:\\n.*)*)$`).exec(s);
  if (m) s = `${m[1]}${m[4]!.split('\n').map(storedColumnDef).join('\n')}${m[5]}`;
  const alter = new RegExp(`^ALTER TABLE ${ID}\\.${ID} (.*)$`, 's').exec(s);
  if (alter) {
    const [schema, table, rest] = [unq(alter[1]!), unq(alter[2]!), alter[3]!];
    const at = `${lit(schema)}, ${lit(table)}`;
    m = new RegExp(`^ALTER COLUMN (${ID}) TYPE (.+)$`, 's').exec(rest);
    if (m) {
      guards.push(`SELECT rsemu.check_alter_column_type(${at}, ${lit(unq(m[2]!))})`);
      s = `ALTER TABLE ${qid(schema)}.${qid(table)} ALTER COLUMN ${m[1]} TYPE ${redshiftStoredType(m[3]!)}`;
    }
    m = new RegExp(`^ALTER COLUMN ${ID} ENCODE (\\w+)$`).exec(rest);
    if (m) {
      guards.push(`SELECT rsemu.check_not_interleaved(${at}, 'ALTER COLUMN ENCODE')`);
      guards.push(`SELECT rsemu.check_encode_differs(${at}, ${lit(unq(m[1]!))}, ${lit(m[2]!)})`);
    }
    m = /^ALTER (DISTSTYLE|DISTKEY|ENCODE AUTO)\b/.exec(rest);
    if (m) guards.push(`SELECT rsemu.check_not_interleaved(${at}, ${lit(`ALTER ${m[1]}`)})`);
    m = new RegExp(`^ADD COLUMN (${ID}.*)$`, 's').exec(rest);
    if (m) {
      if (/\bNOT NULL\b/.test(m[1]!) && !/\bDEFAULT\b/.test(m[1]!))
        guards.push(
          `SELECT rsemu.fail('ALTER TABLE ADD COLUMN defined as NOT NULL must have a non-null default expression')`,
        );
      s = `ALTER TABLE ${qid(schema)}.${qid(table)} ADD COLUMN ${storedColumnDef(m[1]!)}`;
    }
  }
  const share = new RegExp(`^ALTER DATASHARE ${ID} ADD TABLE (.*)$`, 's').exec(s);
  if (share)
    for (const x of share[2]!.matchAll(new RegExp(`${ID}\\.${ID}`, 'g')))
      guards.push(
        `SELECT rsemu.check_datashare_table(${lit(unq(share[1]!))}, ${lit(unq(x[1]!))}, ${lit(unq(x[2]!))})`,
      );
  const out = next(s);
  return guards.length > 0 ? `${guards.join('; ')}; ${out}` : out;
}

/** Makes the session user a superuser or not, as PG_USER and the superuser-only views see it. */
export async function emulateSuperuser(db: pg.Client, superuser: boolean): Promise<void> {
  await db.query(`DELETE FROM rsemu.session; INSERT INTO rsemu.session VALUES (${superuser})`);
}

/**
 * What automatic table optimization would do to a DISTSTYLE AUTO / SORTKEY AUTO table: pick a
 * distribution key (AUTO(KEY(col))) and sort key columns (AUTO(SORTKEY(col))).
 */
export async function simulateAutomaticTableOptimization(
  db: pg.Client,
  schema: string,
  table: string,
  choice: { distkey?: string; sortkey?: string[] },
): Promise<void> {
  await db.query(
    'UPDATE rsemu.table_meta SET ato_distkey = $3, ato_sortcols = $4 WHERE schema_name = $1 AND table_name = $2',
    [schema, table, choice.distkey ?? null, choice.sortkey ?? []],
  );
}
