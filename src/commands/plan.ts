// `wharf plan` as a library function: open the connections the file uses, read each live
// state once, and build the plan. The caller owns the returned connections (apply reuses
// them) and must close them. Engines are found through src/providers/engine.ts.
import { toDesired } from '../config/to-desired.js';
import type { LoadedConfig } from '../config/types.js';
import { buildPlan, type ConnectionInput } from '../plan/build.js';
import type { Resource } from '../plan/model.js';
import type { Plan } from '../plan/plan.js';
import { type OpenedConnection, openConnection } from '../providers/connect.js';
import { engines } from '../providers/engine.js';
import type { ReadScope } from '../providers/provider.js';
import type { ExportPlan } from '../sync/export/plan.js';
import { locateConnectingRoleDiagnostics } from './connecting-role-locate.js';

export interface PlanRun {
  plan: Plan;
  connections: Map<string, OpenedConnection>;
  /** Round trips spent reading live state, per connection. */
  roundTrips: Record<string, number>;
  close(): Promise<void>;
}

export interface PlanOptions {
  now?: Date;
  open?: typeof openConnection;
  /** `-target`: plan only the changes these addresses name and what they need (src/plan/target.ts). */
  targets?: string[];
}

export async function planConfig(loaded: LoadedConfig, options: PlanOptions = {}): Promise<PlanRun> {
  const now = options.now ?? new Date();
  const open = options.open ?? openConnection;
  const desired = toDesired(loaded, now);
  const connections = new Map<string, OpenedConnection>();
  const close = async () => {
    for (const c of connections.values()) await c.close();
    connections.clear();
  };
  const inputs: ConnectionInput[] = [];
  const roundTrips: Record<string, number> = {};
  const diagnostics = [...loaded.warnings];
  try {
    for (const [name, resources] of desired) {
      if (resources.length === 0) continue; // do not start or reach a connection nothing uses
      const cfg = loaded.connections[name]!;
      const conn = await open(name, cfg, loaded.baseDir);
      connections.set(name, conn);
      const scope = scopeOf(resources);
      const snap = await conn.provider.read(scope);
      roundTrips[name] = snap.roundTrips;
      // Live-state prerequisites (e.g. a Redshift cluster that cannot share), before anything runs.
      if (conn.provider.prerequisites)
        diagnostics.push(...(await conn.provider.prerequisites(name, resources)));
      inputs.push({
        name,
        type: cfg.type,
        spec: { ...cfg },
        scope,
        desired: resources,
        live: snap.resources,
        capabilities: snap.capabilities,
        server: snap.serverVersion,
        ...(snap.connectingRoles ? { connectingRoles: snap.connectingRoles } : {}),
        compile: (ch) => conn.provider.compile(ch),
      });
    }
  } catch (e) {
    await close();
    throw e;
  }
  const plan = buildPlan({
    configFile: loaded.file,
    baseDir: loaded.baseDir,
    now,
    connections: inputs,
    diagnostics,
    ...(options.targets?.length ? { targets: options.targets } : {}),
  });
  // Syncs are checked against the tables as this plan leaves them (src/sync), before any data
  // moves; their problems stop only the sync, never the apply.
  if (loaded.config.syncs?.length) {
    try {
      const { checkSyncsForPlan } = await import('../sync/plan-check.js');
      const exports: ExportPlan[] = [];
      plan.diagnostics.push(...(await checkSyncsForPlan(loaded, connections, plan.changes, open, exports)));
      if (exports.length) plan.exports = exports;
    } catch (e) {
      await close();
      throw e;
    }
  }
  // Diagnostics found once live state was read point at the file: the core's (connecting roles),
  // then each engine's (a missing bucket, a Redshift session that is not a superuser, ...).
  plan.diagnostics = locateConnectingRoleDiagnostics(loaded, plan.diagnostics);
  for (const e of engines()) if (e.locate) plan.diagnostics = e.locate(loaded, plan.diagnostics);
  return { plan, connections, roundTrips, close };
}

export function scopeOf(resources: readonly Resource[]): ReadScope {
  const buckets = resources.flatMap((r) => (r.kind === 'bucket' ? [r] : []));
  return {
    schemas: resources.flatMap((r) => (r.kind === 'schema' ? [r.name] : [])).sort(),
    roles: resources.flatMap((r) => (r.kind === 'role' ? [r.name] : [])).sort(),
    // Only bucket connections carry these, so warehouse plans keep their shape.
    ...(buckets.length > 0
      ? {
          buckets: buckets.map((b) => b.name).sort(),
          folders: Object.fromEntries(
            buckets.filter((b) => b.folders.length > 0).map((b) => [b.name, b.folders]),
          ),
        }
      : {}),
  };
}
