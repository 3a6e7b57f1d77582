// Plan -> Markdown for pull-request comments: a summary table first, destructive changes
// called out, each change's statements folded in a <details> block.
import type { Change, Plan } from '../plan/plan.js';
import { summaryLine } from './text.js';

const ICON: Record<Change['action'], string> = { create: '➕', update: '✏️', replace: '♻️', delete: '🗑️' };

export function renderPlanMarkdown(plan: Plan): string {
  const out: string[] = ['### wharf plan', ''];
  const errors = plan.diagnostics.filter((d) => d.severity !== 'info');
  if (errors.length) {
    for (const d of errors) {
      out.push(
        `> **${d.severity}** ${d.file ? `\`${d.file}:${d.line}:${d.col}\` ` : ''}${d.path ? `\`${d.path}\` ` : ''}${escapeMd(d.message)}`,
      );
    }
    out.push('');
  }
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
  out.push('| | Address | Action | Destructive |', '|---|---|---|---|');
  for (const c of plan.changes) {
    out.push(`| ${ICON[c.action]} | \`${c.address}\` | ${c.action} | ${c.destructive ? '**yes**' : ''} |`);
  }
  out.push('', '<details><summary>Statements</summary>', '');
  for (const c of plan.changes) {
    out.push(`#### ${c.action} \`${c.address}\``, '');
    for (const r of c.reasons) out.push(`- ${escapeMd(r)}`);
    for (const f of c.fields)
      out.push(
        `- \`${f.path}\`: ${fmt(f.before)} → ${fmt(f.after)}${f.destructive ? ' **(destructive)**' : ''}`,
      );
    if (c.reasons.length || c.fields.length) out.push('');
    out.push('```sql', ...c.statements.map((s) => `${s.sql};`), '```', '');
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
