// Normalization applied to both sides before diffing: identifier folding, type aliases,
// privilege sets. Pure string work. Defaults are compared through the parser's canonical
// form (sql-parse.ts), never rewritten here.

/** Identifiers are folded to lower case, as the engines do for unquoted names. */
export function foldIdent(name: string): string {
  return name.toLowerCase();
}

const TYPE_ALIASES: Record<string, string> = {
  int: 'integer',
  int4: 'integer',
  integer: 'integer',
  int8: 'bigint',
  bigint: 'bigint',
  int2: 'smallint',
  smallint: 'smallint',
  float8: 'double precision',
  float: 'double precision',
  'double precision': 'double precision',
  double: 'double precision',
  float4: 'real',
  real: 'real',
  bool: 'boolean',
  boolean: 'boolean',
  text: 'text',
  varchar: 'character varying',
  'character varying': 'character varying',
  char: 'character',
  character: 'character',
  bpchar: 'character',
  'nchar varying': 'character varying',
  nvarchar: 'character varying',
  timestamp: 'timestamp without time zone',
  'timestamp without time zone': 'timestamp without time zone',
  timestamptz: 'timestamp with time zone',
  'timestamp with time zone': 'timestamp with time zone',
  time: 'time without time zone',
  'time without time zone': 'time without time zone',
  timetz: 'time with time zone',
  'time with time zone': 'time with time zone',
  date: 'date',
  numeric: 'numeric',
  decimal: 'numeric',
  json: 'json',
  jsonb: 'jsonb',
  uuid: 'uuid',
  bytea: 'bytea',
  interval: 'interval',
};

/**
 * Canonical type name as PostgreSQL's format_type() prints it, e.g.
 * `VARCHAR(64)` -> `character varying(64)`, `int8` -> `bigint`, `timestamptz` ->
 * `timestamp with time zone`. Unknown types pass through lower-cased with spaces collapsed.
 */
export function normalizeType(raw: string): string {
  let t = raw.trim().toLowerCase().replace(/\s+/g, ' ');
  let array = '';
  while (t.endsWith('[]')) {
    array += '[]';
    t = t.slice(0, -2).trim();
  }
  const m = /^([a-z][a-z0-9_ ]*?)\s*(\(([^)]*)\))?(\s+with(out)? time zone)?$/.exec(t);
  if (!m) return t + array;
  const base = m[1]!.trim();
  const mods = m[3]?.split(',').map((s) => s.trim()) ?? null;
  const tz = m[4]?.trim() ?? '';
  let name = TYPE_ALIASES[tz ? `${base} ${tz}` : base] ?? (tz ? `${base} ${tz}` : base);
  if (base === 'timestamp' || base === 'time') {
    name = `${base} ${tz || 'without time zone'}`;
    if (mods) return `${base}(${mods.join(',')}) ${tz || 'without time zone'}${array}`;
    return name + array;
  }
  if (name === 'character' && !mods) return `character(1)${array}`;
  if (mods) return `${name}(${mods.join(',')})${array}`;
  return name + array;
}

/** Type families and order, used to tell widening from narrowing. */
const INT_RANK: Record<string, number> = { smallint: 1, integer: 2, bigint: 3, numeric: 4 };

function parseType(t: string): { base: string; mods: number[] } {
  const m = /^([a-z ]+?)(\(([\d, ]+)\))?( with(out)? time zone)?$/.exec(t);
  if (!m) return { base: t, mods: [] };
  return {
    base: (m[1]! + (m[4] ?? '')).trim(),
    mods: m[3] ? m[3].split(',').map((x) => Number(x.trim())) : [],
  };
}

/** True when every value of `from` is representable in `to` without loss. */
export function isWidening(from: string, to: string): boolean {
  if (from === to) return true;
  const a = parseType(from);
  const b = parseType(to);
  if (a.base === 'character varying' && b.base === 'text') return true;
  if (a.base === 'character varying' && b.base === 'character varying') {
    if (b.mods.length === 0) return true;
    if (a.mods.length === 0) return false;
    return b.mods[0]! >= a.mods[0]!;
  }
  if (a.base === 'character' && (b.base === 'text' || b.base === 'character varying')) {
    return b.mods.length === 0 || b.mods[0]! >= (a.mods[0] ?? 1);
  }
  const ra = INT_RANK[a.base];
  const rb = INT_RANK[b.base];
  if (ra !== undefined && rb !== undefined) {
    if (a.base === 'numeric' && b.base === 'numeric') {
      if (b.mods.length === 0) return true;
      if (a.mods.length === 0) return false;
      const [ap = 0, as = 0] = a.mods;
      const [bp = 0, bs = 0] = b.mods;
      return bs >= as && bp - bs >= ap - as;
    }
    if (b.base === 'numeric') return b.mods.length === 0;
    return rb >= ra;
  }
  if (a.base === 'real' && b.base === 'double precision') return true;
  if (a.base === 'timestamp without time zone' && b.base === 'timestamp with time zone') return false;
  if (a.base === 'json' && b.base === 'jsonb') return false;
  return false;
}

const PRIVILEGE_ORDER = [
  'select',
  'insert',
  'update',
  'delete',
  'truncate',
  'references',
  'trigger',
  'maintain',
  'usage',
  'create',
];

export const DEFAULT_ALL_PRIVILEGES = {
  schema: ['usage', 'create'],
  table: ['select', 'insert', 'update', 'delete', 'truncate', 'references', 'trigger'],
};

/**
 * Privileges lower-cased, de-duplicated, in a fixed order. `all` is expanded with the list the
 * engine reports for the object type (PostgreSQL 17 added MAINTAIN, so it is engine data).
 */
export function normalizePrivileges(privs: readonly string[], all: readonly string[]): string[] {
  // The common case, one plain privilege, skips the set and the sort.
  if (privs.length === 1 && /^[a-z]+$/.test(privs[0]!) && privs[0] !== 'all') return [privs[0]!];
  const set = new Set<string>();
  for (const p of privs) {
    const lp = p
      .toLowerCase()
      .trim()
      .replace(/\s+privileges$/, '');
    if (lp === 'all') for (const a of all) set.add(a);
    else set.add(lp);
  }
  return [...set].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

function rank(p: string): number {
  const i = PRIVILEGE_ORDER.indexOf(p);
  return i < 0 ? 100 : i;
}
