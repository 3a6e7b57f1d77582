// Golden files: a test compares its output with an expected file kept in the repository. A
// missing expected file fails the test. `npm run test:update-golden` (WHARF_UPDATE_GOLDEN=1)
// writes them from the current output on a developer's machine, for review before committing;
// with CI set it refuses, so a CI run can never make its own expectations.
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.join(import.meta.dirname, '..', '..');

/** True when WHARF_UPDATE_GOLDEN asks for golden files to be rewritten; throws under CI. */
export function updatingGolden(): boolean {
  if (!process.env.WHARF_UPDATE_GOLDEN) return false;
  const ci = process.env.CI;
  if (ci && ci !== 'false' && ci !== '0')
    throw new Error(
      'WHARF_UPDATE_GOLDEN is refused when CI is set: golden files are rewritten locally and reviewed',
    );
  return true;
}

/** The expected text kept in `file` (first rewritten from `actual` when updating). */
export function golden(file: string, actual: string): string {
  if (updatingGolden()) fs.writeFileSync(file, actual);
  if (!fs.existsSync(file))
    throw new Error(
      `missing golden file ${path.relative(ROOT, file)}: write it with npm run test:update-golden and review it`,
    );
  return fs.readFileSync(file, 'utf8');
}
