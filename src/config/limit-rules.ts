// Bounds on the work a file can ask for, checked when it is read: `partition.from` must be a
// real calendar date (2024-02-30 and month 13 are errors, not rolled over into March or the
// next year), and a table may have at most MAX_PARTITIONS partitions planned (a `from` of
// 0001-01-01 with daily partitions would be some 740,000 CREATE TABLE statements).
import type { Diagnostic } from '../plan/plan.js';
import { formatPath, type Locator, type YamlPath } from './load.js';
import { MAX_PARTITIONS, partitionCount } from './to-desired.js';
import type { WharfConfig } from './types.js';

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Why a YYYY-MM-DD string is not a calendar date, or undefined when it is one. */
export function impossibleDate(s: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return 'expected YYYY-MM-DD';
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < 1) return 'year 0000 does not exist';
  if (mo < 1 || mo > 12) return `month ${m[2]} does not exist`;
  const max = daysIn(y, mo);
  if (d < 1 || d > max) return `${MONTHS[mo - 1]} ${m[1]} has ${max} days`;
  return undefined;
}

export function checkLimits(config: WharfConfig, loc: Locator, now: Date = new Date()): Diagnostic[] {
  const out: Diagnostic[] = [];
  const err = (path: YamlPath, code: string, message: string) => {
    const at = loc.at(path);
    out.push({ severity: 'error', code, message, line: at.line, col: at.col, path: formatPath(path) });
  };
  (config.tables ?? []).forEach((t, i) => {
    const part = t.partition;
    if (!part) return;
    const p: YamlPath = ['tables', i, 'partition'];
    const name = `${t.schema}.${t.name}`;
    if (part.from !== undefined) {
      const why = impossibleDate(part.from);
      if (why) {
        err(
          [...p, 'from'],
          'partition',
          `table ${name}: partition.from ${JSON.stringify(part.from)} is not a date: ${why}`,
        );
        return;
      }
    }
    const n = partitionCount(part.granularity, part.ahead ?? 3, part.from, now);
    if (n > MAX_PARTITIONS)
      err(
        part.from !== undefined ? [...p, 'from'] : p,
        'partition-limit',
        `table ${name}: ${n.toLocaleString('en-US')} ${part.granularity} partitions from ${part.from ?? 'now'} through ${part.ahead ?? 3} ahead, more than the ${MAX_PARTITIONS.toLocaleString('en-US')} a table may have; move partition.from later or use a coarser granularity`,
      );
  });
  return out;
}
