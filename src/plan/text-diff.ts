// Unified diff hunks of two line lists, for showing how a JSON document changes: the `diff`
// package computes them; this only feeds it lines and hands back the hunk lines. Pure.
// `diff` is required on first use: commands that show no policy diff (validate) never load it.
import { createRequire } from 'node:module';

let lib: typeof import('diff') | undefined;
const diffLib = () => {
  lib ??= createRequire(import.meta.url)('diff') as typeof import('diff');
  return lib;
};

/**
 * Unified diff hunks (`@@ -l,n +l,n @@` then ` `/`-`/`+` lines) with `context` unchanged lines
 * around each change, numbered like `diff -u`. Empty when the inputs are equal.
 */
export function unifiedDiff(before: readonly string[], after: readonly string[], context = 3): string[] {
  const { formatPatch, OMIT_HEADERS, structuredPatch } = diffLib();
  const patch = structuredPatch('before', 'after', asText(before), asText(after), undefined, undefined, {
    context,
  });
  if (patch.hunks.length === 0) return [];
  // Every line ends in a newline, so no "\ No newline at end of file" markers appear; every
  // hunk line starts with its marker, so only the final newline leaves an empty string.
  return formatPatch(patch, OMIT_HEADERS)
    .split('\n')
    .filter((l) => l !== '');
}

function asText(lines: readonly string[]): string {
  return lines.map((l) => `${l}\n`).join('');
}
