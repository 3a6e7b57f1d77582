// Plan -> terminal text. Reads only the plan contract, so `wharf show plan.json` prints the
// same thing `wharf plan` did.
import type { ApplyResult } from '../apply/apply.js';
import { type Action, type Change, type Diagnostic, type Plan, syncProblems } from '../plan/plan.js';
import { apiCallLine, policyChangeLines } from './api-call.js';
import { escapeControl as safe } from './safe-text.js';

export interface Style {
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

const wrap = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;
export const COLOR: Style = {
  red: wrap(31, 39),
  green: wrap(32, 39),
  yellow: wrap(33, 39),
  cyan: wrap(36, 39),
  dim: wrap(2, 22),
  bold: wrap(1, 22),
};
const id = (s: string) => s;
export const PLAIN: Style = { red: id, green: id, yellow: id, cyan: id, dim: id, bold: id };

const SYMBOL: Record<Action, string> = { create: '+', update: '~', replace: '-/+', delete: '-' };

function actionColor(a: Action, st: Style): (s: string) => string {
  return a === 'create' ? st.green : a === 'update' ? st.yellow : st.red;
}

export interface TextOptions {
  style: Style;
  verbose?: boolean;
  /** Include each change's statements (default true). */
  statements?: boolean;
  title?: string;
}

export function renderPlanText(plan: Plan, opts: TextOptions): string {
  const st = opts.style;
  const out: string[] = [];
  out.push(...renderDiagnostics(plan.diagnostics, st));
  const syncs = syncProblems(plan.diagnostics).length;
  if (syncs > 0) out.push(st.yellow(syncNote(syncs)));
  for (const [name, c] of Object.entries(plan.connections)) {
    out.push(st.dim(`Read ${name} (${c.type}, ${c.server}).`));
  }
  if (plan.partial) out.push('', st.yellow(partialNote(plan)));
  if (plan.changes.length === 0) {
    // A plan with errors is incomplete: it cannot vouch that nothing differs.
    if (plan.diagnostics.some((d) => d.severity === 'error'))
      out.push('', st.red('Not known whether the live state matches the file: the plan has errors (above).'));
    else if (plan.partial) out.push('', st.green('No changes at the targets.'));
    else out.push('', st.green('No changes. The live state matches the file.'));
  } else {
    out.push('', opts.title ?? 'wharf will make these changes, in this order:', '');
    for (const c of plan.changes) out.push(...renderChange(c, opts));
  }
  if (plan.exports?.length) out.push('', ...exportLines(plan, st));
  if (opts.verbose && plan.unmanaged.length > 0) {
    out.push('', st.dim(`Unmanaged (left alone, ${plan.unmanaged.length}):`));
    for (const u of plan.unmanaged) out.push(st.dim(`  ${u.address}  (${u.reason})`));
  } else if (plan.unmanaged.length > 0) {
    out.push('', st.dim(`${plan.unmanaged.length} unmanaged object(s) left alone; --verbose lists them.`));
  }
  out.push('', summaryLine(plan, st));
  if (plan.summary.destructive > 0) {
    out.push(st.red(`${plan.summary.destructive} destructive change(s): apply needs --allow-destroy.`));
  }
  const widening = plan.changes.filter((c) => c.widening).length;
  if (widening > 0) {
    out.push(
      st.red(`${widening} change(s) widen access: apply needs --allow-widen (or approval at the prompt).`),
    );
  }
  return `${out.join('\n')}\n`;
}

/**
 * At the top of a plan made with `-target`: it holds some changes only, which ones, and how many
 * a full plan would also make.
 */
export function partialNote(plan: Plan, code: (s: string) => string = (s) => s): string {
  const p = plan.partial;
  if (!p) return '';
  const needed = plan.changes.filter((c) => c.requiredBy).length;
  const left = p.leftOut;
  return `Partial plan (-target ${p.targets.map((t) => code(safe(t))).join(', ')}): only the targeted changes${needed ? ` and ${needed.toLocaleString('en-US')} they need` : ''}; ${left === 0 ? 'no other change is left out' : `${left.toLocaleString('en-US')} other change${left === 1 ? ' is' : 's are'} left out (wharf plan without -target shows them)`}.`;
}

/** The bucket exports `wharf sync` runs: where, how, which types, how many rows, who can read them. */
export function exportLines(plan: Plan, st: Style = PLAIN): string[] {
  const out = ['Exports (written by wharf sync, not by apply):'];
  for (const e of plan.exports ?? []) {
    const rows =
      e.estimatedRows !== undefined
        ? `, ~${e.estimatedRows.toLocaleString('en-US')} rows on the next run (estimate)`
        : '';
    out.push(
      `  ${st.bold(safe(e.sync))}: ${safe(e.source)} -> ${safe(`${e.bucket}/${e.prefix}`)} (${e.connection}), ${e.mode}, ${e.format}${e.compression !== 'none' ? ` + ${e.compression}` : ''}${rows}`,
    );
    if (e.partition) out.push(`      partitioned by ${safe(e.partition)}`);
    if (e.watermark !== undefined)
      out.push(`      watermark: ${safe(e.watermark ?? '(none: the first run writes every row)')}`);
    if (e.ready) out.push(`      readiness signal: ${safe(e.ready)}`);
    if (e.readers)
      out.push(
        `      readable by: ${e.readers.length ? safe(e.readers.join(', ')) : st.yellow('nobody in the bucket policy (see the warning above)')}`,
      );
    if (e.note) out.push(`      ${st.dim(safe(e.note))}`);
    else
      out.push(
        `      columns: ${e.columns.map((c) => `${safe(c.name)} ${safe(c.type)} -> ${c.fileType}`).join(', ')}`,
      );
  }
  return out;
}

export function summaryLine(plan: Plan, st: Style = PLAIN): string {
  const s = plan.summary;
  if (plan.changes.length === 0) return st.bold('Plan: no changes.');
  return st.bold(
    `Plan: ${s.create} to create, ${s.update} to update, ${s.replace} to replace, ${s.delete} to delete${s.destructive ? ` (${s.destructive} destructive)` : ''}.`,
  );
}

function renderChange(c: Change, opts: TextOptions): string[] {
  const st = opts.style;
  const color = actionColor(c.action, st);
  const out = [
    `  ${color(SYMBOL[c.action].padEnd(3))} ${st.bold(c.address)}  ${color(c.action)}${c.destructive ? ` ${st.red('[destructive]')}` : ''}${c.widening ? ` ${st.red('[widens access]')}` : ''}`,
  ];
  if (c.requiredBy)
    out.push(`        ${st.yellow(`# pulled in: needed by ${safe(c.requiredBy.join(', '))}`)}`);
  for (const r of c.reasons) out.push(`        ${st.dim(`# ${safe(r)}`)}`);
  for (const f of c.fields) {
    if (f.path === 'policy' && c.policy) continue; // shown below as access lines and a diff
    const mark =
      f.before === null || f.before === undefined
        ? st.green('+')
        : f.after === null || f.after === undefined
          ? st.red('-')
          : st.yellow('~');
    const val = (v: unknown) =>
      v === null || v === undefined ? 'null' : typeof v === 'string' ? v : JSON.stringify(v);
    let text: string;
    if (f.before === null || f.before === undefined) text = `${f.path}: ${val(f.after)}`;
    else if (f.after === null || f.after === undefined) text = `${f.path}: ${val(f.before)}`;
    else text = `${f.path}: ${val(f.before)} → ${val(f.after)}`;
    out.push(`        ${mark} ${safe(text)}${f.destructive ? st.red('  (destructive)') : ''}`);
  }
  const pol = policyChangeLines(c);
  if (pol.access.length > 0 || pol.diff.length > 0) {
    out.push(`        ${st.yellow('~')} policy:`);
    for (const a of pol.access) out.push(`          ${safe(a)}`);
    for (const l of pol.diff)
      out.push(
        `          ${l.startsWith('+') ? st.green(safe(l)) : l.startsWith('-') ? st.red(safe(l)) : st.dim(safe(l))}`,
      );
  }
  if (opts.statements !== false) {
    for (const s of c.statements) {
      if (s.api) {
        out.push(`        ${st.dim('│')} ${st.cyan(safe(apiCallLine(s)))}`);
        continue;
      }
      const lines = s.sql.split('\n');
      out.push(
        ...lines.map(
          (l, i) =>
            `        ${st.dim(i === 0 ? '│' : '│')} ${st.cyan(safe(l))}${i === lines.length - 1 ? st.cyan(';') : ''}`,
        ),
      );
    }
  }
  return out;
}

/** Under the diagnostics when sync checks failed: what they stop, and what they do not. */
export function syncNote(n: number): string {
  return `${n === 1 ? 'This sync problem stops' : `These ${n} sync problems stop`} only the sync${n === 1 ? '' : 's'}: apply is not blocked, and wharf sync refuses ${n === 1 ? 'that sync' : 'those syncs'} until the tables match.`;
}

export function renderDiagnostics(diags: readonly Diagnostic[], st: Style): string[] {
  return diags.map((d) => {
    const where = d.file ? `${safe(d.file)}:${d.line ?? 1}:${d.col ?? 1}` : '';
    const sev =
      d.severity === 'error'
        ? st.red('error')
        : d.severity === 'warning'
          ? st.yellow('warning')
          : st.dim('info');
    return [where, safe(d.path ?? ''), `${sev}: ${safe(d.message)}`].filter(Boolean).join('  ');
  });
}

export function renderApplyResult(result: ApplyResult, st: Style): string {
  const out: string[] = [];
  const counts = { done: 0, failed: 0, 'not run': 0 };
  for (const r of result.results) counts[r.status]++;
  if (!result.ok) {
    out.push('', st.red('Apply failed. Status per change:'));
    for (const r of result.results) {
      const tag =
        r.status === 'done'
          ? st.green('done   ')
          : r.status === 'failed'
            ? st.red('failed ')
            : st.dim('not run');
      out.push(`  ${tag}  ${r.address}`);
      if (r.error) {
        out.push(`           ${st.red(safe(r.error.message))}`);
        if (r.error.detail) out.push(`           ${safe(r.error.detail)}`);
        if (r.error.sql)
          out.push(
            `           ${st.dim('while running:')} ${st.cyan(safe(r.error.sql.split('\n').join(' ')))}`,
          );
      }
    }
    out.push('', 'Changes marked done are committed; run wharf plan to see exactly what remains.');
  }
  out.push(
    st.bold(
      `Apply ${result.ok ? 'complete' : 'stopped'}: ${counts.done} done, ${counts.failed} failed, ${counts['not run']} not run.`,
    ),
  );
  return `${out.join('\n')}\n`;
}
