// PostgreSQL text output (DateStyle ISO, TimeZone UTC, IntervalStyle postgres,
// extra_float_digits 1) read into exact values, and written back as ISO 8601 / JSON text.
// Every reader throws ExportTypeError naming the column and the value's problem.
import { type ExportColumn, ExportTypeError, type Kind } from './types.js';

const US_PER_DAY = 86_400_000_000n;

function refuse(column: ExportColumn, value: string, why: string, todo: string): never {
  const shown = value.length > 60 ? `${value.slice(0, 60)}…` : value;
  throw new ExportTypeError(
    column.name,
    `column ${JSON.stringify(column.name)} (${column.type}): value ${JSON.stringify(shown)} ${why}; ${todo}`,
  );
}

const OUT_OF_RANGE_TODO =
  "filter or clamp it in the sync's query (e.g. WHERE col BETWEEN '0001-01-01' AND '9999-12-31'), or cast it to text";

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The proleptic Gregorian date of a day number (civil_from_days). */
export function civilFromDays(z0: number): [number, number, number] {
  const z = z0 + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [m <= 2 ? era * 400 + yoe + 1 : era * 400 + yoe, m, d];
}

const DATE = /^(\d{4})-(\d\d)-(\d\d)$/;
const TIMESTAMP =
  /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?:([+-])(\d\d)(?::(\d\d)(?::(\d\d))?)?)?$/;
const TIME = /^(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?$/;

function rangeCheck(column: ExportColumn, value: string): never {
  if (value === 'infinity' || value === '-infinity') {
    refuse(column, value, 'is infinite, which has no date or timestamp in a file', OUT_OF_RANGE_TODO);
  }
  refuse(
    column,
    value,
    'is outside 0001-01-01 … 9999-12-31 (or not in ISO DateStyle), the range exports write',
    OUT_OF_RANGE_TODO,
  );
}

/** Days since the epoch of a `date` value. */
export function readDate(column: ExportColumn, value: string): number {
  const m = DATE.exec(value);
  if (!m || m[1] === '0000') return rangeCheck(column, value);
  return daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3]));
}

const micros = (frac: string | undefined) => (frac ? BigInt(frac.padEnd(6, '0')) : 0n);

/** Microseconds since the epoch (UTC for timestamptz; wall clock for timestamp). */
export function readTimestamp(column: ExportColumn, value: string, utc: boolean): bigint {
  const fast = fastTimestamp(value, utc);
  if (fast !== undefined) return BigInt(fast);
  const m = TIMESTAMP.exec(value);
  if (!m || m[1] === '0000') return rangeCheck(column, value);
  if ((m[8] !== undefined) !== utc) {
    refuse(
      column,
      value,
      utc ? 'has no UTC offset' : 'has a UTC offset',
      'the column type and its values disagree; check the sync query',
    );
  }
  const days = BigInt(daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3])));
  const secs = BigInt(Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6]));
  let us = days * US_PER_DAY + secs * 1_000_000n + micros(m[7]);
  if (m[8] !== undefined) {
    const off = BigInt(Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0)) * 1_000_000n;
    us -= m[8] === '+' ? off : -off;
  }
  return us;
}

/** A scratch copy of a short string's characters, for the byte reader below. */
const scratch = new Uint8Array(32);

/** fastTimestamp of a string (the same reader, on its characters). */
function fastTimestamp(v: string, utc: boolean): number | undefined {
  if (v.length > scratch.length) return undefined;
  for (let i = 0; i < v.length; i++) scratch[i] = v.charCodeAt(i) & 0xff;
  return fastTimestampBytes(scratch, 0, v.length, utc);
}

/**
 * The common shapes, `YYYY-MM-DD HH:MM:SS[.f{1,6}]` (plus `+00` for timestamptz, which a UTC
 * session prints), read from bytes `s` to `e` without a regular expression or BigInt
 * arithmetic: microseconds as an exact Number (years 1970 ± 285 stay below 2^53). Undefined for
 * anything else, which the general reader handles (and refuses when it must).
 */
export function fastTimestampBytes(b: Uint8Array, s: number, e: number, utc: boolean): number | undefined {
  let end = e - s;
  if (utc) {
    if (end < 22 || b[e - 3] !== 43 || b[e - 2] !== 48 || b[e - 1] !== 48) return undefined;
    end -= 3;
  }
  if (end < 19 || end > 26 || b[s + 4] !== 45 || b[s + 7] !== 45 || b[s + 10] !== 32) return undefined;
  if (b[s + 13] !== 58 || b[s + 16] !== 58) return undefined;
  const two = (i: number) => (b[s + i]! - 48) * 10 + (b[s + i + 1]! - 48);
  const y = two(0) * 100 + two(2);
  if (!(y >= 1700 && y <= 2250)) return undefined;
  const mo = two(5);
  const d = two(8);
  const h = two(11);
  const mi = two(14);
  const sec = two(17);
  if (!(mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && sec <= 59)) return undefined;
  let us = 0;
  if (end > 19) {
    if (b[s + 19] !== 46 || end === 20) return undefined;
    let scale = 100_000;
    for (let i = 20; i < end; i++, scale /= 10) {
      const c = b[s + i]! - 48;
      if (!(c >= 0 && c <= 9)) return undefined;
      us += c * scale;
    }
  }
  return (daysFromCivil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec) * 1_000_000 + us;
}

/** Microseconds since midnight of a `time` value (24:00:00 allowed, as PostgreSQL does). */
export function readTime(column: ExportColumn, value: string): bigint {
  const m = TIME.exec(value);
  if (!m) return refuse(column, value, 'is not a time of day', "cast it in the sync's query to time or text");
  return BigInt(Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1_000_000n + micros(m[4]);
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** ISO 8601 date of a day number. */
export function isoDate(days: number): string {
  const [y, m, d] = civilFromDays(days);
  return `${pad(y, 4)}-${pad(m)}-${pad(d)}`;
}

/** ISO 8601 of microseconds since the epoch: `2026-03-08T09:59:59.123456` (+ `Z` when utc). */
export function isoTimestamp(us: bigint, utc: boolean): string {
  let days = us / US_PER_DAY;
  let rest = us % US_PER_DAY;
  if (rest < 0n) {
    rest += US_PER_DAY;
    days -= 1n;
  }
  return `${isoDate(Number(days))}T${isoTime(rest)}${utc ? 'Z' : ''}`;
}

/** `HH:MM:SS[.ffffff]` of microseconds since midnight (fraction without trailing zeros). */
export function isoTime(us: bigint): string {
  const secs = Number(us / 1_000_000n);
  const frac = Number(us % 1_000_000n);
  const base = `${pad(Math.floor(secs / 3600))}:${pad(Math.floor(secs / 60) % 60)}:${pad(secs % 60)}`;
  return frac === 0 ? base : `${base}.${String(frac).padStart(6, '0').replace(/0+$/, '')}`;
}

const NUMERIC = /^(-?)(\d+)(?:\.(\d+))?$/;

/** The unscaled value of a numeric at `scale`, refused when it needs more digits than `precision`. */
export function readDecimal(column: ExportColumn, value: string, precision: number, scale: number): bigint {
  const m = NUMERIC.exec(value);
  if (!m) {
    return refuse(
      column,
      value,
      'is not a finite number, which a parquet DECIMAL cannot hold',
      "filter it in the sync's query, cast it to double precision or text, or export csv/jsonl",
    );
  }
  const frac = m[3] ?? '';
  const extra = frac.slice(scale);
  if (/[^0]/.test(extra)) {
    refuse(
      column,
      value,
      `has more than ${scale} digits after the point, which DECIMAL(${precision},${scale}) would round`,
      `cast it in the sync's query to a numeric(p,s) with the scale it needs (p up to 38), or to text`,
    );
  }
  const digits = `${m[2]}${frac.slice(0, scale).padEnd(scale, '0')}`.replace(/^0+(?=\d)/, '');
  if (digits.length > precision) {
    refuse(
      column,
      value,
      `needs more than ${precision} digits, which DECIMAL(${precision},${scale}) cannot hold`,
      `cast it in the sync's query to a numeric(p,s) that fits it (p up to 38), or to text`,
    );
  }
  const unscaled = BigInt(digits);
  return m[1] === '-' ? -unscaled : unscaled;
}

/** The bytes of a bytea value in PostgreSQL's hex output (`\x0a0b`). */
export function readBytes(column: ExportColumn, value: string): Uint8Array {
  if (!/^\\x(?:[0-9a-fA-F]{2})*$/.test(value)) {
    return refuse(
      column,
      value,
      'is not bytea hex output',
      "set bytea_output = 'hex' for the sync's session",
    );
  }
  return Buffer.from(value.slice(2), 'hex');
}

export function readBoolean(column: ExportColumn, value: string): boolean {
  if (value === 't') return true;
  if (value === 'f') return false;
  return refuse(column, value, 'is not a PostgreSQL boolean (t/f)', 'check the sync query');
}

/** JSON text on one line: a newline in JSON text is only whitespace (strings cannot hold one raw). */
export function oneLineJson(text: string): string {
  return text.includes('\n') || text.includes('\r') ? text.replace(/[\r\n]/g, ' ') : text;
}

/** A JSON number for a PostgreSQL float, or a string for NaN / ±Infinity (JSON has no such number). */
export function jsonFloat(value: string): string {
  return value === 'NaN' || value === 'Infinity' || value === '-Infinity' ? `"${value}"` : value;
}

/** A JSON value for an element of an array: numbers and booleans as such, json embedded, the rest as strings. */
function jsonElement(element: Kind, value: string): string {
  switch (element.kind) {
    case 'int16':
    case 'int32':
    case 'int64':
      return value;
    case 'decimal':
      return NUMERIC.test(value) ? value : JSON.stringify(value);
    case 'float32':
    case 'float64':
      return jsonFloat(value);
    case 'boolean':
      return value === 't' ? 'true' : 'false';
    case 'json':
      return oneLineJson(value);
    default:
      return JSON.stringify(value);
  }
}

/** A PostgreSQL array literal (`{1,2}`, `{{a,"b c"},{NULL,d}}`, `[0:1]={x,y}`) as a JSON array. */
export function arrayToJson(column: ExportColumn, element: Kind, value: string): string {
  let i = value.startsWith('[') ? value.indexOf('=') + 1 : 0;
  const bad = (): never =>
    refuse(column, value, 'is not a PostgreSQL array literal', "cast it in the sync's query to text");
  const parse = (): string => {
    if (value[i] !== '{') return bad();
    i++;
    const parts: string[] = [];
    if (value[i] === '}') {
      i++;
      return '[]';
    }
    for (;;) {
      if (value[i] === '{') parts.push(parse());
      else if (value[i] === '"') {
        let s = '';
        i++;
        while (i < value.length && value[i] !== '"') {
          if (value[i] === '\\') i++;
          s += value[i];
          i++;
        }
        if (value[i] !== '"') return bad();
        i++;
        parts.push(jsonElement(element, s));
      } else {
        let j = i;
        while (j < value.length && value[j] !== ',' && value[j] !== '}') j++;
        const raw = value.slice(i, j).trim();
        i = j;
        parts.push(raw.toUpperCase() === 'NULL' ? 'null' : jsonElement(element, raw));
      }
      if (value[i] === ',') {
        i++;
        continue;
      }
      if (value[i] === '}') {
        i++;
        return `[${parts.join(',')}]`;
      }
      return bad();
    }
  };
  const out = parse();
  if (i !== value.length) bad();
  return out;
}
