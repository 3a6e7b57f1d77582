// Durations, one grammar for every option and config field that takes one (`--lock-timeout`,
// a sync's `cursor.lookback`): a number with a unit, `ms`, `s`, `m`, `h` or `d`, or several in
// a row from the largest unit down (`1h30m`, like Go and Terraform). `0` alone needs no unit.

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;
const ORDER: readonly Unit[] = ['d', 'h', 'm', 's', 'ms'];

/** The longest duration accepted: 365 days. Anything longer is a typo, not a wish. */
export const MAX_DURATION_MS = 365 * UNIT_MS.d;

export const DURATION_EXAMPLES = '500ms, 30s, 10m, 2h, 1d or 1h30m';

/** Milliseconds, or undefined when `text` is not a duration. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '0') return 0;
  if (s === '' || s.length > 64) return undefined;
  const part = /(\d+(?:\.\d+)?)(ms|d|h|m|s)/y;
  let ms = 0;
  let last = -1;
  let at = 0;
  while (at < s.length) {
    part.lastIndex = at;
    const m = part.exec(s);
    if (!m) return undefined;
    const rank = ORDER.indexOf(m[2] as Unit);
    if (rank <= last) return undefined; // each unit once, largest first
    last = rank;
    ms += Number(m[1]) * UNIT_MS[m[2] as Unit];
    at = part.lastIndex;
  }
  return ms <= MAX_DURATION_MS ? ms : undefined;
}

/** Why `text` is not a duration, for a diagnostic or a refused option. */
export function durationProblem(text: string): string {
  if (/^\s*\d+(\.\d+)?\s*$/.test(text)) return `"${text}" has no unit: use e.g. ${DURATION_EXAMPLES}`;
  return `"${text}" is not a duration of at most 365d: use e.g. ${DURATION_EXAMPLES}`;
}
