// `wharf inspect`, the writing part: the inspected sections as a readable wharf YAML file,
// in the order of the examples (connections, schemas, tables, roles, grants, default
// privileges, datashares, buckets), one line per column, with the editor's schema line first
// and the notes (what was seen but cannot be written) as comments. Pure.
import { escapeControlKeepLayout } from '../render/safe-text.js';
import type { Entry, InspectNote } from './inspect-map.js';

export interface InspectDocument {
  /** The schema line's path to schemas/wharf.schema.json, relative to the written file. */
  schemaRef: string;
  header: string[];
  connections: Record<string, Record<string, unknown>>;
  defaultConnection?: string;
  sections: [string, Entry<Record<string, unknown>>[]][];
  notes: InspectNote[];
}

const RESERVED = /^(true|false|yes|no|on|off|null|y|n|~)$/i;
const PLAIN = /^[A-Za-z_][A-Za-z0-9_$. ()/-]*$/u;

/** A scalar as YAML: plain when it reads back as the same string, else double-quoted. */
export function scalar(v: unknown): string {
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  if (v === null) return 'null';
  const s = String(v);
  if (PLAIN.test(s) && !RESERVED.test(s) && !s.endsWith(' ') && !s.includes(' (') && !/\s#/.test(s)) return s;
  return JSON.stringify(s);
}

/** A value in flow style: `{ name: x, type: bigint }`, `[a, b]`. */
export function flow(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(flow).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    const parts = Object.entries(v).map(([k, x]) => `${scalar(k)}: ${flow(x)}`);
    return parts.length ? `{ ${parts.join(', ')} }` : '{}';
  }
  return scalar(v);
}

const WIDTH = 110;

const isMap = (x: unknown): x is Record<string, unknown> =>
  x !== null && typeof x === 'object' && !Array.isArray(x);

/**
 * A mapping in block style: the first line starts with `first`, the others with `indent`.
 * A value that fits on its line is written in flow style; a list of mappings always as a block
 * list (columns, statements), each item in flow style when it fits.
 */
function block(obj: Record<string, unknown>, indent: string, first: string): string[] {
  const lines: string[] = [];
  let lead = first;
  for (const [k, v] of Object.entries(obj)) {
    const key = `${lead}${scalar(k)}:`;
    lead = indent;
    if (Array.isArray(v) && v.length > 0 && v.every(isMap)) {
      lines.push(key);
      for (const x of v) {
        const one = `${indent}  - ${flow(x)}`;
        lines.push(...(one.length <= WIDTH ? [one] : block(x, `${indent}    `, `${indent}  - `)));
      }
    } else if (isMap(v) && `${key} ${flow(v)}`.length > WIDTH) {
      lines.push(key, ...block(v, `${indent}  `, `${indent}  `));
    } else lines.push(`${key} ${flow(v)}`);
  }
  return lines;
}

/** Comment lines. Text from the warehouse (object names in notes) may hold a carriage return
 *  or another line break YAML honours: every control character but the newline is escaped, so
 *  a comment can never end early and turn the rest of its line into file content. */
function comment(text: string, indent: string): string[] {
  return escapeControlKeepLayout(text)
    .replaceAll('\t', ' ')
    .split('\n')
    .map((l) => `${indent}# ${l}`.trimEnd());
}

/** Short entries fit on one line; tables and buckets are written as blocks. */
function entryLines(e: Entry<Record<string, unknown>>): string[] {
  const lines: string[] = e.comment ? comment(e.comment, '  ') : [];
  const one = `  - ${flow(e.value)}`;
  const nested = Object.values(e.value).some((v) => Array.isArray(v) && v.some(isMap));
  if (!nested && one.length <= WIDTH) lines.push(one);
  else lines.push(...block(e.value, '    ', '  - '));
  return lines;
}

export function renderInspected(doc: InspectDocument): string {
  const lines = [
    `# yaml-language-server: $schema=${doc.schemaRef}`,
    '#',
    ...doc.header.flatMap((h) => comment(h, '')),
  ];
  if (doc.notes.length > 0) {
    lines.push('#', '# Seen but not written (plan leaves these alone unless a line says otherwise):');
    for (const n of doc.notes) lines.push(...comment(`- ${n.object}: ${n.reason}`, ''));
  }
  lines.push('version: 1', '', 'connections:');
  for (const [name, c] of Object.entries(doc.connections))
    lines.push(
      ...block(c, '    ', `  ${scalar(name)}:\n    `)
        .join('\n')
        .split('\n'),
    );
  if (doc.defaultConnection) lines.push(`defaultConnection: ${scalar(doc.defaultConnection)}`);
  for (const [name, entries] of doc.sections) {
    if (entries.length === 0) continue;
    lines.push('', `${name}:`);
    for (const e of entries) lines.push(...entryLines(e));
  }
  return `${lines.join('\n')}\n`;
}
