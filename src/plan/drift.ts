// The drift report: what `wharf drift --json` prints. It is the plan contract (plan.ts) as
// `plan --json` prints it, with one more top-level field, `drift`, that says whether the live
// state differs from the file and when that was checked. The field is versioned on its own
// (DRIFT_VERSION), so the plan's version says nothing about it and readers of plans ignore it.
import type { Plan } from './plan.js';
import { hasErrors } from './plan.js';

export const DRIFT_FORMAT = 'wharf-drift';

export const DRIFT_VERSION = 1;

/** `drift`: the live state differs; `in-sync`: it matches; `unknown`: the plan has errors, so nobody can tell. */
export type DriftStatus = 'drift' | 'in-sync' | 'unknown';

export interface DriftCheck {
  format: typeof DRIFT_FORMAT;
  version: typeof DRIFT_VERSION;
  status: DriftStatus;
  /** True when apply would change something, false when nothing differs, null when unknown. Exit codes 2, 0, 1. */
  drifted: boolean | null;
  /** When the live state was read and compared with the file (ISO 8601, UTC). */
  checkedAt: string;
  /** How many changes apply would make (the plan's `changes`). */
  changes: number;
  /** How many of them are destructive. */
  destructive: number;
  /** How many live objects the file does not manage (the plan's `unmanaged` lists them). */
  unmanaged: number;
}

export type DriftReport = Plan & { drift: DriftCheck };

export function driftStatus(plan: Plan): DriftStatus {
  if (hasErrors(plan.diagnostics)) return 'unknown';
  return plan.changes.length > 0 ? 'drift' : 'in-sync';
}

export function driftReport(plan: Plan, checkedAt: Date): DriftReport {
  const status = driftStatus(plan);
  return {
    ...plan,
    drift: {
      format: DRIFT_FORMAT,
      version: DRIFT_VERSION,
      status,
      drifted: status === 'unknown' ? null : status === 'drift',
      checkedAt: checkedAt.toISOString(),
      changes: plan.changes.length,
      destructive: plan.summary.destructive,
      unmanaged: plan.unmanaged.length,
    },
  };
}
