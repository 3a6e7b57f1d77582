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

/** Rows grouped by `key`, in the order first seen: each group's first row and its privileges, lower case. */
function group<R extends { privilege: string }>(
  rows: Iterable<R>,
  key: (r: R) => string,
): { first: R; privs: string[] }[] {
  const groups = new Map<string, { first: R; privs: string[] }>();
  for (const r of rows) {
    const k = key(r);
    const g = groups.get(k) ?? { first: r, privs: [] };
    g.privs.push(r.privilege.toLowerCase());
    groups.set(k, g);
  }
  return [...groups.values()];
}

/** The rows grouped into one grant per (object, grantee), in the order first seen. */
export function assembleGrants(rows: Iterable<GrantRow>): GrantResource[] {
  return group(rows, (r) => `${r.objectType}:${r.object}/${r.grantee}`).map(({ first, privs }) => ({
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
  return group(rows, (r) => `${r.forRole}/${r.schema ?? '*'}/${r.grantee}`).map(({ first, privs }) => ({
    kind: 'default_privileges',
    forRole: first.forRole,
    schema: first.schema,
    objectType: 'tables',
    grantee: first.grantee,
    privileges: normalizePrivileges(privs, []),
    ...(first.granteeType ? { granteeType: first.granteeType } : {}),
  }));
}
