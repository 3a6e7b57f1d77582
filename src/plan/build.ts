// Assembles the plan contract from per-connection inputs: diff, compile (the provider's pure
// compiler is passed in), fingerprint, summary. Pure: everything it needs is an argument.
import { resourceId } from './address.js';
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
}

export function buildPlan(input: BuildInput): Plan {
  const changes: Change[] = [];
  const unmanaged: UnmanagedObject[] = [];
  const connections: Record<string, ConnectionRecord> = {};
  const diagnostics: Diagnostic[] = [...input.diagnostics];
  for (const c of input.connections) {
    const result = diff({
      connection: c.name,
      desired: c.desired,
      live: c.live,
      capabilities: c.capabilities,
    });
    for (const ch of result.changes) ch.statements = c.compile(ch);
    changes.push(...result.changes);
    diagnostics.push(...connectingRoleDiagnostics(c.name, result.changes, c.connectingRoles ?? [], c.live));
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
  };
}
