// Plan change -> PostgreSQL statements. Pure: a change in, statements out. Every identifier
// goes through quoteIdent; secrets stay `${env:NAME}` placeholders (see Statement).
import { assertNever } from '../../plan/address.js';
import type {
  ColumnSpec,
  DefaultPrivilegeResource,
  GrantResource,
  PartitionChild,
  Resource,
  RoleResource,
  TableResource,
} from '../../plan/model.js';
import type { Change, FieldChange, Statement } from '../../plan/plan.js';
import { defaultPrivSql, type GrantDialect, grantSql, updatePrivileges } from '../grant-sql.js';
import { quoteIdent as qi, quoteLiteral as ql, quoteQualified as qq } from '../sql-quote.js';
import { compilePublication } from './postgres-publications.js';

/** Comment wharf puts on schemas it creates, so it may drop them once they leave the file. */
export const OWNERSHIP_MARKER = 'managed by wharf';

/**
 * Roles are shared by every database of a server, so their marker names the database whose
 * file created them: a file for another database never claims (and never drops) them.
 */
export function roleMarker(database: string): string {
  return `${OWNERSHIP_MARKER} (database ${database})`;
}

export interface CompileContext {
  /** The database the connection points at. */
  database: string;
}

export function compilePostgres(change: Change, ctx: CompileContext): Statement[] {
  // A datashare is a publication here (postgres-publications.ts).
  if (change.kind === 'datashare') return compilePublication(change);
  const { before, after } = change;
  switch (change.action) {
    case 'create':
      return create(after!, ctx);
    case 'delete':
      return drop(before!);
    case 'replace':
      return [...drop(before!), ...create(after!, ctx)];
    case 'update':
      return update(before!, after!, change.fields);
    default:
      return assertNever(change.action);
  }
}

const s = (sql: string): Statement => ({ sql });

/** A bucket lives on a bucket connection; config rules keep it off a warehouse connection. */
const notSql = (kind: string) => new Error(`a ${kind} is not a PostgreSQL object`);

function create(r: Resource, ctx: CompileContext): Statement[] {
  switch (r.kind) {
    case 'schema':
      return [
        s(`CREATE SCHEMA ${qi(r.name)}${r.owner ? ` AUTHORIZATION ${qi(r.owner)}` : ''}`),
        s(`COMMENT ON SCHEMA ${qi(r.name)} IS ${ql(OWNERSHIP_MARKER)}`),
      ];
    case 'table':
      return createTable(r);
    case 'role':
      return createRole(r, ctx);
    case 'grant':
      return [grantSql(DIALECT, 'GRANT', r, r.privileges)];
    case 'default_privileges':
      return [defaultPrivSql(DIALECT, 'GRANT', r, r.privileges)];
    case 'bucket':
    case 'datashare':
      throw notSql(r.kind);
    default:
      return assertNever(r);
  }
}

function drop(r: Resource): Statement[] {
  switch (r.kind) {
    case 'schema':
      // Tables in it are dropped by their own changes first; RESTRICT refuses anything else.
      return [s(`DROP SCHEMA ${qi(r.name)} RESTRICT`)];
    case 'table':
      return [s(`DROP TABLE ${qq(r.schema, r.name)}`)];
    case 'role':
      return [s(`DROP ROLE ${qi(r.name)}`)];
    case 'grant':
      return [grantSql(DIALECT, 'REVOKE', r, r.privileges)];
    case 'default_privileges':
      return [defaultPrivSql(DIALECT, 'REVOKE', r, r.privileges)];
    case 'bucket':
    case 'datashare':
      throw notSql(r.kind);
    default:
      return assertNever(r);
  }
}

function columnDef(c: ColumnSpec): string {
  let out = `${qi(c.name)} ${c.type}`;
  if (c.default !== null) out += ` DEFAULT ${c.default}`;
  if (!c.nullable) out += ' NOT NULL';
  return out;
}

function createTable(t: TableResource): Statement[] {
  const lines = t.columns.map(columnDef);
  if (t.primaryKey) lines.push(`PRIMARY KEY (${t.primaryKey.map(qi).join(', ')})`);
  let sql = `CREATE TABLE ${qq(t.schema, t.name)} (\n  ${lines.join(',\n  ')}\n)`;
  if (t.partition) sql += ` PARTITION BY RANGE (${qi(t.partition.by)})`;
  const out = [s(sql)];
  if (t.owner) out.push(s(`ALTER TABLE ${qq(t.schema, t.name)} OWNER TO ${qi(t.owner)}`));
  if (t.comment !== null) out.push(s(`COMMENT ON TABLE ${qq(t.schema, t.name)} IS ${ql(t.comment)}`));
  for (const p of t.partition?.partitions ?? []) out.push(createPartition(t, p));
  return out;
}

function createPartition(t: TableResource, p: PartitionChild): Statement {
  return s(
    `CREATE TABLE ${qq(t.schema, p.name)} PARTITION OF ${qq(t.schema, t.name)} FOR VALUES FROM (${ql(p.from)}) TO (${ql(p.to)})`,
  );
}

function createRole(r: RoleResource, ctx: CompileContext): Statement[] {
  const opts = [r.login ? 'LOGIN' : 'NOLOGIN'];
  if (r.passwordRef) opts.push(`PASSWORD ${r.passwordRef}`);
  const out: Statement[] = [
    { sql: `CREATE ROLE ${qi(r.name)} ${opts.join(' ')}`, ...(r.passwordRef ? { secrets: true } : {}) },
  ];
  out.push(s(`COMMENT ON ROLE ${qi(r.name)} IS ${ql(roleMarker(ctx.database))}`));
  for (const g of r.memberOf) out.push(s(`GRANT ${qi(g)} TO ${qi(r.name)}`));
  return out;
}

/** PostgreSQL names grantees as they are, and default privileges FOR ROLE. */
const DIALECT: GrantDialect = { grantee: (r) => qi(r.grantee), forWhom: 'ROLE' };

function update(before: Resource, after: Resource, fields: FieldChange[]): Statement[] {
  switch (after.kind) {
    case 'schema':
      return after.owner ? [s(`ALTER SCHEMA ${qi(after.name)} OWNER TO ${qi(after.owner)}`)] : [];
    case 'table':
      return updateTable(before as TableResource, after, fields);
    case 'role':
      return updateRole(before as RoleResource, after);
    case 'grant':
    case 'default_privileges':
      return updatePrivileges(DIALECT, before as GrantResource | DefaultPrivilegeResource, after);
    case 'bucket':
    case 'datashare':
      throw notSql(after.kind);
    default:
      return assertNever(after);
  }
}

function updateTable(before: TableResource, after: TableResource, fields: FieldChange[]): Statement[] {
  const t = qq(after.schema, after.name);
  const out: Statement[] = [];
  const alters: string[] = [];
  const pkChanged = fields.some((f) => f.path === 'primaryKey');
  if (pkChanged && before.primaryKey)
    out.push(
      s(`ALTER TABLE ${t} DROP CONSTRAINT ${qi(before.primaryKeyConstraint ?? `${before.name}_pkey`)}`),
    );
  for (const f of fields) {
    const m = /^columns\.([^.]+)(?:\.(type|nullable|default))?$/.exec(f.path);
    if (!m) continue;
    const col = m[1]!;
    const attr = m[2];
    if (!attr) {
      if (f.after === null) alters.push(`DROP COLUMN ${qi(col)}`);
      else alters.push(`ADD COLUMN ${columnDef(f.after as ColumnSpec)}`);
      continue;
    }
    const c = after.columns.find((x) => x.name === col)!;
    if (attr === 'type') alters.push(`ALTER COLUMN ${qi(col)} TYPE ${c.type} USING ${qi(col)}::${c.type}`);
    if (attr === 'nullable') alters.push(`ALTER COLUMN ${qi(col)} ${c.nullable ? 'DROP' : 'SET'} NOT NULL`);
    if (attr === 'default')
      alters.push(
        c.default === null
          ? `ALTER COLUMN ${qi(col)} DROP DEFAULT`
          : `ALTER COLUMN ${qi(col)} SET DEFAULT ${c.default}`,
      );
  }
  if (alters.length) out.push(s(`ALTER TABLE ${t}\n  ${alters.join(',\n  ')}`));
  if (pkChanged && after.primaryKey)
    out.push(s(`ALTER TABLE ${t} ADD PRIMARY KEY (${after.primaryKey.map(qi).join(', ')})`));
  for (const f of fields) {
    if (f.path === 'owner' && after.owner) out.push(s(`ALTER TABLE ${t} OWNER TO ${qi(after.owner)}`));
    if (f.path === 'comment')
      out.push(s(`COMMENT ON TABLE ${t} IS ${after.comment === null ? 'NULL' : ql(after.comment)}`));
    if (f.path === 'partition.partitions' && after.partition) {
      const names = new Set(f.after as string[]);
      for (const p of after.partition.partitions) if (names.has(p.name)) out.push(createPartition(after, p));
    }
  }
  return out;
}

function updateRole(before: RoleResource, after: RoleResource): Statement[] {
  const out: Statement[] = [];
  if (before.login !== after.login)
    out.push(s(`ALTER ROLE ${qi(after.name)} ${after.login ? 'LOGIN' : 'NOLOGIN'}`));
  for (const g of before.memberOf)
    if (!after.memberOf.includes(g)) out.push(s(`REVOKE ${qi(g)} FROM ${qi(after.name)}`));
  for (const g of after.memberOf)
    if (!before.memberOf.includes(g)) out.push(s(`GRANT ${qi(g)} TO ${qi(after.name)}`));
  return out;
}
