// Plan -> Markdown for pull-request comments: a summary table first, destructive changes
// called out, each change's statements folded in a <details> block.
import { type Change, type Plan, syncProblems } from '../plan/plan.js';
import { apiCallLine, policyChangeLines } from './api-call.js';
import { escapeControlKeepLayout } from './safe-text.js';
import { exportLines, summaryLine, syncNote } from './text.js';

const ICON: Record<Change['action'], string> = { create: '➕', update: '✏️', replace: '♻️', delete: '🗑️' };

/** The plan as Markdown; control and invisible characters from the file are shown as escapes. */
export function renderPlanMarkdown(plan: Plan): string {
  return escapeControlKeepLayout(markdownOf(plan));
}

function markdownOf(plan: Plan): string {
  const out: string[] = ['### wharf plan', ''];
  const errors = plan.diagnostics.filter((d) => d.severity !== 'info');
  if (errors.length) {
    for (const d of errors) {
      out.push(
        `> **${d.severity}** ${d.file ? `\`${d.file}:${d.line}:${d.col}\` ` : ''}${d.path ? `\`${d.path}\` ` : ''}${escapeMd(d.message)}`,
      );
    }
    const syncs = syncProblems(plan.diagnostics).length;
    if (syncs > 0) out.push('>', `> ${syncNote(syncs)}`);
    out.push('');
  }
  if (plan.exports?.length)
    out.push(
      '<details><summary>Exports (written by wharf sync)</summary>',
      '',
      '```',
      ...exportLines(plan),
      '```',
      '',
      '</details>',
      '',
    );
  if (plan.changes.length === 0) {
    out.push('No changes. The live state matches the file.', '');
    return out.join('\n');
  }
  out.push(`**${summaryLine(plan).replace(/^Plan: /, '')}**`, '');
  if (plan.summary.destructive > 0) {
    out.push(
      `> ⚠️ **${plan.summary.destructive} destructive change(s)**: applying needs \`--allow-destroy\`.`,
      '',
    );
  }
  const widening = plan.changes.filter((c) => c.widening).length;
  if (widening > 0) {
    out.push(`> ⚠️ **${widening} change(s) widen access**: applying needs \`--allow-widen\`.`, '');
  }
  out.push('| | Address | Action | Destructive |', '|---|---|---|---|');
  for (const c of plan.changes) {
    const flags = [c.destructive ? '**yes**' : '', c.widening ? '**widens access**' : ''].filter(Boolean);
    out.push(`| ${ICON[c.action]} | \`${c.address}\` | ${c.action} | ${flags.join(', ')} |`);
  }
  out.push('', '<details><summary>Statements</summary>', '');
  for (const c of plan.changes) {
    out.push(`#### ${c.action} \`${c.address}\``, '');
    for (const r of c.reasons) out.push(`- ${escapeMd(r)}`);
    for (const f of c.fields.filter((x) => !(x.path === 'policy' && c.policy)))
      out.push(
        `- \`${f.path}\`: ${fmt(f.before)} → ${fmt(f.after)}${f.destructive ? ' **(destructive)**' : ''}`,
      );
    if (c.reasons.length || c.fields.length) out.push('');
    const pol = policyChangeLines(c);
    if (pol.access.length > 0) out.push('Access:', '', ...pol.access.map((a) => `- ${escapeMd(a)}`), '');
    if (pol.diff.length > 0) out.push('```diff', ...pol.diff, '```', '');
    const sql = c.statements.filter((s) => !s.api);
    const api = c.statements.filter((s) => s.api);
    if (sql.length > 0 || api.length === 0) out.push('```sql', ...sql.map((s) => `${s.sql};`), '```', '');
    if (api.length > 0) out.push('```text', ...api.map(apiCallLine), '```', '');
  }
  out.push('</details>', '');
  return out.join('\n');
}

function fmt(v: unknown): string {
  if (v === null || v === undefined) return '_none_';
  return `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;
}

function escapeMd(s: string): string {
  return s.replace(/[|<>]/g, (c) => `\\${c}`);
}
