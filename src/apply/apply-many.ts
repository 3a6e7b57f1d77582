// Apply for providers that run several changes at once (WarehouseProvider.executeMany, e.g.
// Redshift's Data API batches): hands over the run of consecutive changes on one connection
// and turns the outcome into a status per change. A change rolled back together with the
// failing one stays "not run": its transaction never committed.
import { MissingEnvError } from '../config/env.js';
import { redactSecrets, registerSecret } from '../config/secrets.js';
import type { Change } from '../plan/plan.js';
import type { WarehouseProvider } from '../providers/provider.js';
import type { ApplyHooks, ChangeResult } from './apply.js';

export async function applyMany(
  executeMany: NonNullable<WarehouseProvider['executeMany']>,
  changes: readonly Change[],
  start: number,
  results: ChangeResult[],
  env: NodeJS.ProcessEnv,
  hooks: ApplyHooks | undefined,
  signal?: AbortSignal,
): Promise<{ next: number; failed: boolean }> {
  const total = changes.length;
  const connection = changes[start]!.connection;
  let end = start;
  while (end < total && changes[end]!.connection === connection) end++;
  const group = changes.slice(start, end);
  group.forEach((c, k) => {
    hooks?.onChangeStart?.(c, start + k, total);
  });
  // Changes whose end was already reported, counted from the first: progress goes out as the
  // provider reports commits, the rest once the call returns.
  let ended = 0;
  const outcome = await executeMany(group, {
    resolveSecret: (n) => {
      const v = env[n];
      if (v === undefined) throw new MissingEnvError([n], connection);
      registerSecret(v);
      return v;
    },
    ...(signal ? { signal } : {}),
    committed: (count) => {
      for (; ended < Math.min(count, group.length); ended++) {
        const r = results[start + ended]!;
        r.status = 'done';
        hooks?.onChangeEnd?.(r, start + ended, total);
      }
    },
  });
  for (const [k, done] of outcome.done.entries()) if (done) results[start + k]!.status = 'done';
  if (outcome.failed) {
    const r = results[start + outcome.failed.index]!;
    const err = outcome.failed.error as Error & { sql?: string; detail?: string };
    r.status = 'failed';
    r.error = {
      message: redactSecrets(err.message),
      ...(err.sql ? { sql: err.sql } : {}),
      ...(err.detail ? { detail: redactSecrets(err.detail) } : {}),
    };
  }
  for (let k = ended; k < group.length; k++) hooks?.onChangeEnd?.(results[start + k]!, start + k, total);
  return { next: end, failed: outcome.failed !== undefined };
}
