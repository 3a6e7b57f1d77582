// Plan change -> Redshift statements (and the control-plane calls a datashare needs). Pure: a
// change in, statements out. Follows the AWS Redshift SQL reference: one column per ADD/DROP
// COLUMN statement, ENCODE before NOT NULL, DISTSTYLE/DISTKEY/SORTKEY as table attributes,
// users and groups instead of roles, GROUP before a group grantee. ALTER COLUMN ... TYPE and
// ALTER DATASHARE ... SET PUBLICACCESSIBLE cannot run in a transaction block, so their
// statements are marked non-transactional and the provider submits each alone. Identifiers are always quoted, literals escaped.
import { assertNever } from '../../plan/address.js';
import type {
  ColumnSpec,
  DefaultPrivilegeResource,
  GrantResource,
  Resource,
  RoleResource,
  TableResource,
} from '../../plan/model.js';
import type { Change, FieldChange, Statement } from '../../plan/plan.js';
import { defaultPrivSql, type GrantDialect, grantSql, qualified, updatePrivileges } from '../grant-sql.js';
import { quoteIdent as qi, quoteRedshiftLiteral as ql, quoteQualified as qq } from '../sql-quote.js';
import {
  type ConsumerStatus,
  consumerKey,
  type DatashareConsumer,
  type DatashareResource,
  type Distribution,
  type SortKey,
} from './datashare-model.js';

export interface RedshiftCompileContext {
  /**
   * The producer's namespace ARN (`arn:aws:redshift:<region>:<account>:namespace:<guid>`),
   * from which datashare ARNs are built for AuthorizeDataShare; null when unknown.
   */
  namespaceArn: string | null;
  /**
   * What each known principal is (from the file and the live warehouse), to write membership
   * SQL: a group takes users with ALTER GROUP, an RBAC role is granted with GRANT ROLE.
   * A name not found is taken for a group.
   */
  roleKinds?: ReadonlyMap<string, 'user' | 'group' | 'role'>;
}

const s = (sql: string): Statement => ({ sql });

export function compileRedshift(change: Change, ctx: RedshiftCompileContext): Statement[] {
  const { before, after } = change;
  switch (change.action) {
    case 'create':
      return create(after!, ctx);
    case 'delete':
      return drop(before!);
    case 'replace':
      return [...drop(before!), ...create(after!, ctx)];
    case 'update':
      return update(before!, after!, change.fields, ctx);
    default:
      return assertNever(change.action);
  }
}

const notRedshift = (kind: string) => new Error(`a ${kind} is not a Redshift object`);

function create(r: Resource, ctx: RedshiftCompileContext): Statement[] {
  switch (r.kind) {
    case 'schema':
      return [s(`CREATE SCHEMA ${qi(r.name)}${r.owner ? ` AUTHORIZATION ${qi(r.owner)}` : ''}`)];
    case 'table':
      return createTable(r);
    case 'role':
      return createRole(r, ctx);
    case 'grant':
      return [grantSql(DIALECT, 'GRANT', r, r.privileges)];
    case 'default_privileges':
      return [defaultPrivSql(DIALECT, 'GRANT', r, r.privileges)];
    case 'datashare':
      return createDatashare(r, ctx);
    case 'bucket':
      throw notRedshift(r.kind);
    default:
      return assertNever(r);
  }
}

function drop(r: Resource): Statement[] {
  switch (r.kind) {
    case 'schema':
      return [s(`DROP SCHEMA ${qi(r.name)} RESTRICT`)];
    case 'table':
      return [s(`DROP TABLE ${qq(r.schema, r.name)}`)];
    case 'role':
      return [s(`DROP ${r.login ? 'USER' : r.roleKind === 'role' ? 'ROLE' : 'GROUP'} ${qi(r.name)}`)];
    case 'grant':
      return [grantSql(DIALECT, 'REVOKE', r, r.privileges)];
    case 'default_privileges':
      return [defaultPrivSql(DIALECT, 'REVOKE', r, r.privileges)];
    case 'datashare':
      return [s(`DROP DATASHARE ${qi(r.name)}`)];
    case 'bucket':
      throw notRedshift(r.kind);
    default:
      return assertNever(r);
  }
}

// ---- tables ------------------------------------------------------------------------------

export function columnDef(c: ColumnSpec): string {
  let out = `${qi(c.name)} ${c.type}`;
  if (c.default !== null) out += ` DEFAULT ${c.default}`;
  if (c.encode) out += ` ENCODE ${c.encode.toUpperCase()}`;
  if (!c.nullable) out += ' NOT NULL';
  return out;
}

/** CREATE TABLE's table attributes, where the key column is in parentheses: `DISTKEY ( column_name )`. */
export function distributionSql(d: Distribution): string {
  return d.style === 'key' && d.key
    ? `DISTSTYLE KEY\nDISTKEY (${qi(d.key)})`
    : `DISTSTYLE ${d.style.toUpperCase()}`;
}

/**
 * ALTER TABLE's clause, where the key column has no parentheses: `ALTER DISTKEY column_name`
 * when only the key changes, `ALTER DISTSTYLE KEY DISTKEY column_name` from another style.
 */
export function alterDistributionSql(before: Distribution | null | undefined, after: Distribution): string {
  if (after.style !== 'key' || !after.key) return `ALTER DISTSTYLE ${after.style.toUpperCase()}`;
  return before?.style === 'key'
    ? `ALTER DISTKEY ${qi(after.key)}`
    : `ALTER DISTSTYLE KEY DISTKEY ${qi(after.key)}`;
}

export function sortKeySql(k: SortKey): string {
  if (k.type === 'auto' || k.columns.length === 0) return 'SORTKEY AUTO';
  return `${k.type.toUpperCase()} SORTKEY (${k.columns.map(qi).join(', ')})`;
}

function createTable(t: TableResource): Statement[] {
  const lines = t.columns.map(columnDef);
  if (t.primaryKey) lines.push(`PRIMARY KEY (${t.primaryKey.map(qi).join(', ')})`);
  let sql = `CREATE TABLE ${qq(t.schema, t.name)} (\n  ${lines.join(',\n  ')}\n)`;
  if (t.redshift?.distribution) sql += `\n${distributionSql(t.redshift.distribution)}`;
  if (t.redshift?.sortKey) sql += `\n${sortKeySql(t.redshift.sortKey)}`;
  const out = [s(sql)];
  if (t.owner) out.push(s(`ALTER TABLE ${qq(t.schema, t.name)} OWNER TO ${qi(t.owner)}`));
  if (t.comment !== null) out.push(s(`COMMENT ON TABLE ${qq(t.schema, t.name)} IS ${ql(t.comment)}`));
  return out;
}

function updateTable(before: TableResource, after: TableResource, fields: FieldChange[]): Statement[] {
  const t = qq(after.schema, after.name);
  const out: Statement[] = [];
  // An interleaved sort key is altered first (to compound or none, the only way Redshift
  // alters it): ALTER COLUMN ... ENCODE, ALTER DISTSTYLE and ALTER DISTKEY are refused while
  // it stands.
  const newSortKey = fields.some((f) => f.path === 'sortKey') ? (after.redshift?.sortKey ?? null) : null;
  const fromInterleaved = before.redshift?.sortKey?.type === 'interleaved';
  if (newSortKey && fromInterleaved) out.push(...alterSortKey(t, newSortKey, true));
  const pkChanged = fields.some((f) => f.path === 'primaryKey');
  if (pkChanged && before.primaryKey)
    out.push(
      s(`ALTER TABLE ${t} DROP CONSTRAINT ${qi(before.primaryKeyConstraint ?? `${before.name}_pkey`)}`),
    );
  // Redshift takes one ADD or DROP COLUMN per ALTER TABLE statement. A column is re-encoded
  // before it is widened: ALTER COLUMN ... TYPE refuses BYTEDICT, RUNLENGTH, TEXT255, TEXT32K.
  const widen: Statement[] = [];
  for (const f of fields) {
    const m = /^columns\.([^.]+)(?:\.(type|encode))?$/.exec(f.path);
    if (!m) continue;
    const col = m[1]!;
    if (!m[2]) {
      out.push(
        f.after === null
          ? s(`ALTER TABLE ${t} DROP COLUMN ${qi(col)}`)
          : s(`ALTER TABLE ${t} ADD COLUMN ${columnDef(f.after as ColumnSpec)}`),
      );
      continue;
    }
    const c = after.columns.find((x) => x.name === col)!;
    if (m[2] === 'type')
      widen.push({ sql: `ALTER TABLE ${t} ALTER COLUMN ${qi(col)} TYPE ${c.type}`, transactional: false });
    else if (c.encode)
      out.push(s(`ALTER TABLE ${t} ALTER COLUMN ${qi(col)} ENCODE ${c.encode.toUpperCase()}`));
  }
  out.push(...widen);
  if (pkChanged && after.primaryKey)
    out.push(s(`ALTER TABLE ${t} ADD PRIMARY KEY (${after.primaryKey.map(qi).join(', ')})`));
  for (const f of fields) {
    if (f.path === 'distribution' && after.redshift?.distribution)
      out.push(
        s(
          `ALTER TABLE ${t} ${alterDistributionSql(before.redshift?.distribution, after.redshift.distribution)}`,
        ),
      );
    if (f.path === 'sortKey' && newSortKey && !fromInterleaved)
      out.push(...alterSortKey(t, newSortKey, false));
    if (f.path === 'owner' && after.owner) out.push(s(`ALTER TABLE ${t} OWNER TO ${qi(after.owner)}`));
    if (f.path === 'comment')
      out.push(s(`COMMENT ON TABLE ${t} IS ${after.comment === null ? 'NULL' : ql(after.comment)}`));
  }
  return out;
}

/**
 * ALTER [COMPOUND] SORTKEY (...) or ALTER SORTKEY AUTO. From an interleaved key Redshift alters
 * only to compound or none, so AUTO is reached through NONE (ALTER SORTKEY AUTO adds one).
 */
function alterSortKey(t: string, k: SortKey, fromInterleaved: boolean): Statement[] {
  if (k.type !== 'auto' && k.columns.length > 0) return [s(`ALTER TABLE ${t} ALTER ${sortKeySql(k)}`)];
  const auto = s(`ALTER TABLE ${t} ALTER SORTKEY AUTO`);
  return fromInterleaved ? [s(`ALTER TABLE ${t} ALTER SORTKEY NONE`), auto] : [auto];
}

// ---- users, groups, privileges -----------------------------------------------------------

function membership(
  verb: 'add' | 'drop',
  member: RoleResource,
  target: string,
  ctx: RedshiftCompileContext,
): Statement {
  if (ctx.roleKinds?.get(target) === 'role') {
    const who = member.login ? qi(member.name) : `ROLE ${qi(member.name)}`;
    return s(verb === 'add' ? `GRANT ROLE ${qi(target)} TO ${who}` : `REVOKE ROLE ${qi(target)} FROM ${who}`);
  }
  return s(`ALTER GROUP ${qi(target)} ${verb === 'add' ? 'ADD' : 'DROP'} USER ${qi(member.name)}`);
}

function createRole(r: RoleResource, ctx: RedshiftCompileContext): Statement[] {
  const out: Statement[] = [];
  if (!r.login) out.push(s(`CREATE ${r.roleKind === 'role' ? 'ROLE' : 'GROUP'} ${qi(r.name)}`));
  else
    out.push(
      r.passwordRef
        ? { sql: `CREATE USER ${qi(r.name)} PASSWORD ${r.passwordRef}`, secrets: true }
        : s(`CREATE USER ${qi(r.name)} PASSWORD DISABLE`),
    );
  for (const g of r.memberOf) out.push(membership('add', r, g, ctx));
  return out;
}

function updateRole(before: RoleResource, after: RoleResource, ctx: RedshiftCompileContext): Statement[] {
  // A user cannot become a group (or the reverse): drop and create.
  if (before.login !== after.login) return [...drop(before), ...createRole(after, ctx)];
  const out: Statement[] = [];
  for (const g of before.memberOf)
    if (!after.memberOf.includes(g)) out.push(membership('drop', after, g, ctx));
  for (const g of after.memberOf)
    if (!before.memberOf.includes(g)) out.push(membership('add', after, g, ctx));
  return out;
}

function grantee(r: GrantResource | DefaultPrivilegeResource): string {
  if (r.granteeType === 'group') return `GROUP ${qi(r.grantee)}`;
  return r.granteeType === 'role' ? `ROLE ${qi(r.grantee)}` : qi(r.grantee);
}

/** Redshift names groups and roles with their keyword, and default privileges FOR USER. */
const DIALECT: GrantDialect = { grantee, forWhom: 'USER' };

// ---- datashares --------------------------------------------------------------------------

/** `arn:…:namespace:<guid>` -> `arn:…:datashare:<guid>/<name>`. */
export function datashareArn(namespaceArn: string, name: string): string {
  const m = /^(arn:[^:]+:redshift(?:-serverless)?:[^:]*:\d*):namespace[:/](.+)$/.exec(namespaceArn);
  if (!m) throw new Error(`not a Redshift namespace ARN: ${namespaceArn}`);
  return `${m[1]!.replace(':redshift-serverless:', ':redshift:')}:datashare:${m[2]}/${name}`;
}

/** The consumer as the control plane names it. */
export function consumerIdentifier(c: DatashareConsumer): string {
  return c.viaDataCatalog ? `DataCatalog/${c.id}` : c.id;
}

function consumerClause(c: DatashareConsumer): string {
  return c.type === 'account'
    ? `ACCOUNT ${ql(c.id)}${c.viaDataCatalog ? ' VIA DATA CATALOG' : ''}`
    : `NAMESPACE ${ql(c.id)}`;
}

function apiCall(operation: string, arn: string | null, c: DatashareConsumer, share: string): Statement {
  const id = consumerIdentifier(c);
  if (arn === null) {
    return {
      sql: `${operation} of datashare ${share} for ${id}: the producer namespace ARN is unknown`,
      transactional: false,
      api: { service: 'redshift', operation, input: { DataShareArn: null, ConsumerIdentifier: id } },
    };
  }
  return {
    sql: `${operation} DataShareArn=${arn} ConsumerIdentifier=${id}`,
    transactional: false,
    api: { service: 'redshift', operation, input: { DataShareArn: arn, ConsumerIdentifier: id } },
  };
}

function shareArn(d: DatashareResource, ctx: RedshiftCompileContext): string | null {
  if (d.arn) return d.arn;
  return ctx.namespaceArn ? datashareArn(ctx.namespaceArn, d.name) : null;
}

const AUTHORIZED: readonly ConsumerStatus[] = ['authorized', 'active'];

function addObjects(n: string, schemas: string[], tables: string[]): Statement[] {
  const out: Statement[] = [];
  if (schemas.length) out.push(s(`ALTER DATASHARE ${n} ADD SCHEMA ${schemas.map(qi).join(', ')}`));
  if (tables.length) out.push(s(`ALTER DATASHARE ${n} ADD TABLE ${tables.map(qualified).join(', ')}`));
  return out;
}

function createDatashare(d: DatashareResource, ctx: RedshiftCompileContext): Statement[] {
  const n = qi(d.name);
  const out: Statement[] = [
    s(`CREATE DATASHARE ${n} SET PUBLICACCESSIBLE = ${d.publicAccessible ? 'TRUE' : 'FALSE'}`),
    ...addObjects(n, d.schemas, d.tables),
  ];
  for (const sch of d.includeNew)
    out.push(s(`ALTER DATASHARE ${n} SET INCLUDENEW = TRUE FOR SCHEMA ${qi(sch)}`));
  for (const c of d.consumers) out.push(s(`GRANT USAGE ON DATASHARE ${n} TO ${consumerClause(c)}`));
  const arn = shareArn(d, ctx);
  for (const c of d.consumers)
    if (c.type === 'account') out.push(apiCall('AuthorizeDataShare', arn, c, d.name));
  return out;
}

function updateDatashare(
  before: DatashareResource,
  after: DatashareResource,
  fields: FieldChange[],
  ctx: RedshiftCompileContext,
): Statement[] {
  const n = qi(after.name);
  const arn = shareArn(before, ctx);
  const deauthorize: Statement[] = [];
  const sql: Statement[] = [];
  const api: Statement[] = [];
  const removed = (prefix: string) =>
    fields.filter((f) => f.path.startsWith(prefix) && f.after === null && f.before !== null);
  const added = (prefix: string) =>
    fields.filter((f) => f.path.startsWith(prefix) && f.before === null && f.after !== null);
  // Consumers lose access first, then objects leave, then new objects and consumers arrive.
  for (const f of removed('consumers.')) {
    const c = f.before as DatashareConsumer;
    if (c.type === 'account' && AUTHORIZED.includes(c.status))
      deauthorize.push(apiCall('DeauthorizeDataShare', arn, c, after.name));
    sql.push(s(`REVOKE USAGE ON DATASHARE ${n} FROM ${consumerClause(c)}`));
  }
  const rmTables = removed('tables.').map((f) => String(f.before));
  if (rmTables.length) sql.push(s(`ALTER DATASHARE ${n} REMOVE TABLE ${rmTables.map(qualified).join(', ')}`));
  const rmSchemas = removed('schemas.').map((f) => String(f.before));
  if (rmSchemas.length) sql.push(s(`ALTER DATASHARE ${n} REMOVE SCHEMA ${rmSchemas.map(qi).join(', ')}`));
  sql.push(
    ...addObjects(
      n,
      added('schemas.').map((f) => String(f.after)),
      added('tables.').map((f) => String(f.after)),
    ),
  );
  for (const f of fields) {
    const m = /^includeNew\.(.+)$/.exec(f.path);
    if (m)
      sql.push(
        s(`ALTER DATASHARE ${n} SET INCLUDENEW = ${f.after ? 'TRUE' : 'FALSE'} FOR SCHEMA ${qi(m[1]!)}`),
      );
    // Not allowed in a transaction block: the provider submits it alone (ExecuteStatement).
    if (f.path === 'publicAccessible')
      sql.push({
        sql: `ALTER DATASHARE ${n} SET PUBLICACCESSIBLE = ${f.after ? 'TRUE' : 'FALSE'}`,
        transactional: false,
      });
  }
  const wanted = new Map(after.consumers.map((c) => [consumerKey(c), c]));
  for (const f of added('consumers.')) {
    const c = f.after as DatashareConsumer;
    sql.push(s(`GRANT USAGE ON DATASHARE ${n} TO ${consumerClause(c)}`));
    if (c.type === 'account') api.push(apiCall('AuthorizeDataShare', arn, c, after.name));
  }
  for (const f of fields) {
    const m = /^consumers\.(.+)\.status$/.exec(f.path);
    const c = m ? wanted.get(m[1]!) : undefined;
    if (c?.type === 'account') api.push(apiCall('AuthorizeDataShare', arn, c, after.name));
  }
  // Authorization is withdrawn while the grant still exists; new grants exist before they are authorized.
  return [...deauthorize, ...sql, ...api];
}

function update(
  before: Resource,
  after: Resource,
  fields: FieldChange[],
  ctx: RedshiftCompileContext,
): Statement[] {
  switch (after.kind) {
    case 'schema':
      return after.owner ? [s(`ALTER SCHEMA ${qi(after.name)} OWNER TO ${qi(after.owner)}`)] : [];
    case 'table':
      return updateTable(before as TableResource, after, fields);
    case 'role':
      return updateRole(before as RoleResource, after, ctx);
    case 'grant':
    case 'default_privileges':
      return updatePrivileges(DIALECT, before as GrantResource | DefaultPrivilegeResource, after);
    case 'datashare':
      return updateDatashare(before as DatashareResource, after, fields, ctx);
    case 'bucket':
      throw notRedshift(after.kind);
    default:
      return assertNever(after);
  }
}
