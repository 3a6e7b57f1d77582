// Assembles the plan contract from per-connection inputs: diff, compile (the provider's pure
// compiler is passed in), fingerprint, summary. Pure: everything it needs is an argument.
import { address, resourceId } from './address.js';
import { connectingRoleDiagnostics } from './connecting-role.js';
import { type Capabilities, diff } from './diff.js';
import { fingerprint } from './fingerprint.js';
import type { Resource } from './model.js';
import {
  type Change,
  type ConnectionRecord,
  type Diagnostic,
  PLAN_FORMAT,
  PLAN_VERSION,
  type Plan,
  type Statement,
  summarize,
  type UnmanagedObject,
} from './plan.js';
import { selectTargets, unmatchedTargetDiagnostic } from './target.js';

export interface ConnectionInput {
  name: string;
  type: string;
  spec: Record<string, unknown>;
  scope: { schemas: string[]; roles: string[] };
  desired: Resource[];
  live: Resource[];
  capabilities: Capabilities;
  server: string;
  /** The roles the connection's session is (LiveSnapshot.connectingRoles): protected. */
  connectingRoles?: string[];
  compile(change: Change): Statement[];
}

export interface BuildInput {
  configFile: string;
  baseDir: string;
  now: Date;
  connections: ConnectionInput[];
  diagnostics: Diagnostic[];
  /**
   * `-target`: keep only the changes these addresses (or `*` prefixes) name and the ones they
   * need (target.ts). Absent or empty: the whole plan.
   */
  targets?: string[];
}

export function buildPlan(input: BuildInput): Plan {
  const unmanaged: UnmanagedObject[] = [];
  const connections: Record<string, ConnectionRecord> = {};
  const diagnostics: Diagnostic[] = [...input.diagnostics];
  const results = input.connections.map((c) => ({
    c,
    result: diff({ connection: c.name, desired: c.desired, live: c.live, capabilities: c.capabilities }),
  }));
  const all = results.flatMap((r) => r.result.changes);
  const targets = input.targets ?? [];
  const selection = targets.length > 0 ? selectTargets(all, targets, knownAddresses(input)) : undefined;
  const changes = selection?.changes ?? all;
  const names = input.connections.map((c) => c.name);
  for (const t of selection?.unmatched ?? []) diagnostics.push(unmatchedTargetDiagnostic(t, names));
  for (const ch of changes) {
    const by = selection?.requiredBy.get(ch.address);
    if (by) ch.requiredBy = by;
  }
  const compile = new Map(input.connections.map((c) => [c.name, c.compile]));
  for (const ch of changes) ch.statements = compile.get(ch.connection)!(ch);
  for (const { c, result } of results) {
    // The connecting role is checked on the changes the plan holds: apply checks the same ones.
    const own = changes.filter((ch) => ch.connection === c.name);
    diagnostics.push(...connectingRoleDiagnostics(c.name, own, c.connectingRoles ?? [], c.live));
    unmanaged.push(...result.unmanaged);
    diagnostics.push(...(result.diagnostics ?? []));
    const unmanagedSet = new Set(result.unmanaged.map((u) => u.address));
    const watch = new Set<string>();
    for (const r of c.desired) watch.add(`${r.kind}:${resourceId(r)}`);
    for (const r of c.live) {
      if (!unmanagedSet.has(`${c.name}.${r.kind}:${resourceId(r)}`)) watch.add(`${r.kind}:${resourceId(r)}`);
    }
    connections[c.name] = {
      type: c.type,
      spec: c.spec,
      scope: c.scope,
      watch: [...watch].sort(),
      fingerprint: fingerprint(c.live, watch),
      server: c.server,
    };
  }
  return {
    format: PLAN_FORMAT,
    version: PLAN_VERSION,
    createdAt: input.now.toISOString(),
    configFile: input.configFile,
    baseDir: input.baseDir,
    connections,
    changes,
    diagnostics,
    unmanaged,
    summary: summarize(changes),
    decisions: {
      destroy: changes.some((c) => c.destructive),
      // Present only when some change widens access, so plans without buckets keep their shape.
      ...(changes.some((c) => c.widening) ? { widen: true } : {}),
    },
    ...(selection ? { partial: { targets: [...targets], leftOut: all.length - changes.length } } : {}),
  };
}

/** Every address of the file and of the live state, for telling a target that names nothing. */
function knownAddresses(input: BuildInput): Set<string> {
  const known = new Set<string>();
  for (const c of input.connections) for (const r of [...c.desired, ...c.live]) known.add(address(c.name, r));
  return known;
}
