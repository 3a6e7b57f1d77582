// Reads a wharf file: YAML with source positions, JSON Schema validation (ajv), then the
// semantic rules. Every problem becomes a Diagnostic with file:line:col and YAML path;
// all problems are collected, none thrown.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { CORE_SCHEMA, load as loadYaml } from 'js-yaml';
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { Diagnostic } from '../plan/plan.js';
import { bucketPatternMessage, isBucketConnectionType } from './bucket-config.js';
import { checkRules } from './rules.js';
import type { ConnectionConfig, LoadedConfig, WharfConfig } from './types.js';

export type YamlPath = (string | number)[];

export interface Locator {
  /** Position of the value at `path` (or of its key when `key` is set); nearest ancestor if absent. */
  at(path: YamlPath, key?: boolean): { line: number; col: number };
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
  return new Ajv(AJV_OPTIONS).compile(schema);
}

export function loadConfigFile(file: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
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
  return loadConfigText(text, file);
}

export function loadConfigText(text: string, file: string): LoadResult {
  const diagnostics: Diagnostic[] = [];
  // Fast path: most files are valid, and a valid file needs no source positions. Parse with
  // the fast parser and build positions (the slow, exact parser) only when a diagnostic asks.
  let data = fastParse(text);
  let locator: Locator;
  if (data !== undefined) {
    let exact: Locator | undefined;
    locator = {
      at(p, key) {
        exact ??= exactParse(text, file).locator ?? { at: () => ({ line: 1, col: 1 }) };
        return exact.at(p, key);
      },
    };
  } else {
    const exact = exactParse(text, file);
    if (exact.diagnostics.length > 0) return { diagnostics: exact.diagnostics };
    locator = exact.locator!;
    data = exact.data;
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return {
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

  const validate = schemaValidator();
  if (!validate(data)) {
    for (const d of mapAjvErrors(validate.errors ?? [], locator, file)) diagnostics.push(d);
    return { diagnostics: dedupe(diagnostics) };
  }
  const config = data as WharfConfig;
  // No connections: the embedded defaults, a local warehouse and, for buckets, local buckets.
  const connections: Record<string, ConnectionConfig> = config.connections ?? {
    local: { type: 'local' },
    ...(config.buckets?.length ? { buckets: { type: 'local-bucket' as const } } : {}),
  };
  const names = Object.keys(connections);
  // Buckets find their connection on their own (see bucket-rules), so a file with one
  // warehouse and one bucket connection needs no defaultConnection.
  const warehouses = names.filter((n) => !isBucketConnectionType(connections[n]!.type));
  const defaultConnection =
    config.defaultConnection ??
    (names.length === 1 ? names[0]! : warehouses.length === 1 ? warehouses[0]! : '');
  for (const d of checkRules(config, connections, defaultConnection, locator))
    diagnostics.push({ ...d, file });
  const loaded: LoadedConfig = {
    file,
    baseDir: path.dirname(path.resolve(file)),
    config,
    connections,
    defaultConnection,
    sha256: createHash('sha256').update(text).digest('hex'),
    warnings: [],
  };
  loaded.warnings = diagnostics.filter((d) => d.severity !== 'error');
  diagnostics.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
  return { loaded, diagnostics };
}

/**
 * The file's data from js-yaml (YAML 1.2 core schema, like the exact parser), or undefined
 * when it cannot vouch for the result: any error, or anchors and aliases (js-yaml has no guard
 * against alias bombs). The exact parser then decides and reports. A test checks that both
 * parsers agree on every example and fixture.
 */
export function fastParse(text: string): unknown {
  if (/(^|[\s[{,:-])[&*][^\s,\]}]/m.test(text)) return undefined;
  try {
    return loadYaml(text, { schema: CORE_SCHEMA });
  } catch {
    return undefined;
  }
}

interface ExactParse {
  data?: unknown;
  locator?: Locator;
  diagnostics: Diagnostic[];
}

/** The `yaml` package with source positions: exact syntax errors, duplicate keys, locations. */
export function exactParse(text: string, file: string): ExactParse {
  const diagnostics: Diagnostic[] = [];
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
        : firstLine(err.message),
      file,
      line: pos.line,
      col: pos.col,
    });
  }
  if (diagnostics.length > 0) return { diagnostics };
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

function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const out = ds.filter((d) => {
    const k = `${d.line}:${d.col}:${d.path}:${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return out.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
}

function makeLocator(root: unknown, lc: LineCounter): Locator {
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

const IDENT_HELP = 'use letters, digits, _ and $, starting with a letter or _, at most 63 characters';

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
        else if (p[0] === 'buckets' && (last === 'name' || parent === 'folders'))
          message = bucketPatternMessage(last === 'name' ? 'name' : 'folder', e.data);
        else if (p[0] === 'connections' && (last === 'region' || last === 'endpoint' || last === 'accountId'))
          message = bucketPatternMessage(last, e.data);
        else message = `invalid identifier ${JSON.stringify(e.data)}: ${IDENT_HELP}`;
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
