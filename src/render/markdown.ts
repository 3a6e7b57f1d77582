// Plan -> Markdown for pull-request comments and drift reports: a summary table first,
// destructive and widening changes called out, each change's statements folded in a
// <details> block. A comment on GitHub holds at most 65,536 characters, so the Markdown is
// capped: the summary, the problems, the destructive and widening changes and the access
// summaries are kept first, the other changes as room allows, and what is left out is
// counted in a note that says where the whole plan is.
import type { DriftReport } from '../plan/drift.js';
import { type Change, type Plan, syncProblems } from '../plan/plan.js';
import { apiCallLine, policyChangeLines } from './api-call.js';
import { escapeControlKeepLayout } from './safe-text.js';
import { exportLines, partialNote, summaryLine, syncNote } from './text.js';

const ICON: Record<Change['action'], string> = { create: '➕', update: '✏️', replace: '♻️', delete: '🗑️' };

/** The most characters (UTF-16 code units, as GitHub counts them) a GitHub comment holds. */
export const GITHUB_COMMENT_LIMIT = 65_536;

/**
 * What the Markdown stays under by default: the comment limit less room for what a pipeline
 * puts around it (a marker comment, a heading, a link to the run).
 */
export const MARKDOWN_MAX_CHARS = GITHUB_COMMENT_LIMIT - 4_096;

/** Room kept for the notes that count what was left out (they are written last). */
const NOTE_ROOM = 1_024;

export interface MarkdownOptions {
  /** Stay under this many characters (default MARKDOWN_MAX_CHARS). */
  maxChars?: number;
  /** The heading (default `### wharf plan`). */
  title?: string;
  /** Lines under the heading (drift: when it was checked). */
  intro?: string[];
  /** What to say when there is nothing to change and the plan has no errors. */
  noChanges?: string;
  /** The saved plan the reader can turn to when changes are left out (`plan --out`, `show`). */
  planFile?: string;
}

/** The plan as Markdown; control and invisible characters from the file are shown as escapes. */
export function renderPlanMarkdown(plan: Plan, opts: MarkdownOptions = {}): string {
  const max = opts.maxChars ?? MARKDOWN_MAX_CHARS;
  // Pieces are escaped one by one (so that their lengths are final); this covers the rest.
  const text = escapeControlKeepLayout(markdownOf(plan, opts, max));
  return text.length <= max ? text : hardCut(text, max);
}

/** `wharf drift --markdown`: the plan under a drift heading, with when it was checked. */
export function renderDriftMarkdown(
  report: DriftReport,
  opts: Pick<MarkdownOptions, 'maxChars'> = {},
): string {
  const when = `Checked at ${report.drift.checkedAt}`;
  const intro =
    report.drift.status === 'drift'
      ? `${when}: **the live state differs from the file.** Apply would make these changes:`
      : report.drift.status === 'unknown'
        ? `${when}: **drift could not be checked**, the plan has errors.`
        : `${when}.`;
  return renderPlanMarkdown(report, {
    ...opts,
    title: '### wharf drift',
    intro: [intro],
    noChanges: 'No drift. The live state matches the file.',
  });
}

/** One piece of the comment that may be left out, already escaped so that its length is final. */
interface Piece {
  text: string;
  shown: boolean;
}

const piece = (text: string): Piece => ({ text: escapeControlKeepLayout(text), shown: false });

/** A kept change's details: `full`, or `short` (without its policy diff and statements) when full does not fit. */
interface KeptDetail {
  full: Piece;
  short: Piece;
}

function markdownOf(plan: Plan, opts: MarkdownOptions, max: number): string {
  const head: string[] = [
    opts.title ?? '### wharf plan',
    '',
    ...(opts.intro ? [...opts.intro, ''] : []),
    ...(plan.partial ? [`> ⚠️ ${partialNote(plan, (t) => `\`${t}\``)}`, ''] : []),
  ];
  const problems = plan.diagnostics.filter((d) => d.severity !== 'info');
  const diagnostics = problems.map((d) =>
    piece(
      `> **${d.severity}** ${d.file ? `\`${d.file}:${d.line}:${d.col}\` ` : ''}${d.path ? `\`${d.path}\` ` : ''}${escapeMd(d.message)}`,
    ),
  );
  const exportsBlock = plan.exports?.length
    ? [
        piece(
          [
            '<details><summary>Exports (written by wharf sync)</summary>',
            '',
            '```',
            ...exportLines(plan),
            '```',
            '',
            '</details>',
            '',
          ].join('\n'),
        ),
      ]
    : [];
  const errors = plan.diagnostics.some((d) => d.severity === 'error');
  const summary: string[] = [];
  if (plan.changes.length === 0) {
    summary.push(
      errors
        ? 'Not known whether the live state matches the file: the plan has errors (above).'
        : plan.partial
          ? 'No changes at the targets.'
          : (opts.noChanges ?? 'No changes. The live state matches the file.'),
      '',
    );
  } else {
    summary.push(`**${summaryLine(plan).replace(/^Plan: /, '')}**`, '');
    if (plan.summary.destructive > 0)
      summary.push(
        `> ⚠️ **${plan.summary.destructive} destructive change(s)**: applying needs \`--allow-destroy\`.`,
        '',
      );
    const widening = plan.changes.filter((c) => c.widening).length;
    if (widening > 0)
      summary.push(`> ⚠️ **${widening} change(s) widen access**: applying needs \`--allow-widen\`.`, '');
  }
  if (plan.unmanaged.length > 0)
    summary.push(
      `_${plan.unmanaged.length.toLocaleString('en-US')} unmanaged object(s) left alone; \`wharf plan --verbose\` lists them._`,
      '',
    );

  const keep = plan.changes.map(mustKeep);
  const rows = plan.changes.map((c) => piece(rowOf(c)));
  const details = plan.changes.map(
    (c): KeptDetail => ({ full: piece(detailOf(c, true)), short: piece(detailOf(c, false)) }),
  );

  // What is always there, and the room left for the pieces.
  const fixed =
    [...head, ...summary].join('\n').length + TABLE_HEAD.length + DETAILS_OPEN.length + DETAILS_CLOSE.length;
  const room = { left: max - fixed - NOTE_ROOM - (opts.planFile?.length ?? 0) * 3 };
  const take = (p: Piece): boolean => {
    if (p.text.length + 1 > room.left) return false;
    room.left -= p.text.length + 1;
    p.shown = true;
    return true;
  };
  // In order of importance. Problems first, then the changes that need an approval, each with
  // its access summary, first without and then with their statements.
  takePrefix(diagnostics, take);
  for (let i = 0; i < rows.length; i++) if (keep[i]) take(rows[i]!);
  for (let i = 0; i < rows.length; i++) {
    const d = details[i]!;
    if (!keep[i] || take(d.short) || room.left < MIN_CLIPPED) continue;
    // Too long even without its statements (thousands of access lines): as many lines as fit.
    d.short = clipped(piece(detailOf(plan.changes[i]!, false, true)), room.left - 1);
    take(d.short);
  }
  for (let i = 0; i < rows.length; i++) {
    const d = details[i]!;
    if (!keep[i] || !d.short.shown) continue;
    room.left += d.short.text.length + 1;
    d.short.shown = false;
    if (!take(d.full)) take(d.short);
  }
  takePrefix(exportsBlock, take);
  // The other changes in plan order, rows before statements, as far as they fit.
  takePrefix(
    rows.filter((_, i) => !keep[i]),
    take,
  );
  takePrefix(
    details.filter((_, i) => !keep[i] && rows[i]!.shown).map((d) => d.full),
    take,
  );

  const where = opts.planFile
    ? `see the saved plan: \`wharf show ${opts.planFile}\` prints all of it`
    : 'run `wharf plan` to see all of it';
  const cap = `a comment holds at most ${GITHUB_COMMENT_LIMIT.toLocaleString('en-US')} characters`;
  const out: string[] = [...head];
  if (diagnostics.length) {
    out.push(...diagnostics.filter((p) => p.shown).map((p) => p.text));
    const hidden = diagnostics.filter((p) => !p.shown).length;
    if (hidden > 0) out.push(`> … ${count(hidden, 'more problem')} not shown (${cap}); ${where}.`);
    const syncs = syncProblems(plan.diagnostics).length;
    if (syncs > 0) out.push('>', `> ${syncNote(syncs)}`);
    out.push('');
  }
  out.push(...exportsBlock.filter((p) => p.shown).map((p) => p.text));
  out.push(...summary);
  if (plan.changes.length === 0) return out.join('\n');

  const shownRows = rows.filter((p) => p.shown);
  if (shownRows.length > 0) out.push(TABLE_HEAD, ...shownRows.map((p) => p.text));
  const hiddenRows = rows.filter((p) => !p.shown).length;
  if (hiddenRows > 0) {
    const hiddenKept = rows.filter((p, i) => !p.shown && keep[i]).length;
    out.push(
      '',
      `**… ${count(hiddenRows, 'more change')} not shown${hiddenKept > 0 ? `, ${hiddenKept.toLocaleString('en-US')} of them destructive or widening access` : ''}** (${cap}); ${where}.`,
    );
  }
  out.push(DETAILS_OPEN);
  let cut = 0;
  details.forEach((d, i) => {
    if (d.full.shown) out.push(d.full.text);
    else if (d.short.shown) out.push(d.short.text);
    if (!d.full.shown && rows[i]!.shown) cut++;
  });
  if (cut > 0)
    out.push(
      `_The statements of ${count(cut, 'change')} listed above are not shown (${cap}); ${where}._`,
      '',
    );
  out.push(DETAILS_CLOSE);
  return out.join('\n');
}

const TABLE_HEAD = '| | Address | Action | Destructive |\n|---|---|---|---|';
const DETAILS_OPEN = '\n<details><summary>Statements</summary>\n';
const DETAILS_CLOSE = '</details>\n';

/** Changes a reviewer must see whatever the plan's size: they need an approval or change who can read what. */
function mustKeep(c: Change): boolean {
  return c.destructive || Boolean(c.widening) || policyChangeLines(c).access.length > 0;
}

function rowOf(c: Change): string {
  const flags = [c.destructive ? '**yes**' : '', c.widening ? '**widens access**' : ''].filter(Boolean);
  return `| ${ICON[c.action]} | \`${c.address}\`${c.requiredBy ? ' _(needed by a target)_' : ''} | ${c.action} | ${flags.join(', ')} |`;
}

/**
 * A change's reasons, field changes and access summary, and with `statements` its policy diff
 * and statements. `accessFirst` puts the access summary above the rest, for a change that has
 * to be clipped.
 */
function detailOf(c: Change, statements: boolean, accessFirst = false): string {
  const out: string[] = [`#### ${c.action} \`${c.address}\``, ''];
  const pol = policyChangeLines(c);
  const access =
    pol.access.length > 0 ? ['Access:', '', ...pol.access.map((a) => `- ${escapeMd(a)}`), ''] : [];
  if (accessFirst) out.push(...access);
  if (c.requiredBy) out.push(`- pulled in: needed by ${c.requiredBy.map((a) => `\`${a}\``).join(', ')}`);
  for (const r of c.reasons) out.push(`- ${escapeMd(r)}`);
  for (const f of c.fields.filter((x) => !(x.path === 'policy' && c.policy)))
    out.push(
      `- \`${f.path}\`: ${fmt(f.before)} → ${fmt(f.after)}${f.destructive ? ' **(destructive)**' : ''}`,
    );
  if (c.requiredBy || c.reasons.length || c.fields.length) out.push('');
  if (!accessFirst) out.push(...access);
  if (!statements) {
    out.push('_Policy diff and statements not shown: the comment would be too long._', '');
    return out.join('\n');
  }
  if (pol.diff.length > 0) out.push('```diff', ...pol.diff, '```', '');
  const sql = c.statements.filter((s) => !s.api);
  const api = c.statements.filter((s) => s.api);
  if (sql.length > 0 || api.length === 0) out.push('```sql', ...sql.map((s) => `${s.sql};`), '```', '');
  if (api.length > 0) out.push('```text', ...api.map(apiCallLine), '```', '');
  return out.join('\n');
}

/** Below this much room a clipped change would say nothing useful. */
const MIN_CLIPPED = 400;

/** The first lines of a piece that fit in `max` with the note that counts the others. The piece holds no code fence. */
function clipped(p: Piece, max: number): Piece {
  const lines = p.text.split('\n');
  const note = (n: number) => `- _… ${count(n, 'more line')} not shown: the comment would be too long._\n`;
  let length = 0;
  let n = 0;
  while (n < lines.length && length + lines[n]!.length + 1 + note(lines.length).length <= max)
    length += lines[n++]!.length + 1;
  return { text: `${lines.slice(0, n).join('\n')}\n${note(lines.length - n)}`, shown: false };
}

/** Shows pieces in order until one does not fit; the rest stay out. */
function takePrefix(pieces: Piece[], take: (p: Piece) => boolean): void {
  for (const p of pieces) if (!take(p)) return;
}

/**
 * The last resort, should the parts that are always shown (the heading and summary) not fit:
 * cut at a line and say so, rather than post a comment GitHub refuses.
 */
function hardCut(text: string, max: number): string {
  const note = `\n\n**… cut at ${max.toLocaleString('en-US')} characters; run \`wharf plan\` to see all of it.**\n`;
  const room = Math.max(0, max - note.length);
  const head = text.slice(0, room);
  const nl = head.lastIndexOf('\n');
  return `${nl > 0 ? head.slice(0, nl) : head}${note}`;
}

/** "1 change", "9,812 more changes". */
function count(n: number, noun: string): string {
  return `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;
}

function fmt(v: unknown): string {
  if (v === null || v === undefined) return '_none_';
  return `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;
}

function escapeMd(s: string): string {
  return s.replace(/[|<>]/g, (c) => `\\${c}`);
}
