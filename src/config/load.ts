// Reads a wharf file: YAML with source positions, JSON Schema validation (ajv), then the
// semantic rules. Every problem becomes a Diagnostic with file:line:col and YAML path;
// all problems are collected, none thrown.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ErrorObject, ValidateFunction } from 'ajv';
import {
  CORE_SCHEMA,
  constructFromEvents,
  EVENT_ID,
  type Event,
  getScalarValue,
  parseEvents,
  SCALAR_STYLE,
} from 'js-yaml';
import type { LineCounter, Node } from 'yaml';
import type { Diagnostic } from '../plan/plan.js';
import { engineFor, engines } from '../providers/engine.js';
import { variableScope } from './env.js';
import { checkLimits } from './limit-rules.js';
import { loadConfigDir } from './load-dir.js';
import { checkDataDirs } from './path-rules.js';
import { checkRules } from './rules.js';
import { decodeUtf8, forbiddenCharacter, LinePositions, normalizeLineEnds } from './source.js';
import type { ConnectionConfig, LoadedConfig, WharfConfig } from './types.js';
import { substituteVariables } from './variables.js';

export type YamlPath = (string | number)[];

export interface Locator {
  /**
   * Position of the value at `path` (or of its key when `key` is set); nearest ancestor if absent.
   * `file` is set when the config was read from several files (a folder).
   */
  at(path: YamlPath, key?: boolean): { line: number; col: number; file?: string };
}

export interface LoadResult {
  loaded?: LoadedConfig;
  diagnostics: Diagnostic[];
}

export function formatPath(p: YamlPath): string {
  let out = '';
  for (const seg of p) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out || '(root)';
}

let validator: ValidateFunction | undefined;
/** The options the schema is compiled with, here and in scripts/build-schema-validator.mjs. */
export const AJV_OPTIONS = { allErrors: true, verbose: true, strict: false } as const;

function schemaValidator(): ValidateFunction {
  if (!validator) {
    const require = createRequire(import.meta.url);
    // The build precompiles the schema next to this module; from src (tests) compile it here.
    try {
      validator = require('./schema-validator.cjs') as ValidateFunction;
    } catch {
      validator = compileSchemaValidator();
    }
  }
  return validator;
}

export function compileSchemaValidator(): ValidateFunction {
  const require = createRequire(import.meta.url);
  const schema = require('../../schemas/wharf.schema.json');
  const { Ajv } = require('ajv') as typeof import('ajv');
  return new Ajv(AJV_OPTIONS).compile(schema);
}

export interface LoadOptions {
  /** Where `${env:NAME}` is looked up (default: the command line's variables, then the environment). */
  env?: NodeJS.ProcessEnv;
}

/** A file, or a folder whose `*.yaml` and `*.yml` files are read as one (see loadConfigDir). */
export function loadConfigFile(file: string, options: LoadOptions = {}): LoadResult {
  if (isDirectory(file)) return loadConfigDir(file, options);
  const read = readSource(file);
  if ('diagnostics' in read) return read;
  return loadConfigText(read.text, file, options);
}

function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}

/** The file's text, or the diagnostic that says why it cannot be read. */
export function readSource(file: string): { text: string } | { diagnostics: Diagnostic[] } {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'file not found'
        : code === 'EISDIR'
          ? 'is a directory'
          : `cannot read file (${code})`;
    return { diagnostics: [{ severity: 'error', code: 'file', message: why, file, line: 1, col: 1 }] };
  }
  const decoded = decodeUtf8(buf);
  if ('problem' in decoded) {
    const at = new LinePositions(decoded.prefix).at(decoded.problem.offset);
    return {
      diagnostics: [{ severity: 'error', code: 'encoding', message: decoded.problem.message, file, ...at }],
    };
  }
  return { text: decoded.text };
}

/** Files up to this size get the exact parser's wording for syntax errors; larger ones the fast parser's. */
export const EXACT_PARSE_LIMIT = 64 * 1024;

export function loadConfigText(text: string, file: string, options: LoadOptions = {}): LoadResult {
  const parsed = parseConfigText(text, file, options);
  if (!parsed.ok) return { diagnostics: parsed.diagnostics };
  return finishLoad(parsed.data, parsed.locator, {
    file,
    baseDir: path.dirname(path.resolve(file)),
    sha256: createHash('sha256').update(text).digest('hex'),
  });
}

type Parsed =
  | { ok: true; data: Record<string, unknown>; locator: Locator }
  | { ok: false; diagnostics: Diagnostic[] };

/** The file's mapping, with the variables of its load-time fields resolved. */
export function parseConfigText(text: string, file: string, options: LoadOptions): Parsed {
  const source = normalizeLineEnds(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  const lines = new LinePositions(source);
  const bad = forbiddenCharacter(source);
  if (bad) {
    const at = lines.at(bad.offset);
    return {
      ok: false,
      diagnostics: [{ severity: 'error', code: 'yaml-syntax', message: bad.message, file, ...at }],
    };
  }
  // Fast path: js-yaml's event parser. Its events carry source offsets, so the positions a
  // diagnostic needs are built from them (once, on the first request) without a second parse.
  // The exact parser (the `yaml` package) speaks only when the fast one fails: it words syntax
  // errors better, so small files get its message; a large file gets the fast parser's, so a
  // broken 5 MB file is reported as quickly as a valid one is read.
  const fast = fastParseEvents(source);
  let data: unknown;
  let locator: Locator;
  if (fast.ok) {
    data = fast.data;
    let built: Locator | undefined;
    locator = {
      at(p, key) {
        built ??= eventsLocator(fast.events, source, lines);
        return built.at(p, key);
      },
    };
  } else {
    if (source.length <= EXACT_PARSE_LIMIT) {
      const exact = exactParse(source, file);
      if (exact.diagnostics.length > 0) return { ok: false, diagnostics: exact.diagnostics };
    }
    const at = lines.at(fast.offset);
    return {
      ok: false,
      diagnostics: [{ severity: 'error', code: 'yaml-syntax', message: fast.message, file, ...at }],
    };
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return {
      ok: false,
      diagnostics: [
        {
          severity: 'error',
          code: 'schema',
          message: 'the file must be a mapping with at least `version: 1`',
          file,
          line: 1,
          col: 1,
        },
      ],
    };
  }
  const problems = substituteVariables(data, locator, options.env ?? variableScope());
  if (problems.length > 0) return { ok: false, diagnostics: dedupe(problems.map((d) => ({ ...d, file }))) };
  return { ok: true, data: data as Record<string, unknown>, locator };
}

/** Validates a file's data (one file's, or a folder's merged) and applies the rules. */
export function finishLoad(
  data: Record<string, unknown>,
  locator: Locator,
  origin: { file: string; baseDir: string; sha256: string; fileOf?: (p: string | undefined) => string },
): LoadResult {
  const { file, baseDir } = origin;
  const fileOf = origin.fileOf ?? (() => file);
  const diagnostics: Diagnostic[] = [];
  const validate = schemaValidator();
  if (!validate(data)) {
    for (const d of mapAjvErrors(validate.errors ?? [], locator, file))
      diagnostics.push({ ...d, file: fileOf(d.path) });
    return { diagnostics: dedupe(diagnostics) };
  }
  const config = data as unknown as WharfConfig;
  // No connections: the embedded defaults, a local warehouse and, for buckets, local buckets.
  const connections: Record<string, ConnectionConfig> = config.connections ?? {
    local: { type: 'local' },
    ...(config.buckets?.length ? { buckets: { type: 'local-bucket' as const } } : {}),
  };
  const names = Object.keys(connections);
  // Buckets find their connection on their own (see src/providers/s3/rules.ts), so a file with one
  // warehouse and one bucket connection needs no defaultConnection.
  const warehouses = names.filter((n) => engineFor(connections[n]!.type)?.holds !== 'buckets');
  const defaultConnection =
    config.defaultConnection ??
    (names.length === 1 ? names[0]! : warehouses.length === 1 ? warehouses[0]! : '');
  for (const d of checkRules(config, connections, defaultConnection, locator))
    diagnostics.push({ ...d, file: fileOf(d.path) });
  for (const d of checkDataDirs(connections, baseDir, locator))
    diagnostics.push({ ...d, file: fileOf(d.path) });
  for (const d of checkLimits(config, locator)) diagnostics.push({ ...d, file: fileOf(d.path) });
  const loaded: LoadedConfig = {
    file,
    baseDir,
    config,
    connections,
    defaultConnection,
    sha256: origin.sha256,
    warnings: [],
  };
  loadedLocators.set(loaded, locator);
  loaded.warnings = diagnostics.filter((d) => d.severity !== 'error');
  diagnostics.sort(
    (a, b) =>
      (a.file ?? '').localeCompare(b.file ?? '') ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.col ?? 0) - (b.col ?? 0),
  );
  return { loaded, diagnostics };
}

/** The positions of a loaded config's values, as read when it was loaded. */
const loadedLocators = new WeakMap<LoadedConfig, Locator>();

/**
 * The file's data from js-yaml (YAML 1.2 core schema, like the exact parser), or undefined
 * when it cannot vouch for the result. The exact parser then decides and reports. A test
 * checks that both parsers agree on every example and fixture.
 */
export function fastParse(text: string): unknown {
  const r = fastParseEvents(normalizeLineEnds(text));
  return r.ok ? r.data : undefined;
}

/** Aliases may expand the document to at most this many nodes, or twice its own count. */
const MAX_EXPANDED_NODES = 10_000;

type FastResult =
  | { ok: true; data: unknown; events: Event[] }
  | { ok: false; message: string; offset: number };

/**
 * js-yaml's events, then the data. Refuses (with a position) what the exact parser would
 * refuse too: several documents, unknown tags (js-yaml throws on them), and aliases that
 * expand into far more nodes than the file holds (an alias bomb: everything after the parser
 * walks the expanded tree).
 */
function fastParseEvents(text: string): FastResult {
  let events: Event[];
  try {
    events = parseEvents(text, { maxDepth: 100 });
  } catch (e) {
    return yamlExceptionResult(e);
  }
  const expanded = expandedSize(events, text);
  const limit = Math.max(MAX_EXPANDED_NODES, 2 * events.length);
  if (expanded.size > limit)
    return {
      ok: false,
      message: `aliases expand the file to more than ${limit} nodes (an alias bomb?); write the values out instead`,
      offset: expanded.offset,
    };
  let docs: unknown[];
  try {
    docs = constructFromEvents(events, { source: text, schema: CORE_SCHEMA, maxAliases: -1 });
  } catch (e) {
    return yamlExceptionResult(e);
  }
  if (docs.length > 1) {
    let n = 0;
    const second = events.findIndex((ev) => ev.type === EVENT_ID.DOCUMENT && ++n === 2);
    const next = events.slice(second).find((ev) => ev.type !== EVENT_ID.DOCUMENT && ev.type !== EVENT_ID.POP);
    return {
      ok: false,
      message: SEVERAL_DOCUMENTS,
      offset: next ? eventStart(next, text) : 0,
    };
  }
  return { ok: true, data: docs.length === 0 ? null : docs[0], events };
}

const SEVERAL_DOCUMENTS = 'the file holds several YAML documents (---); a wharf file is one document';

function yamlExceptionResult(e: unknown): FastResult {
  const ex = e as { reason?: string; message?: string; mark?: { position: number } };
  let message = ex.reason ?? firstLine(String(ex.message));
  const tag = /^unknown \w+ tag !<(.*)>$/.exec(message)?.[1];
  if (tag !== undefined) message = unsupportedTag(tag.replace(/^tag:yaml\.org,2002:/, '!!'));
  else message = `YAML syntax error: ${message}`;
  return { ok: false, message, offset: ex.mark?.position ?? 0 };
}

function unsupportedTag(tag: string): string {
  return `unsupported YAML tag ${tag}: a wharf file holds plain strings, numbers, booleans, lists and mappings (quote the value to keep it as text)`;
}

/** Nodes in the document once every alias is replaced by what it points at. */
function expandedSize(events: Event[], text: string): { size: number; offset: number } {
  const sizes = new Map<string, number>();
  const stack: { count: number; anchor: string | undefined }[] = [{ count: 0, anchor: undefined }];
  let offset = 0;
  const add = (n: number) => {
    stack[stack.length - 1]!.count += n;
  };
  const anchorOf = (ev: { anchorStart: number; anchorEnd: number }) =>
    ev.anchorStart >= 0 ? text.slice(ev.anchorStart, ev.anchorEnd) : undefined;
  for (const ev of events) {
    switch (ev.type) {
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE:
        stack.push({ count: 1, anchor: anchorOf(ev) });
        break;
      case EVENT_ID.SCALAR: {
        const a = anchorOf(ev);
        if (a !== undefined) sizes.set(a, 1);
        add(1);
        break;
      }
      case EVENT_ID.ALIAS: {
        const n = sizes.get(text.slice(ev.anchorStart, ev.anchorEnd)) ?? 1;
        add(n);
        if (n > 1 && offset === 0) offset = Math.max(0, ev.anchorStart - 1);
        break;
      }
      case EVENT_ID.POP: {
        if (stack.length === 1) break; // a document's end
        const f = stack.pop()!;
        if (f.anchor !== undefined) sizes.set(f.anchor, f.count);
        add(f.count);
        break;
      }
    }
    if (stack[0]!.count > 1e9) break;
  }
  return { size: stack[0]!.count + stack.slice(1).reduce((s, f) => s + f.count, 0), offset };
}

const QUOTED = new Set<number>([SCALAR_STYLE.SINGLE_QUOTED, SCALAR_STYLE.DOUBLE_QUOTED]);

/** Where a node starts, as the exact parser counts it: at the quote or at the block indicator. */
function eventStart(ev: Event, text: string): number {
  switch (ev.type) {
    case EVENT_ID.MAPPING:
    case EVENT_ID.SEQUENCE:
      return ev.start;
    case EVENT_ID.ALIAS:
      return Math.max(0, ev.anchorStart - 1);
    case EVENT_ID.SCALAR: {
      if (ev.valueStart < 0) return -1;
      if (QUOTED.has(ev.style)) return ev.valueStart - 1;
      if (ev.style === SCALAR_STYLE.LITERAL_BLOCK || ev.style === SCALAR_STYLE.FOLDED_BLOCK) {
        const i = text.lastIndexOf(ev.style === SCALAR_STYLE.LITERAL_BLOCK ? '|' : '>', ev.valueStart);
        return i >= 0 ? i : ev.valueStart;
      }
      return ev.valueStart;
    }
    default:
      return -1;
  }
}

/** Positions for a file's text: from the fast parser's events, else from the exact parser. */
export function textLocator(text: string, file: string): Locator | undefined {
  return fastLocator(text) ?? exactParse(text, file).locator;
}

/** Positions in the file as it is now; null when it cannot be read any more. */
export function fileLocator(loaded: LoadedConfig): Locator | undefined | null {
  const stored = loadedLocators.get(loaded);
  if (stored) return stored;
  try {
    return textLocator(readFileSync(loaded.file, 'utf8'), loaded.file);
  } catch {
    return null;
  }
}

/** Positions for a file's text from the fast parser's events, or undefined if it does not parse. */
export function fastLocator(input: string): Locator | undefined {
  const text = normalizeLineEnds(input);
  const r = fastParseEvents(text);
  return r.ok ? eventsLocator(r.events, text, new LinePositions(text)) : undefined;
}

/**
 * Positions from js-yaml's events. One pass pairs each collection with its end; a mapping's
 * keys are hashed the first time a lookup passes through it, so each lookup costs the depth
 * of its path, however many keys a mapping holds, and untouched parts cost nothing.
 */
function eventsLocator(events: Event[], text: string, lines: LinePositions): Locator {
  const ends = new Int32Array(events.length);
  const open: number[] = [];
  for (let i = 0; i < events.length; i++) {
    const t = events[i]!.type;
    if (t === EVENT_ID.MAPPING || t === EVENT_ID.SEQUENCE || t === EVENT_ID.DOCUMENT) open.push(i);
    else if (t === EVENT_ID.POP) ends[open.pop()!] = i;
  }
  const isCollection = (i: number) =>
    events[i]!.type === EVENT_ID.MAPPING || events[i]!.type === EVENT_ID.SEQUENCE;
  const children = (i: number): number[] => {
    const out: number[] = [];
    for (let j = i + 1; j < ends[i]!; j = isCollection(j) ? ends[j]! + 1 : j + 1) out.push(j);
    return out;
  };
  const maps = new Map<number, Map<string, { key: number; value: number }>>();
  const seqs = new Map<number, number[]>();
  const keysOf = (i: number) => {
    let m = maps.get(i);
    if (!m) {
      m = new Map();
      const c = children(i);
      for (let k = 0; k + 1 < c.length; k += 2) {
        const ev = events[c[k]!]!;
        if (ev.type !== EVENT_ID.SCALAR) continue;
        const name = scalarKey(ev, text);
        if (!m.has(name)) m.set(name, { key: c[k]!, value: c[k + 1]! });
      }
      maps.set(i, m);
    }
    return m;
  };
  const itemsOf = (i: number) => {
    let items = seqs.get(i);
    if (!items) {
      items = children(i);
      seqs.set(i, items);
    }
    return items;
  };
  const root = events.findIndex((ev) => ev.type !== EVENT_ID.DOCUMENT);
  return {
    at(p, key = false) {
      if (root < 0 || events[root]!.type === EVENT_ID.POP) return { line: 1, col: 1 };
      let node = root;
      let pos = Math.max(0, eventStart(events[root]!, text));
      let keyPos = -1;
      for (const seg of p) {
        const ev = events[node]!;
        if (ev.type === EVENT_ID.MAPPING) {
          const e = keysOf(node).get(String(seg));
          if (!e) break;
          keyPos = eventStart(events[e.key]!, text);
          node = e.value;
          const start = eventStart(events[node]!, text);
          pos = start >= 0 ? start : keyPos;
        } else if (ev.type === EVENT_ID.SEQUENCE && typeof seg === 'number') {
          const item = itemsOf(node)[seg];
          if (item === undefined) break;
          keyPos = -1;
          node = item;
          const start = eventStart(events[node]!, text);
          if (start >= 0) pos = start;
        } else break;
      }
      return lines.at(key && keyPos >= 0 ? keyPos : pos);
    },
  };
}

/** A scalar key as the data spells it (plain scalars resolve: `1` and `true` are keys "1" and "true"). */
function scalarKey(ev: Extract<Event, { type: typeof EVENT_ID.SCALAR }>, text: string): string {
  const raw = getScalarValue(text, ev);
  if (ev.style !== SCALAR_STYLE.PLAIN || ev.tagStart >= 0) return raw;
  const v = CORE_SCHEMA.resolveImplicitScalarTag(raw).value;
  return String(v);
}

interface ExactParse {
  data?: unknown;
  locator?: Locator;
  diagnostics: Diagnostic[];
}

/** Tags a wharf file may spell out: the YAML 1.2 core schema's, and `!` (plain string). */
const KNOWN_TAGS = new Set(
  ['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`),
);

/**
 * The `yaml` package, loaded on first use: a valid file never needs it, and loading it costs
 * a command such as `wharf validate` a noticeable part of its start-up.
 */
function exactParser(): typeof import('yaml') {
  return createRequire(import.meta.url)('yaml') as typeof import('yaml');
}

/** The `yaml` package with source positions: exact syntax errors, duplicate keys, locations. */
export function exactParse(input: string, file: string): ExactParse {
  const text = normalizeLineEnds(input);
  const diagnostics: Diagnostic[] = [];
  const { LineCounter, parseDocument, visit, isNode } = exactParser();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  for (const err of doc.errors) {
    const pos = lineCounter.linePos(err.pos[0]);
    const dup = err.code === 'DUPLICATE_KEY';
    diagnostics.push({
      severity: 'error',
      code: dup ? 'duplicate-key' : 'yaml-syntax',
      message: dup
        ? `duplicate key ${JSON.stringify(keyAt(text, err.pos[0]))}: each key may appear once in a mapping`
        : err.code === 'MULTIPLE_DOCS'
          ? SEVERAL_DOCUMENTS
          : firstLine(err.message),
      file,
      line: pos.line,
      col: pos.col,
    });
  }
  // The exact parser only warns on a tag it does not know, and drops it: an error here.
  for (const w of doc.warnings) {
    const pos = lineCounter.linePos(w.pos[0]);
    const tag = /^Unresolved tag: (.*)$/.exec(firstLine(w.message))?.[1];
    diagnostics.push({
      severity: 'error',
      code: 'yaml-tag',
      message: tag !== undefined ? unsupportedTag(tag) : firstLine(w.message),
      file,
      ...pos,
    });
  }
  visit(doc, (_key, node) => {
    if (!isNode(node) || !node.tag || KNOWN_TAGS.has(node.tag) || node.tag === '!') return;
    const pos = lineCounter.linePos(node.range?.[0] ?? 0);
    if (!diagnostics.some((d) => d.line === pos.line && d.code === 'yaml-tag'))
      diagnostics.push({
        severity: 'error',
        code: 'yaml-tag',
        message: unsupportedTag(node.tag.replace(/^tag:yaml\.org,2002:/, '!!')),
        file,
        ...pos,
      });
  });
  if (diagnostics.length > 0) return { diagnostics: dedupe(diagnostics) };
  const locator = makeLocator(doc.contents, lineCounter);
  try {
    return { data: doc.toJS({ maxAliasCount: 100 }), locator, diagnostics };
  } catch (e) {
    return {
      diagnostics: [
        {
          severity: 'error',
          code: 'yaml-syntax',
          message: firstLine((e as Error).message),
          file,
          line: 1,
          col: 1,
        },
      ],
    };
  }
}

/** The plain or quoted scalar key that starts at `offset` (for duplicate-key messages). */
function keyAt(text: string, offset: number): string {
  const m = /^(?:"((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)'|([^:\n]*?))\s*:/.exec(text.slice(offset, offset + 300));
  return (m?.[1] ?? m?.[2]?.replace(/''/g, "'") ?? m?.[3] ?? '').trim();
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

export function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const out = ds.filter((d) => {
    const k = `${d.file}:${d.line}:${d.col}:${d.path}:${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return out.sort(
    (a, b) =>
      (a.file ?? '').localeCompare(b.file ?? '') ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.col ?? 0) - (b.col ?? 0),
  );
}

function makeLocator(root: unknown, lc: LineCounter): Locator {
  const { isMap, isPair, isScalar, isSeq } = exactParser();
  const pos = (n: Node | null | undefined) => {
    const off = n?.range?.[0] ?? 0;
    return lc.linePos(off);
  };
  return {
    at(p, key = false) {
      let node = root as Node | null;
      let keyNode: Node | null = null;
      for (const seg of p) {
        if (isMap(node)) {
          const pair = node.items.find(
            (it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(seg),
          );
          if (!pair) break;
          keyNode = pair.key as Node;
          node = (pair.value as Node | null) ?? keyNode;
        } else if (isSeq(node) && typeof seg === 'number') {
          const item = node.items[seg] as Node | undefined;
          if (!item) break;
          keyNode = null;
          node = item;
        } else {
          break;
        }
      }
      return pos(key && keyNode ? keyNode : node);
    },
  };
}

function pointerToPath(pointer: string): YamlPath {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

const IDENT_HELP =
  'use letters, digits, _ and $, starting with a letter or _ (at most 63 bytes on PostgreSQL, 127 on Redshift)';

function mapAjvErrors(errors: ErrorObject[], loc: Locator, file: string): Diagnostic[] {
  // anyOf/oneOf wrappers repeat their branches' errors; the branch errors say more.
  const out: Diagnostic[] = [];
  for (const e of errors) {
    const p = pointerToPath(e.instancePath);
    let target = p;
    let key = false;
    let message: string;
    switch (e.keyword) {
      case 'additionalProperties': {
        const prop = String((e.params as { additionalProperty: string }).additionalProperty);
        target = [...p, prop];
        key = true;
        const allowed = Object.keys((e.parentSchema as { properties?: object })?.properties ?? {});
        const hint = suggest(prop, allowed);
        message = `unknown key "${prop}"${hint ? ` (did you mean "${hint}"?)` : allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`;
        break;
      }
      case 'required':
        message = `missing required key "${(e.params as { missingProperty: string }).missingProperty}"`;
        break;
      case 'type': {
        const t = (e.params as { type: string | string[] }).type;
        message = `must be ${Array.isArray(t) ? t.join(' or ') : String(t).replace(/,/g, ' or ')}, got ${describe(e.data)}`;
        break;
      }
      case 'enum':
        message = `must be one of: ${[...new Set((e.params as { allowedValues: unknown[] }).allowedValues.map((v) => String(v).toLowerCase()))].join(', ')} (got ${describe(e.data)})`;
        break;
      case 'const':
        message = `must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
        break;
      case 'pattern': {
        // schemaPath is relative to the $ref'd definition, so tell the rule by the value's place.
        const last = p[p.length - 1];
        const parent = p[p.length - 2];
        if (parent === 'tables' || last === 'tables')
          message = `invalid table reference ${JSON.stringify(e.data)}: expected schema.table, where each part must ${IDENT_HELP}`;
        else if (p[0] === 'connections' && p.length === 1)
          message = `invalid connection name ${JSON.stringify(e.data)}: use letters, digits, _ and -`;
        else if (last === 'defaultConnection' || last === 'connection')
          message = `invalid connection name ${JSON.stringify(e.data)}: use letters, digits, _ and -`;
        else if (last === 'type' && p.includes('columns'))
          message = `invalid column type ${JSON.stringify(e.data)}: expected a type name such as bigint, varchar(64) or timestamp with time zone`;
        else if (last === 'from' && parent === 'partition')
          message = `invalid date ${JSON.stringify(e.data)}: expected YYYY-MM-DD`;
        else if (p[0] === 'syncs' && last === 'prefix')
          message = `invalid prefix ${JSON.stringify(e.data)}: a folder path of letters, digits and ! _ . * ' ( ) - = separated by /, such as events/ or vendor/events/`;
        else if (p[0] === 'syncs' && last === 'bucket')
          message = `invalid bucket name ${JSON.stringify(e.data)}: 3-63 lower-case letters, digits, dots and hyphens, as declared under buckets`;
        else
          message = engineMessage(p, e.data) ?? `invalid identifier ${JSON.stringify(e.data)}: ${IDENT_HELP}`;
        break;
      }
      case 'minItems':
        message = 'must not be empty';
        break;
      case 'minLength':
        message = 'must not be empty';
        break;
      case 'propertyNames':
        continue; // reported by the nested pattern error
      default:
        message = e.message ?? 'is invalid';
    }
    const at = loc.at(target, key);
    out.push({
      severity: 'error',
      code: e.keyword === 'additionalProperties' ? 'unknown-key' : 'schema',
      message,
      file,
      line: at.line,
      col: at.col,
      path: formatPath(target),
    });
  }
  return out;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}

function suggest(word: string, options: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const o of options) {
    const d = levenshtein(word.toLowerCase(), o.toLowerCase());
    if (d < bestD) {
      best = o;
      bestD = d;
    }
  }
  return best;
}

function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

/** The first engine's words for a pattern error at `path` (e.g. a bucket name), if any. */
function engineMessage(path: YamlPath, value: unknown): string | undefined {
  for (const e of engines()) {
    const m = e.patternMessage?.(path, value);
    if (m !== undefined) return m;
  }
  return undefined;
}
