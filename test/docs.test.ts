// The documentation holds together: every relative link between README.md and docs/*.md
// resolves, #anchors included (GitHub's heading slugs); every page of docs/ is reachable from
// the README; every command, option and Terraform spelling the CLI accepts (read from the
// parser's own tables in src/cli/commands.ts) appears in docs/commands.md; and every key the
// JSON Schema defines, top-level or nested, appears in code on docs/file-format.md.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS, OPTIONS, TERRAFORM_SPELLINGS } from '../src/cli/commands.js';

const ROOT = path.join(import.meta.dirname, '..');
const DOCS = path.join(ROOT, 'docs');
const pages = [
  path.join(ROOT, 'README.md'),
  ...fs
    .readdirSync(DOCS)
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join(DOCS, f)),
];
const read = (file: string) => fs.readFileSync(file, 'utf8');
const rel = (file: string) => path.relative(ROOT, file);

/** The page without its fenced code blocks (their lines are kept, blank, so line numbers hold). */
function prose(text: string): string[] {
  let fence: string | undefined;
  return text.split('\n').map((line) => {
    const m = /^\s*(```+|~~~+)/.exec(line);
    if (m) {
      if (fence === undefined) fence = m[1];
      else if (m[1]!.startsWith(fence[0]!) && m[1]!.length >= fence.length) fence = undefined;
      return '';
    }
    return fence === undefined ? line : '';
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a page's headings, numbered like GitHub's when a heading repeats. */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of prose(read(file))) {
    const m = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

interface Link {
  from: string;
  line: number;
  target: string;
}

/** The Markdown links of a page's prose, outside code spans. */
function links(file: string): Link[] {
  const out: Link[] = [];
  prose(read(file)).forEach((line, i) => {
    const text = line.replace(/`[^`]*`/g, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) out.push({ from: file, line: i + 1, target: m[1]! });
  });
  return out;
}

/** Every word of the page's code: inline spans and fenced blocks. */
function codeWords(text: string): Set<string> {
  const code = [
    ...[...text.matchAll(/```[^\n]*\n([\s\S]*?)```/g)].map((m) => m[1]!),
    ...[...text.replace(/```[^\n]*\n[\s\S]*?```/g, '').matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!),
  ];
  return new Set(code.flatMap((c) => c.match(/[A-Za-z_$][\w$]*/g) ?? []));
}

interface JsonSchema {
  properties?: Record<string, JsonSchema>;
  [k: string]: unknown;
}

/** Every property name of the schema with the path it sits at, however deep. */
function schemaKeys(node: unknown, at: string, out: Map<string, string>): Map<string, string> {
  if (Array.isArray(node)) {
    node.forEach((n, i) => {
      schemaKeys(n, `${at}[${i}]`, out);
    });
  } else if (node && typeof node === 'object') {
    const o = node as JsonSchema;
    for (const [k, v] of Object.entries(o)) {
      if (k === 'properties' && v && typeof v === 'object' && !Array.isArray(v)) {
        for (const [name, child] of Object.entries(v)) {
          if (!out.has(name)) out.set(name, `${at}.properties.${name}`);
          schemaKeys(child, `${at}.properties.${name}`, out);
        }
      } else schemaKeys(v, `${at}.${k}`, out);
    }
  }
  return out;
}

describe('documentation', () => {
  it('slugs headings the way GitHub does', () => {
    expect(slug('Syncs (`wharf sync`)')).toBe('syncs-wharf-sync');
    expect(slug('The plan contract (`--json`)')).toBe('the-plan-contract---json');
    expect(slug("Terraform's spellings")).toBe('terraforms-spellings');
    expect(slug('The embedded warehouse (`type: local`)')).toBe('the-embedded-warehouse-type-local');
  });

  it('has one page per topic, each linked from the README', () => {
    const names = fs.readdirSync(DOCS).filter((f) => f.endsWith('.md'));
    for (const page of [
      'file-format.md',
      'commands.md',
      'plan.md',
      'postgres.md',
      'redshift.md',
      's3.md',
      'syncs.md',
      'testing.md',
      'benchmarks.md',
    ])
      expect(names).toContain(page);
    const fromReadme = new Set(
      links(path.join(ROOT, 'README.md')).map((l) => path.resolve(ROOT, l.target.split('#')[0]!)),
    );
    const unlinked = names.filter((n) => !fromReadme.has(path.join(DOCS, n)));
    expect(unlinked, 'docs pages the README does not link to').toEqual([]);
  });

  it('every relative link between the pages resolves, anchors included', () => {
    const all = pages.flatMap(links);
    const relative = all.filter((l) => !/^[a-z][a-z+.-]*:/i.test(l.target));
    expect(relative.length).toBeGreaterThan(30);
    const broken: string[] = [];
    for (const l of relative) {
      const [file, anchor] = l.target.split('#') as [string, string | undefined];
      const target = file === '' ? l.from : path.resolve(path.dirname(l.from), decodeURI(file));
      const where = `${rel(l.from)}:${l.line} → ${l.target}`;
      if (!fs.existsSync(target)) {
        broken.push(`${where}: no such file`);
        continue;
      }
      if (anchor === undefined) continue;
      if (!target.endsWith('.md')) broken.push(`${where}: an anchor into a file that is not Markdown`);
      else if (!anchors(target).has(anchor)) broken.push(`${where}: no heading with that anchor`);
    }
    expect(broken).toEqual([]);
  });

  it('docs/commands.md names every command, option and Terraform spelling the CLI accepts', () => {
    const page = read(path.join(DOCS, 'commands.md'));
    const code = [...page.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!).join('\n');
    const missing: string[] = [];
    for (const name of Object.keys(COMMANDS))
      if (!code.includes(`wharf ${name}`)) missing.push(`wharf ${name}`);
    for (const [name, spec] of Object.entries(OPTIONS)) {
      if (!new RegExp(`(^|[^-\\w])--${name}(?![\\w-])`, 'm').test(code)) missing.push(`--${name}`);
      if (spec.short && !new RegExp(`(^|[^-\\w])-${spec.short}(?![\\w-])`, 'm').test(code))
        missing.push(`-${spec.short}`);
    }
    for (const name of TERRAFORM_SPELLINGS)
      if (!new RegExp(`(^|[^-\\w])-${name}(?![\\w-])`, 'm').test(code)) missing.push(`-${name}`);
    expect(missing).toEqual([]);
  });

  it("docs/commands.md gives each command's exit codes in its row of the table", () => {
    const page = read(path.join(DOCS, 'commands.md'));
    const rows = page.split('\n').filter((l) => l.startsWith('| `wharf '));
    const wrong: string[] = [];
    for (const c of Object.values(COMMANDS)) {
      const mine = rows.filter(
        (r) => r.startsWith(`| \`wharf ${c.name} `) || r.startsWith(`| \`wharf ${c.name}\``),
      );
      if (c.name === 'help' || c.name === 'version') continue; // described in prose, exit 0
      if (mine.length === 0) {
        wrong.push(`${c.name}: no row`);
        continue;
      }
      for (const code of c.exitCodes.match(/\b\d+\b/g) ?? []) {
        const inRow = mine.some((r) => new RegExp(`\\b${code}\\b`).test(r.split('|').at(-2)!));
        const signal = ['129', '130', '143'].includes(code) && page.includes('exits 129, 130 or 143');
        if (!inRow && !signal) wrong.push(`${c.name}: exit code ${code}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('docs/file-format.md names every key of the JSON Schema, top-level and nested', () => {
    const schema = JSON.parse(read(path.join(ROOT, 'schemas', 'wharf.schema.json')));
    const keys = schemaKeys(schema, '#', new Map());
    expect(keys.size).toBeGreaterThan(50);
    for (const top of Object.keys(schema.properties)) expect(keys.has(top)).toBe(true);
    const words = codeWords(read(path.join(DOCS, 'file-format.md')));
    const missing = [...keys].filter(([k]) => !words.has(k)).map(([k, at]) => `${k} (${at})`);
    expect(missing).toEqual([]);
  });
});
