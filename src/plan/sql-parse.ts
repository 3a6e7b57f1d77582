// The file's SQL fragments (column types, defaults, sync queries) checked with the real
// PostgreSQL parser (libpg-query, WASM), never with patterns: a `type` is exactly one type
// name, a `default` exactly one expression, a sync `query` exactly one read-only SELECT.
// Also the canonical form defaults are compared through, so that comparing never rewrites
// what is inside a string or dollar-quoted literal. Pure: no I/O once the module is loaded.
import { loadModule, parseSync, scanSync } from 'libpg-query';

// The parser is WebAssembly; loading it is asynchronous and takes tens of milliseconds.
// Every importer gets it ready, so the checks below can stay synchronous.
await loadModule();

/** Why a fragment was refused; `offset` is a character offset into the fragment, when known. */
export interface SqlRefusal {
  ok: false;
  message: string;
  offset?: number;
}

// biome-ignore lint/suspicious/noExplicitAny: parse trees are walked generically.
type Node = any;

const MAX_FRAGMENT = 64 * 1024;

/** Parses `prefix + text + suffix`; a syntax error comes back with its offset inside `text`. */
function parseWrapped(prefix: string, text: string, suffix: string): { stmts: Node[] } | SqlRefusal {
  if (text.length > MAX_FRAGMENT) return { ok: false, message: `longer than ${MAX_FRAGMENT} characters` };
  if (text.includes('\0'))
    return { ok: false, message: 'contains a NUL character', offset: text.indexOf('\0') };
  try {
    const tree = parseSync(prefix + text + suffix) as { stmts?: { stmt: Node }[] };
    return { stmts: (tree.stmts ?? []).map((s) => s.stmt) };
  } catch (e) {
    const err = e as { message?: string; sqlDetails?: { cursorPosition?: number } };
    const pos = err.sqlDetails?.cursorPosition;
    const offset =
      pos === undefined || pos < 0 ? undefined : Math.max(0, Math.min(text.length, pos - prefix.length));
    const near = offset === undefined ? '' : ` (at character ${offset + 1})`;
    return { ok: false, message: `${err.message ?? 'syntax error'}${near}`, offset };
  }
}

/** Comments in a fragment that is spliced into a larger statement: never needed, refused. */
function commentIn(text: string): SqlRefusal | null {
  try {
    for (const t of scanSync(text).tokens) {
      if (t.tokenName === 'SQL_COMMENT' || t.tokenName === 'C_COMMENT')
        return { ok: false, message: 'comments are not allowed here', offset: t.start };
    }
  } catch {
    // A fragment the scanner cannot read fails the parse too, with a better message.
  }
  return null;
}

function onlyTarget(stmts: Node[]): Node | null {
  if (stmts.length !== 1) return null;
  const sel = stmts[0]?.SelectStmt;
  if (!sel) return null;
  const keys = Object.keys(sel).filter((k) => k !== 'limitOption' && k !== 'op' && k !== 'targetList');
  if (keys.length > 0 || sel.op !== 'SETOP_NONE' || sel.targetList?.length !== 1) return null;
  const rt = sel.targetList[0]?.ResTarget;
  if (!rt || rt.name !== undefined || rt.indirection !== undefined) return null;
  return rt.val;
}

export interface ParsedType {
  ok: true;
  /** Qualified name parts as the parser resolves them, e.g. `["pg_catalog","int4"]`. */
  names: string[];
  /** Integer type modifiers, e.g. `[10, 2]` for numeric(10,2). */
  mods: number[];
  arrayDims: number;
}

/**
 * Exactly one type name: modifiers (integers) and array bounds allowed; constraints,
 * clauses and anything after the name refused. `varchar(max)` (Redshift) is allowed.
 */
export function checkTypeName(text: string): ParsedType | SqlRefusal {
  // Files repeat a handful of types thousands of times: parse each spelling once.
  const known = typeCache.get(text);
  if (known) return known;
  const result = commonType(text) ?? parseTypeName(text);
  if (typeCache.size > 10_000) typeCache.clear();
  typeCache.set(text, result);
  return result;
}

const typeCache = new Map<string, ParsedType | SqlRefusal>();

/** The parser's own answer for a type name, without the table of common spellings. */
export function parseTypeName(text: string): ParsedType | SqlRefusal {
  if (text.trim() === '') return { ok: false, message: 'empty type' };
  const comment = commentIn(text);
  if (comment) return comment;
  const prefix = 'SELECT CAST(NULL AS ';
  const parsed = parseWrapped(prefix, text, ')');
  if ('ok' in parsed) return parsed;
  const val = onlyTarget(parsed.stmts);
  const cast = val?.TypeCast;
  if (!cast?.arg?.A_Const?.isnull)
    return {
      ok: false,
      message: 'expected exactly one type name (e.g. bigint, varchar(64), numeric(18,2), text[])',
    };
  const tn = cast.typeName;
  if (tn.setof || tn.pct_type)
    return { ok: false, message: 'expected a plain type name, not SETOF or %TYPE' };
  const mods: number[] = [];
  for (const m of tn.typmods ?? []) {
    if (m.A_Const?.ival !== undefined) mods.push(Number(m.A_Const.ival.ival ?? 0));
    else if (m.ColumnRef?.fields?.length === 1 && m.ColumnRef.fields[0]?.String?.sval === 'max')
      mods.push(-1);
    else
      return {
        ok: false,
        message: 'type modifiers must be whole numbers, e.g. varchar(64) or numeric(18,2)',
      };
  }
  return {
    ok: true,
    names: (tn.names ?? []).map((n: Node) => String(n.String?.sval ?? '')),
    mods,
    arrayDims: (tn.arrayBounds ?? []).length,
  };
}

/**
 * Exactly one scalar expression, as a column DEFAULT takes it: no second expression, no
 * clause after it, no sub-query, no comment. The engine still decides whether it is a valid
 * default (no column references, a matching type).
 */
export function checkExpression(text: string): { ok: true } | SqlRefusal {
  // Like types, a file repeats a few defaults (CURRENT_TIMESTAMP) on many tables.
  const known = expressionCache.get(text);
  if (known) return known;
  const result = commonExpression(text) ? { ok: true as const } : parseExpression(text);
  if (expressionCache.size > 10_000) expressionCache.clear();
  expressionCache.set(text, result);
  return result;
}

const expressionCache = new Map<string, { ok: true } | SqlRefusal>();

/** The parser's own answer for a default, without the table of common spellings. */
export function parseExpression(text: string): { ok: true } | SqlRefusal {
  if (text.trim() === '') return { ok: false, message: 'empty expression' };
  const comment = commentIn(text);
  if (comment) return comment;
  const parsed = parseWrapped('SELECT ', text, '');
  if ('ok' in parsed) return parsed;
  const val = onlyTarget(parsed.stmts);
  if (!val) return { ok: false, message: 'expected exactly one expression' };
  let bad: string | null = null;
  walk(val, (k, v) => {
    if (k === 'SubLink' || k === 'SelectStmt') bad = 'a sub-query is not allowed in a default';
    else if (k === 'ColumnRef' && v?.fields?.some((f: Node) => f.A_Star))
      bad = '* is not allowed in a default';
  });
  if (bad) return { ok: false, message: bad };
  return { ok: true };
}

const WRITES = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

/**
 * Exactly one SELECT (or VALUES / set operation) that only reads: no data-modifying CTE, no
 * SELECT … INTO, no locking clause (FOR UPDATE / FOR SHARE).
 */
export function checkSelectQuery(text: string): { ok: true } | SqlRefusal {
  if (text.trim() === '') return { ok: false, message: 'empty query' };
  const parsed = parseWrapped('', text, '');
  if ('ok' in parsed) return parsed;
  if (parsed.stmts.length !== 1)
    return { ok: false, message: `expected exactly one SELECT statement, found ${parsed.stmts.length}` };
  const stmt = parsed.stmts[0]!;
  if (!stmt.SelectStmt) {
    const kind = Object.keys(stmt)[0] ?? 'statement';
    return {
      ok: false,
      message: `expected a SELECT statement, found ${kind.replace(/Stmt$/, '').toUpperCase()}`,
    };
  }
  let bad: string | null = null;
  walk(stmt, (k, v) => {
    if (bad) return;
    if (WRITES.has(k))
      bad = `a data-modifying statement (${k.replace(/Stmt$/, '').toUpperCase()}) is not allowed`;
    else if (k === 'intoClause') bad = 'SELECT … INTO is not allowed';
    else if (k === 'lockingClause' && Array.isArray(v) && v.length > 0)
      bad = 'a locking clause (FOR UPDATE / FOR SHARE) is not allowed';
  });
  if (bad) return { ok: false, message: bad };
  return { ok: true };
}

/** A parse tree as text without token positions, to compare two parses of nearly the same text. */
function treeKey(stmts: Node[]): string {
  return JSON.stringify(stmts, (k, v) => (k === 'location' || k === 'stmt_len' ? undefined : v));
}

/**
 * Where `text` uses one of `words` (lower case) unquoted as a name: an occurrence is a name
 * when writing it quoted (`"word"`) leaves the parse tree as it was, where a keyword's meaning
 * would change (or the text would stop parsing). For an engine that reserves more words than
 * PostgreSQL (Redshift's `AS timestamp`). `offset` is a character offset into `text`.
 */
export function unquotedNames(text: string, words: ReadonlySet<string>): { word: string; offset: number }[] {
  const parsed = parseWrapped('', text, '');
  if ('ok' in parsed) return [];
  const original = treeKey(parsed.stmts);
  const bytes = Buffer.from(text);
  let tokens: { start: number; end: number }[];
  try {
    tokens = scanSync(text).tokens; // offsets in bytes of the UTF-8 text
  } catch {
    return [];
  }
  const out: { word: string; offset: number }[] = [];
  for (const t of tokens) {
    const raw = bytes.subarray(t.start, t.end).toString();
    const word = raw.toLowerCase();
    if (!words.has(word)) continue;
    const quoted = `${bytes.subarray(0, t.start).toString()}"${word}"${bytes.subarray(t.end).toString()}`;
    const again = parseWrapped('', quoted, '');
    if ('ok' in again || treeKey(again.stmts) !== original) continue;
    out.push({ word, offset: bytes.subarray(0, t.start).toString().length });
  }
  return out;
}

function walk(node: Node, visit: (key: string, value: Node) => void): void {
  if (Array.isArray(node)) {
    for (const x of node) walk(x, visit);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node)) {
    visit(k, v);
    walk(v, visit);
  }
}

const keyCache = new Map<string, string>();

/**
 * The canonical form a default is compared through: the parse tree without positions,
 * constants as their text (so `'-1'::integer` and `-1` agree), casts on constants dropped
 * (the engine adds them: `'x'::text`), and `now()` the same as CURRENT_TIMESTAMP. String
 * and dollar-quoted contents are kept exactly. An expression the parser cannot read (a
 * Redshift-only form) is compared as its trimmed text.
 */
export function expressionKey(text: string | null): string | null {
  if (text === null) return null;
  const cached = keyCache.get(text);
  if (cached !== undefined) return cached;
  let key: string;
  const parsed = parseWrapped('SELECT ', text, '');
  const val = 'ok' in parsed ? null : onlyTarget(parsed.stmts);
  if (val === null) key = `text:${text.trim()}`;
  else key = JSON.stringify(canonical(val));
  if (keyCache.size > 10_000) keyCache.clear();
  keyCache.set(text, key);
  return key;
}

function canonical(node: Node): Node {
  if (Array.isArray(node)) return node.map(canonical);
  if (node === null || typeof node !== 'object') return node;
  if (node.TypeCast?.arg?.A_Const) return canonical(node.TypeCast.arg);
  if (node.TypeCast?.arg?.TypeCast) return canonical(node.TypeCast.arg);
  if (node.A_Const) return { const: constText(node.A_Const) };
  const fn = node.FuncCall;
  if (fn && !fn.args && fn.funcname?.length === 1) {
    const name = fn.funcname[0]?.String?.sval;
    if (name === 'now' || name === 'transaction_timestamp')
      return { SQLValueFunction: { op: 'SVFOP_CURRENT_TIMESTAMP' } };
  }
  const out: Record<string, Node> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'location' || k === 'typmod') continue;
    out[k] = canonical(v);
  }
  return out;
}

function constText(c: Node): string | null {
  if (c.isnull) return null;
  if (c.ival) return String(c.ival.ival ?? 0);
  if (c.fval) return String(c.fval.fval);
  if (c.boolval) return c.boolval.boolval ? 'true' : 'false';
  if (c.sval) return String(c.sval.sval ?? '');
  if (c.bsval) return String(c.bsval.bsval ?? '');
  return JSON.stringify(c);
}

/** True when a default is the NULL constant (the engine stores no default for it). */
export function isNullDefault(text: string): boolean {
  const common = commonExpression(text);
  return common ? common === 'null' : parsedAsNull(text);
}

/** The parser's own answer to isNullDefault, without the table of common spellings. */
export function parsedAsNull(text: string): boolean {
  const parsed = parseWrapped('SELECT ', text, '');
  const val = 'ok' in parsed ? null : onlyTarget(parsed.stmts);
  return val !== null && JSON.stringify(canonical(val)) === '{"const":null}';
}

// The spellings files use most, answered as the parser answers them, without calling it: the
// first parse costs the parser's warm-up, which is more than a whole 1,000-object file takes to
// check otherwise. test/sql-parse.test.ts holds every entry to the parser's own answer.

/** Type names (lower case, one space between words) with the parse they get and how many
 * integer modifiers they take here; `none` is what the parser supplies when none are written. */
export const COMMON_TYPES: Readonly<Record<string, { names: string[]; mods: number; none?: number[] }>> = {
  bigint: { names: ['pg_catalog', 'int8'], mods: 0 },
  integer: { names: ['pg_catalog', 'int4'], mods: 0 },
  int: { names: ['pg_catalog', 'int4'], mods: 0 },
  smallint: { names: ['pg_catalog', 'int2'], mods: 0 },
  boolean: { names: ['pg_catalog', 'bool'], mods: 0 },
  real: { names: ['pg_catalog', 'float4'], mods: 0 },
  'double precision': { names: ['pg_catalog', 'float8'], mods: 0 },
  varchar: { names: ['pg_catalog', 'varchar'], mods: 1 },
  'character varying': { names: ['pg_catalog', 'varchar'], mods: 1 },
  char: { names: ['pg_catalog', 'bpchar'], mods: 1, none: [1] },
  character: { names: ['pg_catalog', 'bpchar'], mods: 1, none: [1] },
  numeric: { names: ['pg_catalog', 'numeric'], mods: 2 },
  decimal: { names: ['pg_catalog', 'numeric'], mods: 2 },
  timestamp: { names: ['pg_catalog', 'timestamp'], mods: 1 },
  'timestamp without time zone': { names: ['pg_catalog', 'timestamp'], mods: 0 },
  'timestamp with time zone': { names: ['pg_catalog', 'timestamptz'], mods: 0 },
  time: { names: ['pg_catalog', 'time'], mods: 1 },
  json: { names: ['pg_catalog', 'json'], mods: 0 },
  text: { names: ['text'], mods: 0 },
  timestamptz: { names: ['timestamptz'], mods: 0 },
  date: { names: ['date'], mods: 0 },
  jsonb: { names: ['jsonb'], mods: 0 },
  uuid: { names: ['uuid'], mods: 0 },
  bytea: { names: ['bytea'], mods: 0 },
  bool: { names: ['bool'], mods: 0 },
  int2: { names: ['int2'], mods: 0 },
  int4: { names: ['int4'], mods: 0 },
  int8: { names: ['int8'], mods: 0 },
  float4: { names: ['float4'], mods: 0 },
  float8: { names: ['float8'], mods: 0 },
  super: { names: ['super'], mods: 0 },
};

// ASCII only, and only the scanner's own whitespace around: anything else goes to the parser.
const COMMON_TYPE_RE = /^[ \t\n\r]*([A-Za-z]+(?: [A-Za-z]+)*)(?:\((\d{1,9})(?:,(\d{1,9}))?\))?[ \t\n\r]*$/;

function commonType(text: string): ParsedType | null {
  const m = COMMON_TYPE_RE.exec(text);
  if (!m) return null;
  const entry = COMMON_TYPES[m[1]!.toLowerCase()];
  if (!entry) return null;
  const mods = [m[2], m[3]].filter((x) => x !== undefined).map(Number);
  if (mods.length > entry.mods) return null;
  return {
    ok: true,
    names: [...entry.names],
    mods: mods.length === 0 && entry.none ? [...entry.none] : mods,
    arrayDims: 0,
  };
}

const COMMON_EXPRESSIONS: readonly [RegExp, 'null' | 'value'][] = [
  [/^null$/i, 'null'],
  [/^(?:true|false)$/i, 'value'],
  [/^-?\d{1,18}(?:\.\d{1,18})?$/, 'value'],
  [/^'[^'\\\0]{0,256}'$/, 'value'],
  [/^(?:current_timestamp|current_date|current_time|localtimestamp|localtime)$/i, 'value'],
  [/^(?:now|getdate)\(\)$/i, 'value'],
];

/** For a default spelled as the files mostly spell them: whether it is NULL; else null. */
function commonExpression(text: string): 'null' | 'value' | null {
  const core = text.replace(/^[ \t\n\r]+|[ \t\n\r]+$/g, '');
  for (const [re, kind] of COMMON_EXPRESSIONS) if (re.test(core)) return kind;
  return null;
}
