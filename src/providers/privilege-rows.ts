// Grants and default privileges as both introspectors assemble them: the catalogs answer one row
// per privilege, wharf holds one resource per (object, grantee) and per (owner, schema,
// grantee), privileges normalized. An engine that names grantee types (Redshift: user, group,
// role) passes them on the rows; PostgreSQL has none. Pure.
import type { DefaultPrivilegeResource, GrantResource } from '../plan/model.js';
import { normalizePrivileges } from '../plan/normalize.js';

type GranteeType = 'user' | 'group' | 'role';

export interface GrantRow {
  objectType: 'schema' | 'table';
  object: string;
  grantee: string;
  privilege: string;
  granteeType?: GranteeType;
}

export interface DefaultPrivilegeRow {
  forRole: string;
  schema: string | null;
  grantee: string;
  privilege: string;
  granteeType?: GranteeType;
}

/** The rows grouped into one grant per (object, grantee), in the order first seen. */
export function assembleGrants(rows: Iterable<GrantRow>): GrantResource[] {
  const groups = new Map<string, { first: GrantRow; privs: string[] }>();
  for (const r of rows) {
    const id = `${r.objectType}:${r.object}/${r.grantee}`;
    const g = groups.get(id) ?? { first: r, privs: [] };
    g.privs.push(r.privilege.toLowerCase());
    groups.set(id, g);
  }
  return [...groups.values()].map(({ first, privs }) => ({
    kind: 'grant',
    objectType: first.objectType,
    object: first.object,
    grantee: first.grantee,
    privileges: normalizePrivileges(privs, []),
    ...(first.granteeType ? { granteeType: first.granteeType } : {}),
  }));
}

/** The rows grouped into one default privilege per (owner, schema, grantee), in the order first seen. */
export function assembleDefaultPrivileges(rows: Iterable<DefaultPrivilegeRow>): DefaultPrivilegeResource[] {
  const groups = new Map<string, { first: DefaultPrivilegeRow; privs: string[] }>();
  for (const r of rows) {
    const id = `${r.forRole}/${r.schema ?? '*'}/${r.grantee}`;
    const d = groups.get(id) ?? { first: r, privs: [] };
    d.privs.push(r.privilege.toLowerCase());
    groups.set(id, d);
  }
  return [...groups.values()].map(({ first, privs }) => ({
    kind: 'default_privileges',
    forRole: first.forRole,
    schema: first.schema,
    objectType: 'tables',
    grantee: first.grantee,
    privileges: normalizePrivileges(privs, []),
    ...(first.granteeType ? { granteeType: first.granteeType } : {}),
  }));
}
