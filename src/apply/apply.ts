// Executes a plan: checks approvals and secrets, takes each connection's apply lock, refuses
// a stale plan, then runs the changes in order, each atomically. Stops at the first failure
// and reports every change as done, failed or not run. Progress goes out through hooks that
// the text output and the UI both consume.
import { envNames, MissingEnvError, variableScope } from '../config/env.js';
import { redactSecrets, registerSecret } from '../config/secrets.js';
import { connectingRoleDiagnostics } from '../plan/connecting-role.js';
import { fingerprint } from '../plan/fingerprint.js';
import { type Change, hasErrors, type Plan } from '../plan/plan.js';
import type { LockHandle, WarehouseProvider } from '../providers/provider.js';
import { applyMany } from './apply-many.js';

export type ChangeStatus = 'done' | 'failed' | 'not run';

export interface ChangeResult {
  address: string;
  action: Change['action'];
  status: ChangeStatus;
  error?: { message: string; sql?: string; detail?: string };
}

export interface ApplyResult {
  ok: boolean;
  results: ChangeResult[];
}

export interface ApplyHooks {
  onChangeStart?(change: Change, index: number, total: number): void;
  onChangeEnd?(result: ChangeResult, index: number, total: number): void;
}

export interface ApplyOptions {
  allowDestroy: boolean;
  /** Approves changes that widen access (bucket policies, block public access turned off). */
  allowWiden?: boolean;
  lockTimeoutMs: number;
  /** Names the lock holder for other processes, e.g. `wharf apply (alice@laptop pid 42)`. */
  holder: string;
  env?: NodeJS.ProcessEnv;
  hooks?: ApplyHooks;
  /** Once aborted (a signal), no further change starts; the one running finishes or rolls back. */
  signal?: AbortSignal;
}

/** A refusal before anything ran: nothing was changed. */
export class ApplyRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApplyRefused';
  }
}

export async function applyPlan(
  plan: Plan,
  providers: Map<string, WarehouseProvider>,
  options: ApplyOptions,
): Promise<ApplyResult> {
  const env = options.env ?? variableScope();
  if (hasErrors(plan.diagnostics)) throw new ApplyRefused('the plan has errors; fix them and plan again');
  const destructive = plan.changes.filter((c) => c.destructive);
  if (destructive.length > 0 && !options.allowDestroy) {
    throw new ApplyRefused(
      `the plan has ${destructive.length} destructive change(s); re-run with --allow-destroy to apply them:\n${destructive.map((c) => `  ${c.action} ${c.address}`).join('\n')}`,
    );
  }
  const widening = plan.changes.filter((c) => c.widening);
  if (widening.length > 0 && !options.allowWiden) {
    throw new ApplyRefused(
      `the plan has ${widening.length} change(s) that widen access; re-run with --allow-widen to apply them:\n${widening.map((c) => `  ${c.action} ${c.address}`).join('\n')}`,
    );
  }
  const missing = new Set<string>();
  for (const c of plan.changes)
    for (const st of c.statements)
      if (st.secrets) for (const n of envNames(st.sql)) if (env[n] === undefined) missing.add(n);
  if (missing.size > 0) throw new MissingEnvError([...missing].sort(), 'apply');

  const used = [...new Set(plan.changes.map((c) => c.connection))].sort();
  const locks: LockHandle[] = [];
  let outcome: ApplyResult;
  try {
    for (const name of used) {
      const p = providers.get(name);
      if (!p) throw new ApplyRefused(`connection ${name} is not open`);
      locks.push(await p.lock(options.holder, options.lockTimeoutMs));
    }
    for (const name of used) {
      const rec = plan.connections[name]!;
      const snap = await providers.get(name)!.read(rec.scope);
      const now = fingerprint(snap.resources, new Set(rec.watch));
      if (now !== rec.fingerprint) {
        throw new ApplyRefused(
          `the plan is stale: the live state of connection ${name} changed since the plan was made; run wharf plan again`,
        );
      }
      // A saved plan is checked again against the session that runs it: whatever the file,
      // the flags or the plan say, wharf never takes anything away from the role it is.
      const refused = connectingRoleDiagnostics(
        name,
        plan.changes,
        snap.connectingRoles ?? [],
        snap.resources,
      );
      if (refused.length > 0) throw new ApplyRefused(refused.map((d) => d.message).join('\n'));
    }
    const results: ChangeResult[] = plan.changes.map((c) => ({
      address: c.address,
      action: c.action,
      status: 'not run',
    }));
    const total = plan.changes.length;
    for (let i = 0; i < total; i++) {
      if (options.signal?.aborted) break;
      const change = plan.changes[i]!;
      const executeMany = providers.get(change.connection)!.executeMany;
      if (executeMany) {
        // A batching provider takes the whole run of consecutive changes on its connection.
        const run = await applyMany(
          executeMany.bind(providers.get(change.connection)),
          plan.changes,
          i,
          results,
          env,
          options.hooks,
          options.signal,
        );
        if (run.failed) break;
        i = run.next - 1;
        continue;
      }
      options.hooks?.onChangeStart?.(change, i, total);
      const result = results[i]!;
      try {
        await providers.get(change.connection)!.execute(change, {
          resolveSecret: (n) => {
            const v = env[n];
            if (v === undefined) throw new MissingEnvError([n], change.address);
            registerSecret(v);
            return v;
          },
        });
        result.status = 'done';
      } catch (e) {
        const err = e as Error & { sql?: string; detail?: string };
        result.status = 'failed';
        result.error = {
          message: redactSecrets(err.message),
          ...(err.sql ? { sql: err.sql } : {}),
          ...(err.detail ? { detail: redactSecrets(err.detail) } : {}),
        };
      }
      options.hooks?.onChangeEnd?.(result, i, total);
      if (result.status === 'failed') break;
    }
    outcome = { ok: results.every((r) => r.status === 'done'), results };
  } catch (e) {
    await releaseAll(locks);
    throw e;
  }
  // Every lock is released; one that could not be is reported, not swallowed.
  const failures = await releaseAll(locks);
  if (failures.length > 0) throw failures[0];
  return outcome;
}

/** Releases the locks, last taken first; answers the errors of those that could not be released. */
async function releaseAll(locks: LockHandle[]): Promise<unknown[]> {
  const failures: unknown[] = [];
  for (const l of [...locks].reverse()) await l.release().catch((e: unknown) => failures.push(e));
  return failures;
}
