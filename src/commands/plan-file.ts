// Saved plans: `wharf plan --out plan.json` writes the contract, `wharf apply plan.json`
// and `wharf show plan.json` read it back, refusing files that are not a wharf plan of a
// version this build understands.
import { readFileSync } from 'node:fs';
import { PLAN_FORMAT, PLAN_VERSION, type Plan } from '../plan/plan.js';

export class PlanFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanFileError';
  }
}

export function readPlanFile(file: string): Plan {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new PlanFileError(
      `${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : 'cannot read file'}`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new PlanFileError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const p = data as Partial<Plan>;
  if (p?.format !== PLAN_FORMAT)
    throw new PlanFileError(`${file}: not a wharf plan (missing "format": "${PLAN_FORMAT}")`);
  if (p.version !== PLAN_VERSION) {
    throw new PlanFileError(
      `${file}: plan format version ${String(p.version)} is not supported by this wharf (expects ${PLAN_VERSION}); plan again`,
    );
  }
  if (!Array.isArray(p.changes) || typeof p.connections !== 'object' || p.connections === null) {
    throw new PlanFileError(`${file}: malformed plan (changes or connections missing)`);
  }
  return p as Plan;
}
