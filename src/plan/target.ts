// `-target ADDRESS`: a plan of some changes only. A target is an address as the plan shows it
// (`warehouse.grant:table:analytics.events/vendor`) or a prefix of addresses ending in `*`
// (`warehouse.grant:*`, `warehouse.table:analytics.*`). The plan keeps the changes a target
// names and the ones they cannot run without, found through `dependsOn` (order.ts): a create or
// update needs the creates and updates of what it depends on (a grant: its role, its schema or
// table), transitively; a delete needs the deletes of what depends on it to run first (a schema
// is dropped after its tables, a role after the revokes of its privileges). Pure: no I/O.
import type { Change, Diagnostic } from './plan.js';

export const TARGET_CODE = 'target';

/** True when `target` names `address`: the same text, or a prefix of it before a final `*`. */
export function matchesTarget(target: string, address: string): boolean {
  return target === address || (target.endsWith('*') && address.startsWith(target.slice(0, -1)));
}

export interface TargetSelection {
  /** The changes kept, in the order given. */
  changes: Change[];
  /** For each change kept only because a targeted one needs it: the targeted addresses that do. */
  requiredBy: Map<string, string[]>;
  /** Targets that name no change and no object of the file or the live state. */
  unmatched: string[];
}

/**
 * The changes `targets` name and the ones they need, in the order of `changes` (already ordered).
 * `known` holds every address of the file and the live state: a target that names one of them
 * but no change is satisfied (nothing to do there), one that names nothing at all is unmatched.
 */
export function selectTargets(
  changes: readonly Change[],
  targets: readonly string[],
  known: ReadonlySet<string>,
): TargetSelection {
  const named = changes.filter((c) => targets.some((t) => matchesTarget(t, c.address)));
  const unmatched = targets.filter(
    (t) => !changes.some((c) => matchesTarget(t, c.address)) && !someKnown(t, known),
  );
  const byAddress = new Map<string, Change>();
  // A delete's dependants: the deletes that must run before it (a schema's tables). A role's
  // dependencies are its groups: a group is dropped without dropping its members.
  const dependants = new Map<string, Change[]>();
  for (const c of changes) {
    byAddress.set(c.address, c);
    if (c.action !== 'delete' || c.kind === 'role') continue;
    for (const d of c.dependsOn) dependants.set(d, [...(dependants.get(d) ?? []), c]);
  }
  const needs = (c: Change): Change[] =>
    c.action === 'delete'
      ? (dependants.get(c.address) ?? [])
      : c.dependsOn.flatMap((d) => {
          const dep = byAddress.get(d);
          return dep && dep.action !== 'delete' ? [dep] : [];
        });

  const kept = new Set(named.map((c) => c.address));
  const requiredBy = new Map<string, Set<string>>();
  for (const root of named) {
    const seen = new Set([root.address]);
    const stack = [root];
    for (let c = stack.pop(); c !== undefined; c = stack.pop()) {
      for (const n of needs(c)) {
        if (seen.has(n.address)) continue;
        seen.add(n.address);
        stack.push(n);
        if (named.includes(n)) continue;
        kept.add(n.address);
        requiredBy.set(n.address, (requiredBy.get(n.address) ?? new Set()).add(root.address));
      }
    }
  }
  return {
    changes: changes.filter((c) => kept.has(c.address)),
    requiredBy: new Map([...requiredBy].map(([a, by]) => [a, [...by].sort()])),
    unmatched,
  };
}

function someKnown(target: string, known: ReadonlySet<string>): boolean {
  if (known.has(target)) return true;
  if (!target.endsWith('*')) return false;
  for (const a of known) if (matchesTarget(target, a)) return true;
  return false;
}

/** The error for a target that names nothing: the plan is refused (exit 1), never an empty plan. */
export function unmatchedTargetDiagnostic(target: string, connections: readonly string[]): Diagnostic {
  const m = /^([^.:]*)\.([^:]*):/.exec(target);
  const hint = !m
    ? 'an address is <connection>.<kind>:<id>, e.g. warehouse.table:analytics.events, or a prefix ending in *, e.g. warehouse.grant:*'
    : !connections.includes(m[1]!)
      ? `no connection ${m[1]} is planned (${connections.length ? connections.join(', ') : 'none'})`
      : !KINDS.includes(m[2]!)
        ? `no kind ${m[2]} (kinds: ${KINDS.join(', ')})`
        : 'wharf plan without -target lists the addresses of every change';
  return {
    severity: 'error',
    code: TARGET_CODE,
    message: `-target ${target} matches no change and no object of the file or the live state; ${hint}`,
  };
}

const KIND_NAMES: Record<Change['kind'], true> = {
  schema: true,
  table: true,
  role: true,
  grant: true,
  default_privileges: true,
  bucket: true,
  datashare: true,
};
const KINDS: readonly string[] = Object.keys(KIND_NAMES);
