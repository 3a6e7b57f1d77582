// The review screen's ink components. They draw a ReviewState and nothing else: keys go to the
// reducer (state.ts) through `ReviewApp`, apply events come from the host (screen.ts). Every
// line is cut to the width, and the frame is at most `height - 1` lines, so that it never
// scrolls the terminal. Without colour (NO_COLOR, --no-color) no colour or style is drawn.
import { Box, Text, useInput } from 'ink';
import { createElement as h, type ReactElement, useEffect, useReducer, useRef } from 'react';
import { SYMBOL, type Tone } from './model.js';
import {
  type Action,
  failureLines,
  KEYS,
  listHeight,
  type ReviewState,
  type Row,
  type RunStatus,
  reduce,
} from './state.js';

interface Paint {
  color: boolean;
}

type TextProps = Record<string, unknown>;

/** One line, cut to the width. */
function line(key: string | number, text: string, props: TextProps, p: Paint): ReactElement {
  const style = p.color ? props : {};
  return h(Text, { key, wrap: 'truncate-end', ...style }, text === '' ? ' ' : text);
}

const ACTION_COLOR = { create: 'green', update: 'yellow', replace: 'red', delete: 'red' } as const;
const TONE: Record<Tone, TextProps> = {
  plain: {},
  add: { color: 'green' },
  del: { color: 'red' },
  hunk: { color: 'cyan' },
  dim: { dimColor: true },
  code: { color: 'cyan' },
  warn: { color: 'yellow' },
};
const STATUS_COLOR: Record<RunStatus, TextProps> = {
  pending: { dimColor: true },
  running: { color: 'cyan' },
  done: { color: 'green' },
  failed: { color: 'red' },
  'not run': { dimColor: true },
};

export const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

function header(s: ReviewState, title: string, p: Paint): ReactElement[] {
  const m = s.model;
  const risk = [
    ...(m.widening > 0 ? [`${m.widening} widen access`] : []),
    ...(m.destructive > 0 && !m.counts.includes('destructive') ? [`${m.destructive} destructive`] : []),
  ];
  const access =
    m.access.length === 0
      ? 'Access: no grant or policy change'
      : `Access (${m.access.length}): ${m.access[0]}${m.access.length > 1 ? `  … v lists all` : ''}`;
  return [
    line('t', `${title}   ? keys · q leave`, { bold: true }, p),
    line('c', `Connections: ${m.connections.join(', ')}`, { dimColor: true }, p),
    line(
      'n',
      `${m.counts}${risk.length ? ` ${risk.join(', ')}` : ''}${m.diagnostics ? ` · ${m.diagnostics} diagnostic(s), printed on leaving` : ''}`,
      risk.length ? { color: 'red' } : {},
      p,
    ),
    line('a', access, {}, p),
  ];
}

function changeRow(s: ReviewState, r: Extract<Row, { kind: 'change' }>, now: number, p: Paint): ReactElement {
  const c = s.model.plan.changes[r.index]!;
  const here = r.pos === s.cursor;
  const parts: ReactElement[] = [h(Text, { key: 'm' }, here ? '▸ ' : '  ')];
  if (s.run) {
    const st = s.run.status[r.index]!;
    const from = s.run.started[r.index];
    const to = s.run.ended[r.index] ?? (st === 'running' ? now : undefined);
    const took = from !== undefined && to !== undefined ? secs(to - from) : '';
    parts.push(
      h(Text, { key: 's', ...(p.color ? STATUS_COLOR[st] : {}) }, `${st.padEnd(7)} ${took.padStart(6)}  `),
    );
  }
  const ac = p.color ? { color: ACTION_COLOR[c.action] } : {};
  parts.push(h(Text, { key: 'y', ...ac }, `${SYMBOL[c.action].padEnd(3)} `));
  parts.push(h(Text, { key: 'd', bold: p.color && here }, c.address));
  parts.push(h(Text, { key: 'x', ...ac }, `  ${c.action}`));
  if (c.destructive)
    parts.push(h(Text, { key: 'b', ...(p.color ? { color: 'red' } : {}) }, ' [destructive]'));
  if (c.widening) parts.push(h(Text, { key: 'w', ...(p.color ? { color: 'red' } : {}) }, ' [widens access]'));
  return h(
    Text,
    { key: `c${r.index}`, wrap: 'truncate-end', ...(p.color && here ? { inverse: true } : {}) },
    ...parts,
  );
}

function listLines(s: ReviewState, now: number, p: Paint): ReactElement[] {
  const height = listHeight(s);
  const out: ReactElement[] = [];
  if (s.help) {
    out.push(line('hk', 'Keys', { bold: true }, p));
    for (const [k, what] of KEYS) out.push(line(`k${k}`, `  ${k.padEnd(16)} ${what}`, {}, p));
  } else if (s.accessView) {
    out.push(
      line('ha', 'Who gains or loses which access (v or Esc: back to the changes)', { bold: true }, p),
    );
    for (const [k, a] of s.model.access.slice(s.accessTop, s.accessTop + height - 1).entries())
      out.push(line(`a${k}`, `  ${a}`, a.includes(' loses ') ? { color: 'red' } : {}, p));
  } else if (s.visible.length === 0) {
    out.push(
      line(
        'e',
        s.model.plan.changes.length === 0 ? 'No changes.' : 'No change matches the filter.',
        { dimColor: true },
        p,
      ),
    );
  } else {
    for (const r of s.rows.slice(s.top, s.top + height)) {
      if (r.kind === 'group') {
        const g = s.model.groups[r.group]!;
        out.push(line(`g${r.group}`, `── ${g.connection} · ${g.kind} (${r.count})`, { bold: true }, p));
      } else if (r.kind === 'change') out.push(changeRow(s, r, now, p));
      else out.push(line(`d${out.length}`, `      ${r.text}`, TONE[r.tone], p));
    }
  }
  out.length = Math.min(out.length, height);
  while (out.length < height) out.push(line(`pad${out.length}`, '', {}, p));
  return out;
}

function footer(s: ReviewState, now: number, p: Paint): ReactElement[] {
  if (s.phase === 'approve' && s.approval) {
    const ap = s.approval;
    const step = ap.steps[ap.step]!;
    const of = `Step ${ap.step + 1} of ${ap.steps.length}. Esc: back, nothing is changed.`;
    if (step.kind === 'confirm') {
      const acks = ap.steps.filter((x) => x.kind !== 'confirm');
      return [
        line(
          'p1',
          `Apply ${step.count} change(s)${acks.length ? ', acknowledged above' : ''}? Press y to apply, n or Esc to go back.`,
          { bold: true },
          p,
        ),
        line(
          'p2',
          acks.map((x) => `${x.count} ${x.kind === 'destroy' ? 'destructive' : 'widening'}`).join(', '),
          {},
          p,
        ),
        line('p3', of, { dimColor: true }, p),
      ];
    }
    const what =
      step.kind === 'destroy'
        ? `${step.count} destructive change(s): drops, revokes, data-losing replaces (what --allow-destroy allows).`
        : `${step.count} change(s) widen access (what --allow-widen allows; v lists who gains what).`;
    return [
      line('p1', what, { color: 'red', bold: true }, p),
      line('p2', `Type ${step.count} and Enter to acknowledge them: ${ap.typed}_`, {}, p),
      line('p3', ap.error ?? of, ap.error ? { color: 'red' } : { dimColor: true }, p),
    ];
  }
  const out: ReactElement[] = [];
  if (s.run) {
    const total = s.run.status.length;
    const counts = { done: 0, failed: 0, 'not run': 0 };
    for (const st of s.run.status) if (st === 'done' || st === 'failed' || st === 'not run') counts[st]++;
    const took = secs((s.run.endedAt ?? now) - s.run.startedAt);
    out.push(
      s.phase === 'finished'
        ? line(
            'r',
            `Apply ${s.run.ok ? 'complete' : 'stopped'}: ${counts.done} done, ${counts.failed} failed, ${counts['not run']} not run in ${took}. q leaves.`,
            { bold: true, color: s.run.ok ? 'green' : 'red' },
            p,
          )
        : line(
            'r',
            `Applying: ${counts.done} of ${total} done, ${took}${s.note ? ` · ${s.note}` : ''}`,
            { bold: true },
            p,
          ),
    );
    for (const [k, f] of failureLines(s).entries())
      out.push(h(Text, { key: `f${k}`, ...(p.color ? { color: 'red' } : {}) }, f));
  } else if (s.editingFilter) {
    out.push(
      line('s', `/${s.filter}_   (${s.visible.length} match; Enter keeps the filter, Esc clears it)`, {}, p),
    );
  } else {
    const where = s.visible.length ? `${s.cursor + 1}/${s.visible.length}` : '0/0';
    const filters = [
      ...(s.filter ? [`filter "${s.filter}"`] : []),
      ...(s.risky ? ['destructive and widening only'] : []),
    ];
    out.push(
      line(
        's',
        [where, ...filters, ...(s.note ? [s.note] : [])].join(' · '),
        s.note ? { color: 'yellow' } : {},
        p,
      ),
    );
  }
  out.push(
    line(
      'k',
      `j/k move · Enter details · / filter · d risky · v access${s.readOnly || s.phase !== 'review' ? '' : ' · a approve'}${s.phase === 'applying' || s.phase === 'approved' ? '' : ' · q leave'} · ? keys`,
      { dimColor: true },
      p,
    ),
  );
  return out;
}

export interface ReviewViewProps {
  state: ReviewState;
  title: string;
  now: number;
  color: boolean;
}

/** The whole screen for a state. */
export function ReviewView(props: ReviewViewProps): ReactElement {
  const p = { color: props.color };
  const s = props.state;
  return h(
    Box,
    { flexDirection: 'column', width: s.width },
    ...header(s, props.title, p),
    ...listLines(s, props.now, p),
    ...footer(s, props.now, p),
  );
}

export interface ReviewAppProps {
  initial: ReviewState;
  title: string;
  color: boolean;
  /** Called after every change of state (the host watches the phase). */
  onState?: (s: ReviewState) => void;
  /** Hands the host a dispatch for apply events and resizes. */
  connect?: (dispatch: (a: Action) => void) => void;
  /** The clock for elapsed times. */
  now?: () => number;
  /** Redraw period while applying, in ms (elapsed times move). */
  tickMs?: number;
  /** Ctrl-C: the host turns it into the signal it stands for. */
  onInterrupt?: () => void;
}

/** The screen with its keys: ink's input goes through the reducer. */
export function ReviewApp(props: ReviewAppProps): ReactElement {
  const [state, dispatch] = useReducer(reduce, props.initial);
  const [, tick] = useReducer((n: number) => n + 1, 0);
  const onState = useRef(props.onState);
  onState.current = props.onState;
  useEffect(() => {
    props.connect?.(dispatch);
  }, [props.connect]);
  useEffect(() => {
    onState.current?.(state);
  }, [state]);
  const applying = state.phase === 'applying' || state.phase === 'approved';
  useEffect(() => {
    if (!applying) return;
    const t = setInterval(tick, props.tickMs ?? 250);
    return () => clearInterval(t);
  }, [applying, props.tickMs]);
  useInput((input, key) => {
    if (key.ctrl && input === 'c') {
      props.onInterrupt?.();
      return;
    }
    // Keys typed faster than a read (or sent by a script) arrive as one chunk: one key each.
    if (input.length > 1 && !input.startsWith('\u001b')) {
      for (const ch of input) {
        if (ch === '\u0003') props.onInterrupt?.();
        else if (ch === '\r' || ch === '\n') dispatch({ type: 'key', input: '', key: { return: true } });
        else if (ch === '\u007f' || ch === '\b')
          dispatch({ type: 'key', input: '', key: { backspace: true } });
        else dispatch({ type: 'key', input: ch });
      }
      return;
    }
    dispatch({ type: 'key', input, key });
  });
  return h(ReviewView, {
    state,
    title: props.title,
    now: props.now ? props.now() : performance.now(),
    color: props.color,
  });
}
