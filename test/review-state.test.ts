// The review screen's reducer (src/ui/review/state.ts), without ink: keys and apply events in,
// state out. The virtualised window, the filters, and the approval steps that no single key
// can complete.
import { describe, expect, it } from 'vitest';
import { accessLines, buildModel, detailLines } from '../src/ui/review/model.js';
import {
  type Action,
  approvedFlags,
  initialState,
  type KeyInput,
  listHeight,
  type ReviewState,
  reduce,
} from '../src/ui/review/state.js';
import { grantUpdate, syntheticPlan } from './support/review-plan.js';

const start = (n: number, o = {}, size = { width: 80, height: 24 }) =>
  initialState(buildModel(syntheticPlan(n, o)), size);

function keys(s: ReviewState, ...ks: (string | KeyInput)[]): ReviewState {
  for (const k of ks) {
    const a: Action = typeof k === 'string' ? { type: 'key', input: k } : { type: 'key', input: '', key: k };
    s = reduce(s, a);
  }
  return s;
}

/** The cursor's row is inside the drawn window. */
function cursorShown(s: ReviewState): boolean {
  const row = s.rowOf[s.cursor]!;
  return row >= s.top && row < s.top + listHeight(s);
}

describe('review state', () => {
  it('groups the changes by connection and kind, in plan order within a group', () => {
    const s = start(6, { destructive: 1, widening: 1 });
    const groups = s.model.groups.map((g) => `${g.connection}/${g.kind}:${g.changes.length}`);
    expect(groups).toEqual(['wh/table:3', 'wh/grant:2', 'files/bucket:1']);
    expect(s.rows.filter((r) => r.kind === 'group')).toHaveLength(3);
    expect(s.visible).toHaveLength(6);
  });

  it('j/k and arrows move within bounds, and the window follows the cursor through 10,000 changes', () => {
    let s = start(10_000);
    s = keys(s, 'k', { upArrow: true });
    expect(s.cursor).toBe(0);
    s = keys(s, 'j', 'j', { downArrow: true });
    expect(s.cursor).toBe(3);
    for (let i = 0; i < 40; i++) {
      s = keys(s, 'j');
      expect(cursorShown(s)).toBe(true);
    }
    expect(s.top).toBeGreaterThan(0);
    s = keys(s, 'G');
    expect(s.cursor).toBe(9_999);
    expect(cursorShown(s)).toBe(true);
    s = keys(s, { pageUp: true });
    expect(s.cursor).toBe(9_999 - (listHeight(s) - 1));
    expect(cursorShown(s)).toBe(true);
    s = keys(s, 'g');
    expect([s.cursor, s.top]).toEqual([0, 0]);
  });

  it('Enter expands a change into its field diff and SQL, and folds it again', () => {
    let s = start(4);
    s = keys(s, '/', 'grant:table:app.t1', { return: true }, { return: true });
    const shown = s.rows.filter((r) => r.kind === 'detail').map((r) => (r.kind === 'detail' ? r.text : ''));
    expect(shown).toContain('privileges:');
    expect(shown).toContain('+  "insert",');
    expect(shown).toContain('│ GRANT INSERT ON TABLE "app"."t1" TO "vendor";');
    s = keys(s, { return: true });
    expect(s.rows.some((r) => r.kind === 'detail')).toBe(false);
  });

  it('an expansion longer than the window scrolls so that the change stays on screen', () => {
    const long = grantUpdate(1);
    long.statements = Array.from({ length: 60 }, (_, i) => ({ sql: `SELECT ${i}` }));
    const plan = syntheticPlan(3);
    plan.changes.push(long);
    let s = initialState(buildModel(plan), { width: 80, height: 24 });
    s = keys(s, 'G', { return: true });
    expect(cursorShown(s)).toBe(true);
    s = keys(s, 'J', 'J');
    expect(s.top).toBeGreaterThan(0);
  });

  it('/ filters by address; Esc clears the filter', () => {
    let s = start(40);
    s = keys(s, '/', 't1', { return: true });
    expect(s.editingFilter).toBe(false);
    const addresses = s.visible.map((i) => s.model.plan.changes[i]!.address);
    expect(addresses.length).toBeGreaterThan(0);
    expect(addresses.every((a) => a.includes('t1'))).toBe(true);
    expect(addresses.length).toBeLessThan(40);
    // Keys typed while filtering are text, not commands.
    s = keys(s, '/', 'q');
    expect(s.phase).toBe('review');
    expect(s.filter).toBe('t1q');
    expect(s.visible).toHaveLength(0);
    s = keys(s, { escape: true });
    expect([s.filter, s.visible.length]).toEqual(['', 40]);
  });

  it('d shows only destructive and widening changes, and again everything', () => {
    let s = start(20, { destructive: 2, widening: 1 });
    s = keys(s, 'd');
    const shown = s.visible.map((i) => s.model.plan.changes[i]!);
    expect(shown).toHaveLength(3);
    expect(shown.every((c) => c.destructive || c.widening)).toBe(true);
    s = keys(s, 'd');
    expect(s.visible).toHaveLength(20);
  });

  it('approval: the destructive count, the widening count, then y; a wrong count or a stray key approves nothing', () => {
    let s = start(10, { destructive: 2, widening: 1 });
    s = keys(s, 'a');
    expect(s.phase).toBe('approve');
    s = keys(s, 'y', 'a', { return: true });
    expect(s.phase).toBe('approve');
    expect(s.approval?.step).toBe(0);
    expect(s.approval?.error).toMatch(/is not 2/);
    s = keys(s, '1', { return: true });
    expect(s.approval?.step).toBe(0);
    s = keys(s, '2', { return: true });
    expect(s.approval?.steps[s.approval.step]?.kind).toBe('widen');
    s = keys(s, '2', { return: true });
    expect(s.approval?.step).toBe(1);
    s = keys(s, '1', { return: true });
    expect(s.approval?.steps[s.approval.step]?.kind).toBe('confirm');
    s = keys(s, 'x', { return: true });
    expect(s.phase).toBe('approve');
    s = keys(s, 'y');
    expect(s.phase).toBe('approved');
    expect(approvedFlags(s)).toEqual({ allowDestroy: true, allowWiden: true });
  });

  it('flags given on the command line skip their step; Esc at any step goes back with nothing approved', () => {
    let s = initialState(buildModel(syntheticPlan(10, { destructive: 2, widening: 1 })), {
      width: 80,
      height: 24,
      allowDestroy: true,
    });
    s = keys(s, 'a');
    expect(s.approval?.steps.map((x) => x.kind)).toEqual(['widen', 'confirm']);
    s = keys(s, { escape: true });
    expect(s.phase).toBe('review');
    expect(s.approval).toBeUndefined();
    s = keys(s, 'a', 'n');
    expect(s.phase).toBe('approve');
    s = keys(s, '1', { return: true }, 'n');
    expect(s.phase).toBe('review');
  });

  it('a plan with nothing risky still needs a then y', () => {
    let s = start(5);
    s = keys(s, 'a');
    expect(s.approval?.steps.map((x) => x.kind)).toEqual(['confirm']);
    expect(s.phase).toBe('approve');
    s = keys(s, 'y');
    expect(s.phase).toBe('approved');
    expect(approvedFlags(s)).toEqual({ allowDestroy: false, allowWiden: false });
  });

  it('q and Esc leave; read-only never approves', () => {
    expect(keys(start(3), 'q').phase).toBe('cancelled');
    expect(keys(start(3), { escape: true }).phase).toBe('cancelled');
    let ro = initialState(buildModel(syntheticPlan(3)), { width: 80, height: 24, readOnly: true });
    ro = keys(ro, 'a', 'y');
    expect(ro.phase).toBe('review');
    expect(ro.note).toMatch(/Read-only/);
  });

  it('apply events: pending, running, done, failed, not run, and the cursor follows the running change', () => {
    let s = keys(start(30), 'a', 'y');
    s = reduce(s, { type: 'run-start', index: 0, at: 1000 });
    expect(s.phase).toBe('applying');
    expect(s.run?.status.slice(0, 2)).toEqual(['running', 'pending']);
    s = reduce(s, {
      type: 'run-end',
      index: 0,
      at: 1500,
      result: { address: 'a', action: 'create', status: 'done' },
    });
    s = reduce(s, { type: 'run-start', index: 25, at: 1500 });
    expect(s.visible[s.cursor]).toBe(25);
    expect(cursorShown(s)).toBe(true);
    const failure = {
      address: 'b',
      action: 'update' as const,
      status: 'failed' as const,
      error: { message: 'permission denied' },
    };
    s = reduce(s, { type: 'run-end', index: 25, at: 1600, result: failure });
    const results = s.model.plan.changes.map((c, i) => ({
      address: c.address,
      action: c.action,
      status: i === 0 ? ('done' as const) : i === 25 ? ('failed' as const) : ('not run' as const),
      ...(i === 25 ? { error: failure.error } : {}),
    }));
    s = reduce(s, { type: 'run-finished', results, at: 2000 });
    expect(s.phase).toBe('finished');
    expect(s.run?.ok).toBe(false);
    expect(s.run?.failed).toBe(25);
    expect(s.run?.status[1]).toBe('not run');
    expect(keys(s, 'q').phase).toBe('closed');
  });

  it('the access summary: grants gained and lost, and the bucket lines the plan carries', () => {
    const plan = syntheticPlan(4, { widening: 1 });
    const lost = grantUpdate(7);
    lost.before = { ...(lost.after as object), privileges: ['select', 'update'] } as typeof lost.before;
    lost.after = { ...(lost.after as object), privileges: ['select'] } as typeof lost.after;
    const lines = accessLines([...plan.changes, lost]);
    expect(lines).toContain('vendor gains insert on table app.t1 (wh)');
    expect(lines).toContain(
      'arn:aws:iam::388856629077:role/vendor gains s3:GetObject on arn:aws:s3:::drop-0/*',
    );
    expect(lines).toContain('vendor loses update on table app.t7 (wh)');
  });

  it('the access summary: memberships and datashare consumers, gained and lost', () => {
    const role = (memberOf: string[]) => ({
      kind: 'role',
      name: 'analyst',
      login: true,
      memberOf,
      passwordRef: null,
    });
    const share = (consumers: string[], tables: string[]) => ({
      kind: 'datashare',
      name: 'toplyne_share',
      publicAccessible: false,
      schemas: ['analytics'],
      tables,
      includeNew: [],
      consumers: consumers.map((id) => ({
        type: 'account',
        id,
        viaDataCatalog: false,
        status: 'authorized',
      })),
    });
    const change = (before: unknown, after: unknown) =>
      ({ ...grantUpdate(1), connection: 'wh', before, after }) as unknown as Parameters<
        typeof accessLines
      >[0][number];
    const lines = accessLines([
      change(role(['readers']), role(['writers'])),
      change(
        share(['111122223333'], ['analytics.events']),
        share(['444455556666'], ['analytics.events', 'analytics.users']),
      ),
      change(share(['777788889999'], ['analytics.events']), share(['777788889999'], ['analytics.users'])),
    ]);
    expect(lines).toEqual([
      'analyst gains the access of writers (member of it) (wh)',
      'analyst loses the access of readers (no longer a member) (wh)',
      'account 444455556666 gains read of datashare toplyne_share (schema analytics, analytics.events, analytics.users) (wh)',
      'account 111122223333 loses read of datashare toplyne_share (wh)',
      'account 777788889999 gains read of analytics.users through datashare toplyne_share (wh)',
      'account 777788889999 loses read of analytics.events through datashare toplyne_share (wh)',
    ]);
  });

  it('detail lines escape control characters from the plan', () => {
    const c = grantUpdate(1);
    c.reasons = ['evil \u001b[31m red'];
    expect(detailLines(c)[0]!.text).not.toContain('\u001b');
  });
});
