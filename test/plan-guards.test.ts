// Planner unit tests for two ownership rules: table grants that a declared default privilege
// explains belong to the file, and the role wharf connects as is never diminished. Pure
// functions with builders; the end-to-end proof on a real server is test/heap-pattern.test.ts.
import { describe, expect, it } from 'vitest';
import { connectingRoleDiagnostics, connectingRoleOf } from '../src/plan/connecting-role.js';
import { diff, explainedGrants } from '../src/plan/diff.js';
import type { DefaultPrivilegeResource, Resource, TableResource } from '../src/plan/model.js';
import { hasErrors } from '../src/plan/plan.js';
import { CAPS, grant, planOf, role, schema } from './support/plan-builders.js';

const table = (id: string, owner: string | null): TableResource => {
  const [s, n] = id.split('.') as [string, string];
  const columns = [{ name: 'id', type: 'bigint', nullable: true, default: null }];
  return {
    kind: 'table',
    schema: s,
    name: n,
    owner,
    columns,
    primaryKey: null,
    partition: null,
    comment: null,
  };
};
const defaults = (
  forRole: string,
  schemaName: string | null,
  grantee: string,
  privileges: string[],
): DefaultPrivilegeResource => ({
  kind: 'default_privileges',
  forRole,
  schema: schemaName,
  objectType: 'tables',
  grantee,
  privileges,
});
const run = (desired: Resource[], live: Resource[]) =>
  diff({ connection: 'w', desired, live, capabilities: CAPS });
const summary = (r: ReturnType<typeof run>) =>
  r.changes.map((c) => `${c.action} ${c.address}${c.destructive ? ' !' : ''}`);

// Heap's document: heap owns its schema and creates the tables; analysts read them.
const heapDesired = (prune = false): Resource[] => [
  schema('heap', { owner: 'heap', prune }),
  role('heap', { login: true }),
  role('analysts'),
  grant('heap', 'analysts', ['usage']),
  defaults('heap', 'heap', 'analysts', ['select']),
];
const heapLive = (...extra: Resource[]): Resource[] => [
  schema('heap', { owner: 'heap', marked: true }),
  role('heap', { login: true }),
  role('analysts'),
  grant('heap', 'analysts', ['usage']),
  defaults('heap', 'heap', 'analysts', ['select']),
  ...extra,
];

describe('grants explained by declared default privileges', () => {
  it('match on table owner, schema, grantee and the declared privileges only', () => {
    const live: Resource[] = [
      table('heap.a', 'heap'),
      table('heap.b', 'someone'),
      table('other.c', 'heap'),
      grant('heap.a', 'analysts', ['select', 'insert']),
      grant('heap.a', 'others', ['select']),
      grant('heap.b', 'analysts', ['select']),
      grant('other.c', 'analysts', ['select']),
    ];
    const declared = [defaults('heap', 'heap', 'analysts', ['select'])];
    expect([...explainedGrants(live, declared)]).toEqual([['grant:table:heap.a/analysts', ['select']]]);
    // Without a schema, the default privilege covers the role's tables in every schema.
    const anywhere = [defaults('heap', null, 'analysts', ['select', 'insert'])];
    expect([...explainedGrants(live, anywhere)]).toEqual([
      ['grant:table:heap.a/analysts', ['select', 'insert']],
      ['grant:table:other.c/analysts', ['select']],
    ]);
  });

  it('tables heap creates in a prune: false schema plan nothing: no perpetual revoke', () => {
    const r = run(
      heapDesired(),
      heapLive(table('heap.pageviews', 'heap'), grant('heap.pageviews', 'analysts', ['select'])),
    );
    expect(summary(r)).toEqual([]);
    expect(r.unmanaged.map((u) => u.address)).toEqual(['w.table:heap.pageviews']);
  });

  it('privileges beyond the declared set, and grants on tables of another owner, are still revoked', () => {
    const r = run(
      heapDesired(),
      heapLive(
        table('heap.pageviews', 'heap'),
        table('heap.manual', 'postgres'),
        grant('heap.pageviews', 'analysts', ['select', 'insert']),
        grant('heap.manual', 'analysts', ['select']),
      ),
    );
    expect(summary(r)).toEqual([
      'delete w.grant:table:heap.manual/analysts !',
      'update w.grant:table:heap.pageviews/analysts !',
    ]);
    const update = r.changes.find((c) => c.action === 'update')!;
    expect(update.fields).toEqual([
      { path: 'privileges', before: ['select', 'insert'], after: ['select'], destructive: true },
    ]);
  });

  it('a declared grant on the same table keeps its own privileges and the explained ones', () => {
    const desired = [...heapDesired(), grant('heap.pageviews', 'analysts', ['insert'])];
    const r = run(
      desired,
      heapLive(table('heap.pageviews', 'heap'), grant('heap.pageviews', 'analysts', ['select'])),
    );
    expect(summary(r)).toEqual(['update w.grant:table:heap.pageviews/analysts']);
    expect(r.changes[0]!.after).toMatchObject({ privileges: ['select', 'insert'] });
  });

  it('removing the default privilege from the file revokes it and the grants it produced', () => {
    const desired = heapDesired().filter((d) => d.kind !== 'default_privileges');
    const r = run(
      desired,
      heapLive(table('heap.pageviews', 'heap'), grant('heap.pageviews', 'analysts', ['select'])),
    );
    expect(summary(r)).toEqual([
      'delete w.default_privileges:heap/heap/tables/analysts !',
      'delete w.grant:table:heap.pageviews/analysts !',
    ]);
  });

  it('a grant the file does not manage stays unmanaged, even when partly explained', () => {
    // The grantee is not a role the file declares: its grants are left alone either way.
    const desired = [
      schema('heap', { owner: 'heap', prune: false }),
      role('heap', { login: true }),
      defaults('heap', 'heap', 'outsider', ['select']),
    ];
    const live = [...heapLive(table('heap.t', 'heap')), grant('heap.t', 'outsider', ['select', 'delete'])];
    const r = run(desired, live);
    expect(summary(r).filter((s) => s.includes('outsider') && s.includes('grant:'))).toEqual([]);
    expect(r.unmanaged.map((u) => u.address)).toContain('w.grant:table:heap.t/outsider');
  });

  it('on a table the plan drops, the grant goes with the table', () => {
    const r = run(
      heapDesired(true),
      heapLive(table('heap.pageviews', 'heap'), grant('heap.pageviews', 'analysts', ['select', 'insert'])),
    );
    expect(summary(r)).toEqual(['delete w.table:heap.pageviews !']);
  });
});

describe('the connecting role', () => {
  const plan = (desired: Resource[], live: Resource[], connectingRoles: string[] | undefined) =>
    planOf(desired, live, connectingRoles ? { connectingRoles } : {});
  const errors = (p: ReturnType<typeof plan>) => p.diagnostics.filter((d) => d.severity === 'error');

  it('taking LOGIN away is an error naming the role and why; the same change to another role is not', () => {
    const live = [role('deployer', { login: true }), role('vendor', { login: true })];
    const desired = [role('deployer'), role('vendor')];
    const p = plan(desired, live, ['deployer']);
    expect(hasErrors(p.diagnostics)).toBe(true);
    expect(errors(p).map((d) => d.message)).toEqual([
      expect.stringMatching(
        /^w\.role:deployer: refused: deployer is the role wharf connects as .*take away its LOGIN/,
      ),
    ]);
    expect(connectingRoleOf(errors(p)[0]!)).toEqual({ role: 'deployer', connection: 'w' });
    // The changes stay in the plan, so the reader sees what was refused.
    expect(p.changes.map((c) => c.address)).toEqual(['w.role:deployer', 'w.role:vendor']);
    expect(hasErrors(plan(desired, live, ['admin']).diagnostics)).toBe(false);
    expect(hasErrors(plan(desired, live, undefined).diagnostics)).toBe(false);
  });

  it('dropping it, or a group it belongs to, and removing a membership are errors; adding one is not', () => {
    const live = [
      role('deployer', { login: true, memberOf: ['ops', 'readers'], marked: true }),
      role('ops', { marked: true }),
      role('readers'),
    ];
    const dropAll = plan([], live, ['deployer']);
    expect(errors(dropAll).map((d) => d.message)).toEqual([
      expect.stringMatching(/^w\.role:deployer: .*would drop it,/),
      expect.stringMatching(/^w\.role:ops: .*would drop ops, which it is a member of/),
    ]);
    const lessMembership = plan(
      [role('deployer', { login: true, memberOf: ['readers'] }), role('ops'), role('readers')],
      live,
      ['deployer'],
    );
    expect(errors(lessMembership).map((d) => d.message)).toEqual([
      expect.stringMatching(/take away its membership in ops/),
    ]);
    const more = plan(
      [
        role('deployer', { login: true, memberOf: ['ops', 'readers', 'extra'] }),
        role('ops'),
        role('readers'),
        role('extra'),
      ],
      [...live, role('extra')],
      ['deployer'],
    );
    expect(hasErrors(more.diagnostics)).toBe(false);
  });

  it('revoking its grants or default privileges is an error; granting more is not', () => {
    const live: Resource[] = [
      schema('app'),
      role('deployer', { login: true }),
      table('app.t', 'other'),
      grant('app', 'deployer', ['usage', 'create']),
      grant('app.t', 'deployer', ['select']),
      defaults('someone', 'app', 'deployer', ['select']),
    ];
    const desired: Resource[] = [
      schema('app', { prune: false }),
      role('deployer', { login: true }),
      grant('app', 'deployer', ['usage']),
      defaults('someone', 'app', 'deployer', ['select', 'insert']),
    ];
    const p = plan(desired, live, ['deployer']);
    expect(errors(p).map((d) => d.message)).toEqual([
      expect.stringMatching(/^w\.grant:table:app\.t\/deployer: .*revoke select from it/),
      expect.stringMatching(/^w\.grant:schema:app\/deployer: .*revoke create from it/),
    ]);
    // The direct check agrees with the plan, as apply uses it on a saved plan.
    expect(connectingRoleDiagnostics('w', p.changes, ['deployer'], live)).toEqual(errors(p));
  });
});
