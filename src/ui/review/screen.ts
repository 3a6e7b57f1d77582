// The review screen on a terminal: opens it on the alternate screen, answers the approval (or
// the user leaving), then shows the apply live through the apply hooks, and gives the terminal
// back as it found it. The CLI imports this file (and so ink and React) only when the screen
// opens.
import { render } from 'ink';
import { createElement as h } from 'react';
import type { ApplyHooks, ApplyResult } from '../../apply/apply.js';
import type { Plan } from '../../plan/plan.js';
import { buildModel } from './model.js';
import { type Action, approvedFlags, initialState, type ReviewState } from './state.js';
import { ReviewApp } from './view.js';

export interface ScreenOptions {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  color: boolean;
  title: string;
  readOnly?: boolean;
  allowDestroy?: boolean;
  allowWiden?: boolean;
  /** Ctrl-C pressed (the terminal is raw: the key does not raise SIGINT by itself). */
  onInterrupt: () => void;
}

export type Decision = { approved: false } | { approved: true; allowDestroy: boolean; allowWiden: boolean };

export interface ReviewScreen {
  /** Settles when the user approves or leaves. */
  decision: Promise<Decision>;
  /** Feed these to applyPlan: the screen shows each change pending, running, done, failed or not run. */
  hooks: ApplyHooks;
  /** Shows the outcome; with `wait`, until the user leaves (q), then closes. */
  finished(result: ApplyResult, wait: boolean): Promise<void>;
  /** Gives the terminal back. Idempotent. */
  close(): void;
}

const ENTER_ALT = '\u001b[?1049h';
const LEAVE_ALT = '\u001b[?1049l';

export function openReviewScreen(plan: Plan, o: ScreenOptions): ReviewScreen {
  const out = o.stdout as NodeJS.WriteStream;
  const size = () => ({ width: Math.max(40, out.columns || 80), height: Math.max(10, out.rows || 24) });
  const initial = initialState(buildModel(plan), {
    readOnly: o.readOnly ?? false,
    allowDestroy: o.allowDestroy ?? false,
    allowWiden: o.allowWiden ?? false,
    ...size(),
  });
  let dispatch: ((a: Action) => void) | undefined;
  const queued: Action[] = [];
  const send = (a: Action) => (dispatch ? dispatch(a) : queued.push(a));
  let decide!: (d: Decision) => void;
  const decision = new Promise<Decision>((resolve) => {
    decide = resolve;
  });
  let onClosed: (() => void) | undefined;
  const onState = (s: ReviewState) => {
    if (s.phase === 'approved') decide({ approved: true, ...approvedFlags(s) });
    else if (s.phase === 'cancelled') decide({ approved: false });
    else if (s.phase === 'closed') onClosed?.();
  };
  out.write(ENTER_ALT);
  const instance = render(
    h(ReviewApp, {
      initial,
      title: o.title,
      color: o.color,
      onState,
      onInterrupt: o.onInterrupt,
      connect: (d) => {
        dispatch = d;
        for (const a of queued.splice(0)) d(a);
      },
    }),
    {
      stdout: out,
      stdin: o.stdin as NodeJS.ReadStream,
      patchConsole: false,
      exitOnCtrlC: false,
      // A frame every 16 ms at most: a key's redraw never waits long on the throttle.
      maxFps: 60,
    },
  );
  const onResize = () => send({ type: 'resize', ...size() });
  out.on('resize', onResize);
  let open = true;
  const close = () => {
    if (!open) return;
    open = false;
    out.off('resize', onResize);
    instance.unmount();
    instance.cleanup();
    out.write(LEAVE_ALT);
    decide({ approved: false });
  };
  return {
    decision,
    hooks: {
      onChangeStart: (_c, index) => send({ type: 'run-start', index, at: performance.now() }),
      onChangeEnd: (result, index) => send({ type: 'run-end', index, result, at: performance.now() }),
    },
    async finished(result, wait) {
      const closed = new Promise<void>((resolve) => {
        onClosed = resolve;
      });
      send({ type: 'run-finished', results: result.results, at: performance.now() });
      if (wait) await closed;
      close();
    },
    close,
  };
}
