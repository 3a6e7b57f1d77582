// `-f DIR`: the folder's `*.yaml` and `*.yml` files (not its subfolders), read in name order and
// merged into one config. Lists are concatenated, `connections` and the other mappings are
// merged key by key; a definition given in two files (a connection, a schema, a table, a role,
// a bucket, a sync, a datashare, `defaultConnection`…) is an error reported at both places.
// Every diagnostic names the file it is about, with line and column in that file.
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { foldIdent } from '../plan/normalize.js';
import type { Diagnostic } from '../plan/plan.js';
import {
  dedupe,
  finishLoad,
  formatPath,
  type LoadOptions,
  type LoadResult,
  type Locator,
  parseConfigText,
  readSource,
  type YamlPath,
} from './load.js';

/** The sections that are lists, and how two entries are "the same definition". */
const LISTS: Record<string, ((item: Record<string, unknown>) => string | undefined) | undefined> = {
  schemas: (s) => named(s, 'schema'),
  tables: (t) =>
    typeof t.schema === 'string' && typeof t.name === 'string'
      ? `table ${foldIdent(t.schema)}.${foldIdent(t.name)}`
      : undefined,
  roles: (r) => named(r, 'role'),
  grants: undefined,
  defaultPrivileges: undefined,
  syncs: (s) => (typeof s.name === 'string' ? `sync ${s.name}` : undefined),
  buckets: (b) => (typeof b.name === 'string' ? `bucket ${b.name}` : undefined),
  datashares: (d) => named(d, 'datashare'),
};

function named(item: Record<string, unknown>, kind: string): string | undefined {
  if (typeof item.name !== 'string') return undefined;
  const conn = typeof item.connection === 'string' ? `${item.connection}.` : '';
  return `${kind} ${conn}${foldIdent(item.name)}`;
}

interface Part {
  file: string;
  data: Record<string, unknown>;
  locator: Locator;
}

export function loadConfigDir(dir: string, options: LoadOptions = {}): LoadResult {
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((e) => !e.isDirectory() && /\.ya?ml$/i.test(e.name))
      .map((e) => e.name)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      diagnostics: [
        {
          severity: 'error',
          code: 'file',
          message: `cannot read folder (${code})`,
          file: dir,
          line: 1,
          col: 1,
        },
      ],
    };
  }
  if (names.length === 0)
    return {
      diagnostics: [
        {
          severity: 'error',
          code: 'file',
          message: 'the folder holds no *.yaml or *.yml file',
          file: dir,
          line: 1,
          col: 1,
        },
      ],
    };
  const parts: Part[] = [];
  const diagnostics: Diagnostic[] = [];
  const hash = createHash('sha256');
  for (const name of names) {
    const file = path.join(dir, name);
    const read = readSource(file);
    if ('diagnostics' in read) {
      diagnostics.push(...read.diagnostics);
      continue;
    }
    hash.update(`${name}\0${read.text.length}\0${read.text}`);
    const parsed = parseConfigText(read.text, file, options);
    if (!parsed.ok) diagnostics.push(...parsed.diagnostics);
    else parts.push({ file, ...parsed });
  }
  if (diagnostics.length > 0) return { diagnostics: dedupe(diagnostics) };
  const merged = mergeParts(parts);
  if (merged.diagnostics.length > 0) return { diagnostics: dedupe(merged.diagnostics) };
  return finishLoad(merged.data, merged.locator, {
    file: dir,
    baseDir: path.resolve(dir),
    sha256: hash.digest('hex'),
    fileOf: merged.fileOf,
  });
}

interface Merged {
  data: Record<string, unknown>;
  locator: Locator;
  fileOf: (formatted: string | undefined) => string;
  diagnostics: Diagnostic[];
}

/** Where an entry of the merged config came from: a part, and its path there. */
interface Origin {
  part: number;
  path: YamlPath;
}

export function mergeParts(parts: Part[]): Merged {
  const data: Record<string, unknown> = {};
  const diagnostics: Diagnostic[] = [];
  /** Top-level keys (not lists): the part that gave each. */
  const top = new Map<string, number>();
  /** Entries of lists: their origin, by merged index. */
  const items = new Map<string, Origin[]>();
  /** Keys of top-level mappings (connections): their part. */
  const keys = new Map<string, Map<string, number>>();
  const at = (o: Origin, key = false) => {
    const part = parts[o.part]!;
    return { file: part.file, ...part.locator.at(o.path, key) };
  };
  const twice = (what: string, a: Origin, b: Origin, key = false) => {
    const pa = at(a, key);
    const pb = at(b, key);
    const where = (p: { file: string; line: number; col: number }) => `${p.file}:${p.line}:${p.col}`;
    diagnostics.push(
      {
        severity: 'error',
        code: 'duplicate-definition',
        message: `${what} is defined twice: here and at ${where(pb)}`,
        ...pa,
        path: formatPath(a.path),
      },
      {
        severity: 'error',
        code: 'duplicate-definition',
        message: `${what} is defined twice: here and at ${where(pa)}`,
        ...pb,
        path: formatPath(b.path),
      },
    );
  };
  const firstOf = new Map<string, Origin>();
  parts.forEach((part, k) => {
    for (const [key, value] of Object.entries(part.data)) {
      if (Object.hasOwn(LISTS, key) && Array.isArray(value)) {
        if (!Array.isArray(data[key])) data[key] = [];
        const list = data[key] as unknown[];
        const origins = items.get(key) ?? [];
        items.set(key, origins);
        const identity = LISTS[key];
        value.forEach((item, i) => {
          const o: Origin = { part: k, path: [key, i] };
          const named: Origin = { part: k, path: [key, i, 'name'] };
          const id =
            identity && item !== null && typeof item === 'object'
              ? identity(item as Record<string, unknown>)
              : undefined;
          if (id !== undefined) {
            const first = firstOf.get(id);
            if (first && first.part !== k) twice(id, first, named);
            else if (!first) firstOf.set(id, named);
          }
          list.push(item);
          origins.push(o);
        });
      } else if (
        key === 'connections' &&
        value !== null &&
        typeof value === 'object' &&
        !Array.isArray(value)
      ) {
        if (data[key] === undefined) data[key] = {};
        const into = data[key] as Record<string, unknown>;
        const from = keys.get(key) ?? new Map<string, number>();
        keys.set(key, from);
        for (const [name, conn] of Object.entries(value)) {
          const prev = from.get(name);
          if (prev !== undefined)
            twice(
              `connection ${name}`,
              { part: prev, path: [key, name] },
              { part: k, path: [key, name] },
              true,
            );
          else {
            from.set(name, k);
            into[name] = conn;
          }
        }
        top.set(key, top.get(key) ?? k);
      } else if (key === 'version' && top.has(key) && data[key] === value) {
        // Each part may say `version: 1`.
      } else {
        const prev = top.get(key);
        if (prev !== undefined) twice(key, { part: prev, path: [key] }, { part: k, path: [key] }, true);
        else {
          top.set(key, k);
          data[key] = value;
        }
      }
    }
  });
  const origin = (p: YamlPath): Origin => {
    const [head, second, ...rest] = p;
    if (typeof head !== 'string') return { part: 0, path: [] };
    const list = items.get(head);
    if (list && typeof second === 'number') {
      const o = list[second];
      if (o) return { part: o.part, path: [...o.path, ...rest] };
    }
    const mapped = keys.get(head)?.get(String(second));
    if (mapped !== undefined) return { part: mapped, path: p };
    const part = list?.[0]?.part ?? top.get(head);
    return part === undefined ? { part: 0, path: [] } : { part, path: [head] };
  };
  const locator: Locator = { at: (p, key) => at(origin(p), key) };
  const fileOf = (formatted: string | undefined) => parts[origin(parsePath(formatted ?? '')).part]!.file;
  return { data, locator, fileOf, diagnostics };
}

/** The first two segments of a formatted path (`roles[3].name` -> roles, 3), enough to find its part. */
function parsePath(formatted: string): YamlPath {
  const m = /^([^.[]+)(?:\[(\d+)\]|\.([^.[]+))?/.exec(formatted);
  if (!m) return [];
  return [m[1]!, ...(m[2] !== undefined ? [Number(m[2])] : m[3] !== undefined ? [m[3]] : [])];
}
