// The privilege statements PostgreSQL and Redshift write alike, shared by both SQL compilers:
// GRANT/REVOKE on a schema or table, ALTER DEFAULT PRIVILEGES … ON TABLES, and the REVOKE then
// GRANT that changes a privilege list in place. What differs is passed in: how the grantee is
// named (Redshift writes `GROUP g` and `ROLE r`) and whom default privileges are for (`ROLE`
// on PostgreSQL, `USER` on Redshift). Pure; every name quoted.
import type { DefaultPrivilegeResource, GrantResource } from '../plan/model.js';
import type { Statement } from '../plan/plan.js';
import { quoteIdent as qi, quoteQualified as qq } from './sql-quote.js';

export type GrantVerb = 'GRANT' | 'REVOKE';

/** How an engine spells what differs in these statements. */
export interface GrantDialect {
  /** The grantee as the statement names it. */
  grantee(r: GrantResource | DefaultPrivilegeResource): string;
  /** `ALTER DEFAULT PRIVILEGES FOR <forWhom> x`. */
  forWhom: 'ROLE' | 'USER';
}

export function privList(privs: readonly string[]): string {
  return privs.map((p) => p.toUpperCase()).join(', ');
}

/** `schema.table` id -> quoted; ids are built from validated identifiers, the dot is the separator. */
export function qualified(id: string): string {
  const i = id.indexOf('.');
  return qq(id.slice(0, i), id.slice(i + 1));
}

const to = (verb: GrantVerb) => (verb === 'GRANT' ? 'TO' : 'FROM');

export function grantSql(
  dialect: GrantDialect,
  verb: GrantVerb,
  g: GrantResource,
  privs: readonly string[],
): Statement {
  const obj = g.objectType === 'schema' ? `SCHEMA ${qi(g.object)}` : `TABLE ${qualified(g.object)}`;
  return { sql: `${verb} ${privList(privs)} ON ${obj} ${to(verb)} ${dialect.grantee(g)}` };
}

export function defaultPrivSql(
  dialect: GrantDialect,
  verb: GrantVerb,
  d: DefaultPrivilegeResource,
  privs: readonly string[],
): Statement {
  const inSchema = d.schema ? ` IN SCHEMA ${qi(d.schema)}` : '';
  return {
    sql: `ALTER DEFAULT PRIVILEGES FOR ${dialect.forWhom} ${qi(d.forRole)}${inSchema} ${verb} ${privList(privs)} ON TABLES ${to(verb)} ${dialect.grantee(d)}`,
  };
}

/** A grant's or default privilege's list changed in place: REVOKE what left, then GRANT what came. */
export function updatePrivileges(
  dialect: GrantDialect,
  before: GrantResource | DefaultPrivilegeResource,
  after: GrantResource | DefaultPrivilegeResource,
): Statement[] {
  const add = after.privileges.filter((p) => !before.privileges.includes(p));
  const remove = before.privileges.filter((p) => !after.privileges.includes(p));
  const emit = (verb: GrantVerb, privs: string[]) =>
    after.kind === 'grant'
      ? grantSql(dialect, verb, after, privs)
      : defaultPrivSql(dialect, verb, after, privs);
  return [...(remove.length ? [emit('REVOKE', remove)] : []), ...(add.length ? [emit('GRANT', add)] : [])];
}
