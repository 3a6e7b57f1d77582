// The review screen's state and the pure reducer every key and every apply event goes through.
// The list is virtualised: `rows` holds one entry per group heading, change and expanded detail
// line, and the view draws only `rows[top, top + listHeight)`; moving the cursor costs the same
// at 10 changes as at 10,000. Approval is a sequence of explicit steps: the count of destructive
// changes typed (what --allow-destroy says on the command line), the count of widening ones
// (--allow-widen), then `y`; no single key approves.
import type { ChangeResult } from '../../apply/apply.js';
import { type DetailLine, detailLines, type ReviewModel } from './model.js';

export type Phase = 'review' | 'approve' | 'approved' | 'applying' | 'finished' | 'cancelled' | 'closed';
export type RunStatus = 'pending' | 'running' | 'done' | 'failed' | 'not run';

export type Row =
  | { kind: 'group'; group: number; count: number }
  | { kind: 'change'; index: number; pos: number }
  | ({ kind: 'detail'; index: number } & DetailLine);

export interface AckStep {
  kind: 'destroy' | 'widen' | 'confirm';
  count: number;
}

export interface Approval {
  steps: AckStep[];
  step: number;
  typed: string;
  error?: string;
}

export interface RunState {
  status: RunStatus[];
  started: (number | undefined)[];
  ended: (number | undefined)[];
  errors: (ChangeResult['error'] | undefined)[];
  startedAt: number;
  endedAt?: number;
  ok?: boolean;
  /** The change that failed, when one did. */
  failed?: number;
}

export interface ReviewState {
  model: ReviewModel;
  /** `wharf show`: the screen never approves. */
  readOnly: boolean;
  /** What the command line already allowed (--allow-destroy, --allow-widen). */
  allowDestroy: boolean;
  allowWiden: boolean;
  width: number;
  height: number;
  phase: Phase;
  filter: string;
  editingFilter: boolean;
  /** `d`: only destructive and widening changes. */
  risky: boolean;
  help: boolean;
  /** `v`: the whole access summary instead of the list. */
  accessView: boolean;
  accessTop: number;
  expanded: ReadonlySet<number>;
  /** Plan indices of the changes shown, in group order. */
  visible: number[];
  rows: Row[];
  /** Row of each visible change, by position in `visible`. */
  rowOf: number[];
  /** Position in `visible` of each change, by plan index (-1: hidden by the filter). */
  posOf: Int32Array;
  /** Position in `visible`. */
  cursor: number;
  /** First row drawn. */
  top: number;
  approval?: Approval;
  run?: RunState;
  /** While applying, the cursor follows the running change until a key moves it. */
  follow: boolean;
  /** A one-line message (why a key did nothing). */
  note?: string;
}

export interface KeyInput {
  upArrow?: boolean;
  downArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  return?: boolean;
  escape?: boolean;
  backspace?: boolean;
  delete?: boolean;
  ctrl?: boolean;
  shift?: boolean;
}

export type Action =
  | { type: 'key'; input: string; key?: KeyInput }
  | { type: 'resize'; width: number; height: number }
  | { type: 'run-start'; index: number; at: number }
  | { type: 'run-end'; result: ChangeResult; index: number; at: number }
  | { type: 'run-finished'; results: readonly ChangeResult[]; at: number };

/** Lines above the list: title, connections, counts, access. */
export const HEADER_LINES = 4;

export interface InitOptions {
  readOnly?: boolean;
  allowDestroy?: boolean;
  allowWiden?: boolean;
  width: number;
  height: number;
}

export function initialState(model: ReviewModel, o: InitOptions): ReviewState {
  const s: ReviewState = {
    model,
    readOnly: o.readOnly ?? false,
    allowDestroy: o.allowDestroy ?? false,
    allowWiden: o.allowWiden ?? false,
    width: o.width,
    height: o.height,
    phase: 'review',
    filter: '',
    editingFilter: false,
    risky: false,
    help: false,
    accessView: false,
    accessTop: 0,
    expanded: new Set(),
    visible: [],
    rows: [],
    rowOf: [],
    posOf: new Int32Array(0),
    cursor: 0,
    top: 0,
    follow: true,
  };
  return relist(s);
}

/** The lines under the list, as the view draws them (each fits the width, except a failure's message). */
export function footerLines(s: ReviewState): number {
  if (s.phase === 'approve') return 3;
  if (s.run?.failed !== undefined) return 2 + failureLines(s).length;
  return 2;
}

/** A failure in full: message, detail and the statement that failed, wrapped to the width. */
export function failureLines(s: ReviewState): string[] {
  const i = s.run?.failed;
  if (i === undefined) return [];
  const e = s.run!.errors[i];
  const address = s.model.plan.changes[i]!.address;
  const parts = [`${address} failed: ${e?.message ?? 'unknown error'}`];
  if (e?.detail) parts.push(e.detail);
  if (e?.sql) parts.push(`while running: ${e.sql.split('\n').join(' ')}`);
  const w = Math.max(20, s.width);
  const out: string[] = [];
  for (const p of parts) for (let k = 0; k < Math.max(1, p.length); k += w) out.push(p.slice(k, k + w));
  // Never more than half the screen: the list keeps some room.
  const cap = Math.max(1, Math.floor(s.height / 2) - 2);
  return out.length > cap
    ? [...out.slice(0, cap - 1), `… (${out.length - cap + 1} more lines after the screen closes)`]
    : out;
}

/** Rows of the list: the frame is one line shorter than the terminal, so that it never scrolls. */
export function listHeight(s: ReviewState): number {
  return Math.max(1, s.height - 1 - HEADER_LINES - footerLines(s));
}

/** Recomputes the visible changes and rows after the filter, `d` or an expansion changed. */
function relist(s: ReviewState, keep?: number): ReviewState {
  const m = s.model;
  const needle = s.filter.toLowerCase();
  const changes = m.plan.changes;
  const visible: number[] = [];
  const rows: Row[] = [];
  const rowOf: number[] = [];
  const posOf = new Int32Array(changes.length).fill(-1);
  for (let g = 0; g < m.groups.length; g++) {
    const members = m.groups[g]!.changes.filter(
      (i) =>
        (!s.risky || changes[i]!.destructive || changes[i]!.widening === true) &&
        (needle === '' || m.addresses[i]!.includes(needle)),
    );
    if (members.length === 0) continue;
    rows.push({ kind: 'group', group: g, count: members.length });
    for (const i of members) {
      rowOf.push(rows.length);
      posOf[i] = visible.length;
      rows.push({ kind: 'change', index: i, pos: visible.length });
      visible.push(i);
      if (s.expanded.has(i))
        for (const d of detailLines(changes[i]!)) rows.push({ kind: 'detail', index: i, ...d });
    }
  }
  const found = keep === undefined ? -1 : posOf[keep]!;
  const cursor = found >= 0 ? found : Math.min(s.cursor, Math.max(0, visible.length - 1));
  return scroll({ ...s, visible, rows, rowOf, posOf, cursor: found >= 0 || keep === undefined ? cursor : 0 });
}

/** Moves `top` so that the cursor's row is on screen (and its details, as far as they fit). */
function scroll(s: ReviewState): ReviewState {
  const h = listHeight(s);
  if (s.visible.length === 0) return { ...s, top: 0 };
  const row = s.rowOf[s.cursor]!;
  let top = s.top;
  // The group heading above the first change of a group comes along.
  const head = row > 0 && s.rows[row - 1]!.kind === 'group' ? row - 1 : row;
  if (head < top) top = head;
  if (row >= top + h) top = row - h + 1;
  const i = s.visible[s.cursor]!;
  if (s.expanded.has(i)) {
    let last = row;
    while (last + 1 < s.rows.length && s.rows[last + 1]!.kind === 'detail') last++;
    if (last >= top + h) top = Math.min(head, last - h + 1);
  }
  top = Math.max(0, Math.min(top, Math.max(0, s.rows.length - h)));
  if (row < top) top = row;
  return { ...s, top };
}

function move(s: ReviewState, to: number): ReviewState {
  const cursor = Math.max(0, Math.min(to, s.visible.length - 1));
  return scroll({ ...s, cursor, follow: false, note: undefined });
}

export const KEYS: readonly [string, string][] = [
  ['↑ ↓  j k', 'move'],
  ['PgUp PgDn  g G', 'page, first, last'],
  ['J K', 'scroll one line (long details)'],
  ['Enter', 'expand or fold a change: field diff, SQL and API calls'],
  ['/', 'filter by address (Enter keeps it, Esc clears it)'],
  ['d', 'only destructive and widening changes (again: all)'],
  ['v', 'the whole access summary (again: the changes)'],
  ['a', 'approve (asks for the counts of destructive and widening changes, then y)'],
  ['q  Esc', 'leave; before approval nothing is changed'],
  ['?', 'these keys'],
];

function approvalSteps(s: ReviewState): AckStep[] {
  const steps: AckStep[] = [];
  if (s.model.destructive > 0 && !s.allowDestroy) steps.push({ kind: 'destroy', count: s.model.destructive });
  if (s.model.widening > 0 && !s.allowWiden) steps.push({ kind: 'widen', count: s.model.widening });
  steps.push({ kind: 'confirm', count: s.model.plan.changes.length });
  return steps;
}

/** What the user approved, once the phase is `approved`. */
export function approvedFlags(s: ReviewState): { allowDestroy: boolean; allowWiden: boolean } {
  const steps = s.approval?.steps ?? [];
  return {
    allowDestroy: s.allowDestroy || steps.some((x) => x.kind === 'destroy'),
    allowWiden: s.allowWiden || steps.some((x) => x.kind === 'widen'),
  };
}

function approvalKey(s: ReviewState, input: string, key: KeyInput): ReviewState {
  const ap = s.approval!;
  const step = ap.steps[ap.step]!;
  if (key.escape)
    return { ...s, phase: 'review', approval: undefined, note: 'Not approved; nothing was changed.' };
  if (step.kind === 'confirm') {
    if (input === 'y') return { ...s, phase: 'approved', approval: { ...ap, typed: '', error: undefined } };
    if (input === 'n' || input === 'q')
      return { ...s, phase: 'review', approval: undefined, note: 'Not approved; nothing was changed.' };
    return s;
  }
  if (key.return) {
    if (ap.typed === String(step.count))
      return { ...s, approval: { ...ap, step: ap.step + 1, typed: '', error: undefined } };
    return {
      ...s,
      approval: {
        ...ap,
        typed: '',
        error: `"${ap.typed}" is not ${step.count}; type ${step.count} and Enter, or Esc`,
      },
    };
  }
  if (key.backspace || key.delete) return { ...s, approval: { ...ap, typed: ap.typed.slice(0, -1) } };
  if (/^[0-9]$/.test(input) && ap.typed.length < 12)
    return { ...s, approval: { ...ap, typed: ap.typed + input } };
  return s;
}

function filterKey(s: ReviewState, input: string, key: KeyInput): ReviewState | undefined {
  if (!s.editingFilter) return undefined;
  const keep = s.visible[s.cursor];
  if (key.return) return { ...s, editingFilter: false };
  if (key.escape) return relist({ ...s, editingFilter: false, filter: '' }, keep);
  if (key.backspace || key.delete) return relist({ ...s, filter: s.filter.slice(0, -1) }, keep);
  if (key.upArrow || key.downArrow || key.pageUp || key.pageDown) return undefined;
  if (input && !key.ctrl && !/[\u0000-\u001f\u007f]/.test(input))
    return relist({ ...s, filter: s.filter + input }, keep);
  return s;
}

function reviewKey(s: ReviewState, input: string, key: KeyInput): ReviewState {
  const page = Math.max(1, listHeight(s) - 1);
  if (key.upArrow || input === 'k') return move(s, s.cursor - 1);
  if (key.downArrow || input === 'j') return move(s, s.cursor + 1);
  if (key.pageUp) return move(s, s.cursor - page);
  if (key.pageDown || input === ' ') return move(s, s.cursor + page);
  if (key.home || input === 'g') return move(s, 0);
  if (key.end || input === 'G') return move(s, s.visible.length - 1);
  if (input === 'J' || input === 'K') {
    const h = listHeight(s);
    const top = Math.max(0, Math.min(s.top + (input === 'J' ? 1 : -1), Math.max(0, s.rows.length - h)));
    return { ...s, top };
  }
  if (key.return) {
    const i = s.visible[s.cursor];
    if (i === undefined) return s;
    const expanded = new Set(s.expanded);
    if (expanded.has(i)) expanded.delete(i);
    else expanded.add(i);
    return relist({ ...s, expanded, note: undefined }, i);
  }
  if (input === '/') return { ...s, editingFilter: true, note: undefined };
  if (input === 'd') return relist({ ...s, risky: !s.risky, note: undefined }, s.visible[s.cursor]);
  if (input === '?') return { ...s, help: !s.help };
  if (input === 'v') return { ...s, accessView: !s.accessView, accessTop: 0 };
  if (key.escape && s.filter !== '') return relist({ ...s, filter: '' }, s.visible[s.cursor]);
  if (s.phase === 'review') {
    if (input === 'q' || key.escape) return { ...s, phase: 'cancelled' };
    if (input === 'a') {
      if (s.readOnly)
        return {
          ...s,
          note: 'Read-only: wharf show never applies. Apply a saved plan with wharf apply FILE.',
        };
      return {
        ...s,
        phase: 'approve',
        help: false,
        accessView: false,
        approval: { steps: approvalSteps(s), step: 0, typed: '' },
        note: undefined,
      };
    }
  }
  if (s.phase === 'finished' && (input === 'q' || key.escape)) return { ...s, phase: 'closed' };
  if (s.phase === 'applying' && (input === 'q' || key.escape))
    return { ...s, note: 'The apply is running; Ctrl-C stops it after the change in progress.' };
  return s;
}

function accessKey(s: ReviewState, input: string, key: KeyInput): ReviewState | undefined {
  if (!s.accessView) return undefined;
  const h = listHeight(s);
  const max = Math.max(0, s.model.access.length - h);
  if (key.upArrow || input === 'k') return { ...s, accessTop: Math.max(0, s.accessTop - 1) };
  if (key.downArrow || input === 'j') return { ...s, accessTop: Math.min(max, s.accessTop + 1) };
  if (key.pageUp) return { ...s, accessTop: Math.max(0, s.accessTop - h) };
  if (key.pageDown || input === ' ') return { ...s, accessTop: Math.min(max, s.accessTop + h) };
  if (input === 'v' || key.escape) return { ...s, accessView: false };
  return undefined;
}

export function reduce(s: ReviewState, a: Action): ReviewState {
  switch (a.type) {
    case 'resize':
      return scroll({ ...s, width: a.width, height: a.height });
    case 'key': {
      const key = a.key ?? {};
      if (s.phase === 'approve') return approvalKey(s, a.input, key);
      if (s.phase === 'cancelled' || s.phase === 'closed') return s;
      if (s.help && (a.input === '?' || key.escape || a.input === 'q')) return { ...s, help: false };
      return filterKey(s, a.input, key) ?? accessKey(s, a.input, key) ?? reviewKey(s, a.input, key);
    }
    // The run's arrays are updated in place (a new RunState object wraps them): copying
    // 10,000 entries per event would make a large apply quadratic.
    case 'run-start': {
      const run = s.run ?? newRun(s, a.at);
      run.status[a.index] = 'running';
      run.started[a.index] = a.at;
      const next = { ...s, phase: 'applying' as const, run: { ...run } };
      return next.follow ? follow(next, a.index) : next;
    }
    case 'run-end': {
      const run = s.run ?? newRun(s, a.at);
      run.status[a.index] = a.result.status;
      run.ended[a.index] = a.at;
      run.errors[a.index] = a.result.error;
      const failed = a.result.status === 'failed' ? a.index : run.failed;
      const next = scroll({ ...s, run: { ...run, ...(failed !== undefined ? { failed } : {}) } });
      return a.result.status === 'failed' ? follow(next, a.index) : next;
    }
    case 'run-finished': {
      const run = s.run ?? newRun(s, a.at);
      const status = a.results.map((r) => r.status as RunStatus);
      const errors = a.results.map((r, i) => r.error ?? run.errors[i]);
      const failed = a.results.findIndex((r) => r.status === 'failed');
      return scroll({
        ...s,
        phase: 'finished',
        run: {
          ...run,
          status,
          errors,
          endedAt: a.at,
          ok: a.results.every((r) => r.status === 'done'),
          ...(failed >= 0 ? { failed } : {}),
        },
      });
    }
    default: {
      const never: never = a;
      throw new Error(`unknown action ${String(never)}`);
    }
  }
}

function newRun(s: ReviewState, at: number): RunState {
  const n = s.model.plan.changes.length;
  return {
    status: new Array<RunStatus>(n).fill('pending'),
    started: new Array(n).fill(undefined),
    ended: new Array(n).fill(undefined),
    errors: new Array(n).fill(undefined),
    startedAt: at,
  };
}

/** Puts the cursor on a change (when the filter shows it), without ending `follow`. */
function follow(s: ReviewState, index: number): ReviewState {
  const pos = s.posOf[index] ?? -1;
  return pos < 0 ? s : scroll({ ...s, cursor: pos });
}
