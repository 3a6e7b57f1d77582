// What the review screen shows, computed once from the plan contract: the changes grouped by
// connection and kind, the counts, the access summary, and each change's detail lines (its
// field-level before/after diff and the exact SQL or API calls). Pure: no ink, no React.
import type { Change, Plan } from '../../plan/plan.js';
import { unifiedDiff } from '../../plan/text-diff.js';
import { apiCallLine, policyChangeLines } from '../../render/api-call.js';
import { escapeControl as safe } from '../../render/safe-text.js';
import { summaryLine } from '../../render/text.js';

export interface Group {
  connection: string;
  kind: Change['kind'];
  /** Indices into plan.changes, in plan order. */
  changes: number[];
}

export interface ReviewModel {
  plan: Plan;
  groups: Group[];
  /** Group of each change (index into groups), by plan index. */
  groupOf: number[];
  /** One line per connection read: `warehouse (local, PostgreSQL 18.4)`. */
  connections: string[];
  /** `Plan: 1 to create, …` as the text output says it. */
  counts: string;
  destructive: number;
  widening: number;
  /** Who gains or loses which access, across warehouses and buckets. */
  access: string[];
  /** Diagnostics of the plan (warnings): the CLI prints them when the screen closes. */
  diagnostics: number;
  /** Lower-cased addresses, for the `/` filter. */
  addresses: string[];
}

export function buildModel(plan: Plan): ReviewModel {
  const groups: Group[] = [];
  const byKey = new Map<string, number>();
  const groupOf: number[] = [];
  plan.changes.forEach((c, i) => {
    const key = `${c.connection}\u0000${c.kind}`;
    let g = byKey.get(key);
    if (g === undefined) {
      g = groups.length;
      byKey.set(key, g);
      groups.push({ connection: c.connection, kind: c.kind, changes: [] });
    }
    groups[g]!.changes.push(i);
    groupOf.push(g);
  });
  return {
    plan,
    groups,
    groupOf,
    connections: Object.entries(plan.connections).map(([n, c]) => safe(`${n} (${c.type}, ${c.server})`)),
    counts: summaryLine(plan),
    destructive: plan.changes.filter((c) => c.destructive).length,
    widening: plan.changes.filter((c) => c.widening).length,
    access: accessLines(plan.changes),
    diagnostics: plan.diagnostics.length,
    addresses: plan.changes.map((c) => c.address.toLowerCase()),
  };
}

/**
 * The access summary: for buckets, the lines the plan already carries (`policy.access`, from
 * the policy analysis of src/providers/s3/policy/access.ts); for warehouses, what the grant
 * and default-privilege changes give or take, read from their before and after resources.
 */
export function accessLines(changes: readonly Change[]): string[] {
  const out: string[] = [];
  for (const c of changes) {
    if (c.policy) for (const a of c.policy.access) out.push(safe(a));
    const b = c.before;
    const a = c.after;
    const r = a ?? b;
    if (r?.kind === 'role') {
      // A membership gives the member every privilege of the role it joins.
      const had = b?.kind === 'role' ? b.memberOf : [];
      const has = a?.kind === 'role' ? a.memberOf : [];
      for (const g of has.filter((m) => !had.includes(m)))
        out.push(safe(`${r.name} gains the access of ${g} (member of it) (${c.connection})`));
      for (const g of had.filter((m) => !has.includes(m)))
        out.push(safe(`${r.name} loses the access of ${g} (no longer a member) (${c.connection})`));
      continue;
    }
    if (r?.kind === 'datashare') {
      // A consumer reads every schema and table in the share.
      const key = (x: { type: string; id: string }) => `${x.type} ${x.id}`;
      const had = b?.kind === 'datashare' ? b : undefined;
      const has = a?.kind === 'datashare' ? a : undefined;
      const before = new Set((had?.consumers ?? []).map(key));
      const after = new Set((has?.consumers ?? []).map(key));
      const objects = (d: typeof had) => [
        ...(d?.schemas ?? []).map((x) => `schema ${x}`),
        ...(d?.tables ?? []),
      ];
      const added = objects(has).filter((o) => !objects(had).includes(o));
      const removed = objects(had).filter((o) => !objects(has).includes(o));
      for (const k of after)
        if (!before.has(k))
          out.push(
            safe(
              `${k} gains read of datashare ${r.name} (${objects(has).join(', ') || 'nothing yet'}) (${c.connection})`,
            ),
          );
        else if (added.length)
          out.push(
            safe(`${k} gains read of ${added.join(', ')} through datashare ${r.name} (${c.connection})`),
          );
      for (const k of before)
        if (!after.has(k)) out.push(safe(`${k} loses read of datashare ${r.name} (${c.connection})`));
        else if (removed.length)
          out.push(
            safe(`${k} loses read of ${removed.join(', ')} through datashare ${r.name} (${c.connection})`),
          );
      continue;
    }
    if (r?.kind !== 'grant' && r?.kind !== 'default_privileges') continue;
    const had = new Set(b && (b.kind === 'grant' || b.kind === 'default_privileges') ? b.privileges : []);
    const has = new Set(a && (a.kind === 'grant' || a.kind === 'default_privileges') ? a.privileges : []);
    const gained = [...has].filter((p) => !had.has(p));
    const lost = [...had].filter((p) => !has.has(p));
    const on =
      r.kind === 'grant'
        ? `${r.objectType} ${r.object}`
        : `tables ${r.forRole} creates${r.schema ? ` in ${r.schema}` : ''}`;
    if (gained.length) out.push(safe(`${r.grantee} gains ${gained.join(', ')} on ${on} (${c.connection})`));
    if (lost.length) out.push(safe(`${r.grantee} loses ${lost.join(', ')} on ${on} (${c.connection})`));
  }
  return out;
}

export type Tone = 'plain' | 'add' | 'del' | 'hunk' | 'dim' | 'code' | 'warn';

export interface DetailLine {
  text: string;
  tone: Tone;
}

const show = (v: unknown): string =>
  v === null || v === undefined ? 'null' : typeof v === 'string' ? v : JSON.stringify(v);

const jsonLines = (v: unknown): string[] =>
  v === null || v === undefined ? [] : JSON.stringify(v, null, 2).split('\n');

function diffLines(before: unknown, after: unknown): DetailLine[] {
  return unifiedDiff(jsonLines(before), jsonLines(after)).map((l) => ({
    text: safe(l),
    tone: l.startsWith('@@') ? 'hunk' : l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : 'plain',
  }));
}

const scalar = (v: unknown) => v === null || v === undefined || typeof v !== 'object';

/**
 * A change expanded: its reasons, its field-level before/after (a unified diff for structured
 * values; the whole resource when the change lists no fields, as for creates and deletes), the
 * access and policy diff of a bucket change, then the exact SQL statements or API calls.
 */
export function detailLines(c: Change): DetailLine[] {
  const out: DetailLine[] = [];
  for (const r of c.reasons) out.push({ text: safe(`# ${r}`), tone: 'dim' });
  const fields = c.fields.filter((f) => !(f.path === 'policy' && c.policy));
  for (const f of fields) {
    const mark = f.destructive ? '  (destructive)' : '';
    if (scalar(f.before) && scalar(f.after)) {
      out.push({ text: safe(`${f.path}: ${show(f.before)} → ${show(f.after)}${mark}`), tone: 'warn' });
    } else {
      out.push({ text: safe(`${f.path}:${mark}`), tone: 'warn' });
      out.push(...diffLines(f.before, f.after));
    }
  }
  if (c.fields.length === 0 && (c.before || c.after)) out.push(...diffLines(c.before, c.after));
  const pol = policyChangeLines(c);
  if (pol.access.length || pol.diff.length) out.push({ text: 'policy:', tone: 'warn' });
  for (const a of pol.access) out.push({ text: safe(`  ${a}`), tone: 'plain' });
  for (const l of pol.diff)
    out.push({
      text: safe(l),
      tone: l.startsWith('@@') ? 'hunk' : l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : 'dim',
    });
  if (c.statements.length)
    out.push({ text: c.statements.some((s) => s.api) ? 'calls:' : 'SQL:', tone: 'dim' });
  for (const s of c.statements) {
    if (s.api) {
      out.push({ text: safe(`│ ${apiCallLine(s)}`), tone: 'code' });
      continue;
    }
    const lines = s.sql.split('\n');
    lines.forEach((l, i) => {
      out.push({ text: safe(`│ ${l}${i === lines.length - 1 ? ';' : ''}`), tone: 'code' });
    });
  }
  return out;
}

/** The symbol of each action, as the text output marks it. */
export const SYMBOL: Record<Change['action'], string> = {
  create: '+',
  update: '~',
  replace: '-/+',
  delete: '-',
};
