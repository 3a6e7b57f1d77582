// A small line-based unified diff (longest common subsequence), for showing how a JSON
// document changes. Inputs here are policies of at most a few hundred lines, so the quadratic
// table is cheap; the common head and tail are trimmed first anyway. Pure.

export type DiffLine = { op: ' ' | '-' | '+'; text: string };

/** The edit script turning `before` into `after`, unchanged lines included. */
export function diffLines(before: readonly string[], after: readonly string[]): DiffLine[] {
  let head = 0;
  while (head < before.length && head < after.length && before[head] === after[head]) head++;
  let tail = 0;
  while (
    tail < before.length - head &&
    tail < after.length - head &&
    before[before.length - 1 - tail] === after[after.length - 1 - tail]
  ) {
    tail++;
  }
  const a = before.slice(head, before.length - tail);
  const b = after.slice(head, after.length - tail);

  // lcs[i * (m + 1) + j]: length of the longest common subsequence of a[i..] and b[j..].
  const n = a.length;
  const m = b.length;
  const lcs = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => lcs[i * (m + 1) + j]!;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] = a[i] === b[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
    }
  }

  const out: DiffLine[] = before.slice(0, head).map((text) => ({ op: ' ', text }));
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push({ op: ' ', text: a[i]! });
      i++;
      j++;
    } else if (j === m || (i < n && at(i + 1, j) >= at(i, j + 1))) {
      // On a tie, delete first: a change reads as its `-` lines then its `+` lines.
      out.push({ op: '-', text: a[i]! });
      i++;
    } else {
      out.push({ op: '+', text: b[j]! });
      j++;
    }
  }
  for (const text of before.slice(before.length - tail)) out.push({ op: ' ', text });
  return out;
}

/**
 * Unified diff hunks (`@@ -l,n +l,n @@` then ` `/`-`/`+` lines) with `context` unchanged lines
 * around each change. Empty when the inputs are equal.
 */
export function unifiedDiff(before: readonly string[], after: readonly string[], context = 3): string[] {
  const script = diffLines(before, after);
  const changed = script.flatMap((l, k) => (l.op === ' ' ? [] : [k]));
  if (changed.length === 0) return [];

  // Group changes whose context windows touch into one hunk.
  const hunks: Array<[number, number]> = [];
  for (const k of changed) {
    const last = hunks[hunks.length - 1];
    const start = Math.max(0, k - context);
    const end = Math.min(script.length, k + context + 1);
    if (last !== undefined && start <= last[1]) last[1] = end;
    else hunks.push([start, end]);
  }

  // Line numbers (1-based) of each script entry in the old and new text.
  const oldNo: number[] = [];
  const newNo: number[] = [];
  let o = 1;
  let n = 1;
  for (const l of script) {
    oldNo.push(o);
    newNo.push(n);
    if (l.op !== '+') o++;
    if (l.op !== '-') n++;
  }

  const out: string[] = [];
  for (const [start, end] of hunks) {
    const lines = script.slice(start, end);
    const oldLen = lines.filter((l) => l.op !== '+').length;
    const newLen = lines.filter((l) => l.op !== '-').length;
    // By convention an empty side names the line before the hunk.
    const oldStart = oldLen === 0 ? oldNo[start]! - 1 : oldNo[start]!;
    const newStart = newLen === 0 ? newNo[start]! - 1 : newNo[start]!;
    out.push(`@@ -${oldStart},${oldLen} +${newStart},${newLen} @@`);
    for (const l of lines) out.push(`${l.op}${l.text}`);
  }
  return out;
}
