// The review screen drawn by ink (ink-testing-library): keys typed into its stdin, frames read
// back. Navigation, expansion, the filter, `d`, the acknowledgement of destructive and widening
// changes (one `a` approves nothing), leaving, the live apply, and a 10,000-change plan whose
// frame stays inside an 80x24 terminal.
import { render } from 'ink-testing-library';
import { createElement as h } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildModel } from '../src/ui/review/model.js';
import { type Action, initialState, type ReviewState } from '../src/ui/review/state.js';
import { ReviewApp, ReviewView } from '../src/ui/review/view.js';
import { syntheticPlan } from './support/review-plan.js';

// ink colours through chalk, which draws nothing when the output is no terminal: this file forces
// colour on (before ink loads), so that only the screen's own choice can leave it out.
vi.hoisted(() => {
  process.env.FORCE_COLOR = '1';
});

const DOWN = '\u001b[B';
const UP = '\u001b[A';
const ENTER = '\r';
const ESC = '\u001b';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function open(
  plan = syntheticPlan(12, { destructive: 2, widening: 1 }),
  o: { color?: boolean; readOnly?: boolean } = {},
) {
  const states: ReviewState[] = [];
  let dispatch: ((a: Action) => void) | undefined;
  const app = render(
    h(ReviewApp, {
      initial: initialState(buildModel(plan), { width: 80, height: 24, readOnly: o.readOnly ?? false }),
      title: 'wharf apply · review the plan',
      color: o.color ?? false,
      onState: (s) => states.push(s),
      connect: (d) => {
        dispatch = d;
      },
      now: () => 0,
    }),
  );
  cleanups.push(app.unmount);
  const frame = () => app.lastFrame() ?? '';
  const last = () => states[states.length - 1]!;
  /** Types keys, one write each, and waits for the frame they produce. */
  const type = async (...ks: string[]) => {
    for (const k of ks) {
      const seen = [states.length, app.frames.length];
      app.stdin.write(k);
      // A key that changes nothing draws nothing: then the wait ends after a while.
      for (let i = 0; i < 15 && states.length === seen[0] && app.frames.length === seen[1]; i++) await tick();
      await tick();
    }
  };
  return { app, frame, states, last, type, dispatch: (a: Action) => dispatch!(a) };
}

const tick = () => new Promise((r) => setTimeout(r, 20));

/** Waits until `ok` holds (a lone Esc reaches the app only after ink's wait for a sequence). */
async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !ok(); i++) await tick();
}

/** The line the cursor (▸) is on. */
const cursorLine = (frame: string) => frame.split('\n').find((l) => l.startsWith('▸')) ?? '';

describe('review screen (ink)', () => {
  it('moves with j/k and the arrows', async () => {
    const s = open();
    await tick();
    expect(cursorLine(s.frame())).toContain('wh.table:app.t0');
    await s.type('j');
    expect(cursorLine(s.frame())).toContain('wh.table:app.t2');
    await s.type(DOWN, DOWN);
    expect(cursorLine(s.frame())).toContain('wh.table:app.t6');
    await s.type('k', UP);
    expect(cursorLine(s.frame())).toContain('wh.table:app.t2');
    expect(s.frame()).toContain('2/12');
  });

  it('Enter expands a change into its field diff and SQL, and Enter folds it', async () => {
    const s = open();
    await s.type('/', 'grant:table:app.t1', ENTER, ENTER);
    expect(s.frame()).toContain('privileges:');
    expect(s.frame()).toContain('+  "insert",');
    expect(s.frame()).toContain('│ GRANT INSERT ON TABLE "app"."t1" TO "vendor";');
    await s.type(ENTER);
    expect(s.frame()).not.toContain('GRANT INSERT');
  });

  it('/ filters by address', async () => {
    const s = open();
    await s.type('/', 'gone');
    expect(s.frame()).toContain('/gone_');
    await s.type(ENTER);
    expect(s.frame()).toContain('wh.table:old.gone0');
    expect(s.frame()).toContain('wh.table:old.gone1');
    expect(s.frame()).not.toContain('wh.table:app.t0');
    expect(s.frame()).toContain('filter "gone"');
  });

  it('d shows only the destructive and widening changes, with their badges', async () => {
    const s = open();
    await s.type('d');
    const f = s.frame();
    expect(f).toContain('wh.table:old.gone0  delete [destructive]');
    expect(f).toContain('files.bucket:drop-0  update [widens access]');
    expect(f).not.toContain('wh.table:app.t0');
    expect(f).toContain('destructive and widening only');
  });

  it('a single a approves nothing: the counts of destructive and widening changes must be typed, then y', async () => {
    const s = open();
    await s.type('a');
    expect(s.frame()).toContain('2 destructive change(s)');
    expect(s.frame()).toContain('Type 2 and Enter to acknowledge them');
    await s.type('y', 'a', ENTER);
    expect(s.last().phase).toBe('approve');
    expect(s.frame()).toMatch(/is not 2/);
    await s.type('2', ENTER);
    expect(s.frame()).toContain('1 change(s) widen access');
    await s.type('1', ENTER);
    expect(s.frame()).toContain('Apply 12 change(s), acknowledged above? Press y to apply');
    expect(s.states.some((x) => x.phase === 'approved')).toBe(false);
    await s.type('y');
    expect(s.last().phase).toBe('approved');
  });

  it('q leaves without approving; Esc in the approval goes back', async () => {
    const s = open();
    await s.type('a', ESC);
    await until(() => s.last().phase === 'review');
    expect(s.last().phase).toBe('review');
    expect(s.frame()).toContain('Not approved; nothing was changed.');
    await s.type('q');
    expect(s.last().phase).toBe('cancelled');
    expect(s.states.some((x) => x.phase === 'approved')).toBe(false);
  });

  it('read-only (wharf show): a does not start an approval', async () => {
    const s = open(undefined, { readOnly: true });
    await s.type('a', 'y');
    expect(s.states.every((x) => x.phase === 'review')).toBe(true);
    expect(s.frame()).not.toContain('a approve');
  });

  it('shows the apply live: running, done, failed with its whole message, not run', async () => {
    const s = open(syntheticPlan(4));
    await s.type('a', 'y');
    s.dispatch({ type: 'run-start', index: 0, at: 0 });
    s.dispatch({
      type: 'run-end',
      index: 0,
      at: 1200,
      result: { address: 'x', action: 'create', status: 'done' },
    });
    s.dispatch({ type: 'run-start', index: 1, at: 1200 });
    await tick();
    expect(s.frame()).toMatch(/done +1\.2s +\+ +wh\.table:app\.t0/);
    expect(s.frame()).toContain('running');
    const message = `permission denied for schema app ${'and a long explanation '.repeat(6)}END`;
    const error = { message, sql: 'GRANT INSERT ON TABLE "app"."t1" TO "vendor"' };
    s.dispatch({
      type: 'run-end',
      index: 1,
      at: 1300,
      result: { address: 'y', action: 'update', status: 'failed', error },
    });
    s.dispatch({
      type: 'run-finished',
      at: 1400,
      results: s.last().model.plan.changes.map((c, i) => ({
        address: c.address,
        action: c.action,
        status: i === 0 ? 'done' : i === 1 ? 'failed' : 'not run',
        ...(i === 1 ? { error } : {}),
      })),
    });
    await tick();
    const f = s.frame();
    expect(f).toContain('Apply stopped: 1 done, 1 failed, 2 not run');
    expect(f).toContain('not run');
    expect(f.replace(/\n/g, '')).toContain(`wh.grant:table:app.t1/vendor failed: ${message}`);
    expect(f.replace(/\n/g, '')).toContain('while running: GRANT INSERT ON TABLE "app"."t1" TO "vendor"');
  });

  it('10,000 changes at 80x24: every frame fits the terminal, whatever is open', async () => {
    const s = open(syntheticPlan(10_000, { destructive: 3, widening: 2 }));
    const fits = () => {
      const lines = s.frame().split('\n');
      expect(lines.length).toBeLessThanOrEqual(23);
      for (const l of lines) expect([...l].length).toBeLessThanOrEqual(80);
    };
    await tick();
    fits();
    await s.type('G');
    expect(cursorLine(s.frame())).toContain('files.bucket:drop-1');
    fits();
    await s.type(ENTER);
    expect(s.frame()).toContain('s3:PutBucketPolicy');
    fits();
    await s.type('?');
    expect(s.frame()).toContain('Keys');
    fits();
    await s.type('?', 'v');
    fits();
    await s.type('v', 'a');
    fits();
    await s.type(ESC);
    await until(() => s.last().phase === 'review');
    await s.type('g', 'd');
    expect(s.frame()).toContain('1/5');
    fits();
  });

  it('without colour (NO_COLOR, --no-color) no escape sequence is drawn; with colour there are', () => {
    const state = initialState(buildModel(syntheticPlan(20, { destructive: 1 })), { width: 80, height: 24 });
    const plain = render(h(ReviewView, { state, title: 't', now: 0, color: false }));
    const colored = render(h(ReviewView, { state, title: 't', now: 0, color: true }));
    cleanups.push(plain.unmount, colored.unmount);
    expect(plain.lastFrame()).not.toMatch(/\u001b\[/);
    expect(colored.lastFrame()).toMatch(/\u001b\[/);
  });
});
