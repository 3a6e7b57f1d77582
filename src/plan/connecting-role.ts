// The role wharf connects as is protected: a change that would drop it, take away its LOGIN,
// one of its memberships or one of its privileges would lock wharf (and whoever else uses
// that role) out halfway through an apply, or for every apply after it. Such changes are
// error diagnostics, whatever approvals are given; the plan still lists them, so the reader
// sees what was refused. Pure: the live state and the changes are arguments.
import type { Resource } from './model.js';
import type { Change, Diagnostic } from './plan.js';

export const CONNECTING_ROLE_CODE = 'connecting-role';

/**
 * Error diagnostics for the changes of one connection that take something away from
 * `roles` (the session's login role and the role it acts as), one per change and role.
 * `live` is the state the changes were planned from: it tells which groups a role belongs to.
 */
export function connectingRoleDiagnostics(
  connection: string,
  changes: readonly Change[],
  roles: readonly string[],
  live: readonly Resource[],
): Diagnostic[] {
  if (roles.length === 0) return [];
  const protectedRoles = new Set(roles);
  // Dropping a group the connecting role belongs to takes that membership away too.
  const groupsOf = new Map<string, string[]>();
  for (const r of live) {
    if (r.kind !== 'role') continue;
    for (const g of r.memberOf)
      if (protectedRoles.has(r.name)) groupsOf.set(g, [...(groupsOf.get(g) ?? []), r.name]);
  }
  const out: Diagnostic[] = [];
  const refuse = (c: Change, role: string, what: string) =>
    out.push({
      severity: 'error',
      code: CONNECTING_ROLE_CODE,
      message: `${c.address}: refused: ${role} is the role wharf connects as (connection ${connection}); this change would ${what}, and wharf could lock itself out. No flag applies it, not even --allow-destroy: make the change by hand as another role, or connect wharf as another role`,
    });
  for (const c of changes) {
    if (c.connection !== connection) continue;
    const before = c.before;
    if (!before) continue;
    switch (before.kind) {
      case 'role': {
        if (protectedRoles.has(before.name)) {
          if (c.action === 'delete') refuse(c, before.name, 'drop it');
          else if (c.action === 'replace') refuse(c, before.name, 'drop it and create it again');
          else if (c.action === 'update' && c.after?.kind === 'role') {
            if (before.login && !c.after.login) refuse(c, before.name, 'take away its LOGIN (NOLOGIN)');
            const after = c.after.memberOf;
            const lost = before.memberOf.filter((g) => !after.includes(g));
            if (lost.length > 0) refuse(c, before.name, `take away its membership in ${lost.join(', ')}`);
          }
        }
        if (c.action === 'delete' || c.action === 'replace') {
          for (const member of groupsOf.get(before.name) ?? [])
            refuse(c, member, `drop ${before.name}, which it is a member of`);
        }
        break;
      }
      case 'grant':
      case 'default_privileges': {
        if (!protectedRoles.has(before.grantee)) break;
        const after = c.action === 'update' && c.after?.kind === before.kind ? c.after.privileges : [];
        const lost = before.privileges.filter((p) => !after.includes(p));
        if (lost.length > 0) refuse(c, before.grantee, `revoke ${lost.join(', ')} from it`);
        break;
      }
      default:
        break;
    }
  }
  return out;
}

/** The protected role and connection a `connecting-role` diagnostic is about (for locating it). */
export function connectingRoleOf(d: Diagnostic): { role: string; connection: string } | undefined {
  if (d.code !== CONNECTING_ROLE_CODE) return undefined;
  const m = /^\S+: refused: (.+) is the role wharf connects as \(connection (.+?)\);/.exec(d.message);
  return m ? { role: m[1]!, connection: m[2]! } : undefined;
}
