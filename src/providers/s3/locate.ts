// Points plan diagnostics about buckets (e.g. `bucket-missing`, found only once the live state
// is read) at the bucket in the file: file, line, column and YAML path. The planner is pure
// and knows addresses, not positions; this maps one to the other after the plan is built: the
// S3 engine's locate (engine.ts), run by planConfig.
import { fileLocator, formatPath } from '../../config/load.js';
import type { LoadedConfig } from '../../config/types.js';
import type { Diagnostic } from '../../plan/plan.js';
import { bucketConnectionOf } from './rules.js';

export function locateBucketDiagnostics(loaded: LoadedConfig, diagnostics: Diagnostic[]): Diagnostic[] {
  const unplaced = diagnostics.filter((d) => d.code.startsWith('bucket-') && d.line === undefined);
  if (unplaced.length === 0) return diagnostics;
  const locator = fileLocator(loaded);
  if (locator === null) return diagnostics; // the file moved since it was loaded: keep them as they are
  const addresses = (loaded.config.buckets ?? []).map(
    (b) => `${bucketConnectionOf(b.connection, loaded.connections)}.bucket:${b.name}:`,
  );
  return diagnostics.map((d) => {
    if (!unplaced.includes(d)) return d;
    const i = addresses.findIndex((a) => d.message.startsWith(a));
    if (i < 0) return d;
    const path = ['buckets', i];
    const at = locator?.at(path) ?? { line: 1, col: 1 };
    return { ...d, file: at.file ?? loaded.file, line: at.line, col: at.col, path: formatPath(path) };
  });
}
