// Planner unit tests: pure functions only, with builders for fake live and desired state.
import { describe, expect, it } from 'vitest';
import { partitionsAhead } from '../src/config/to-desired.js';
import { buildPlan } from '../src/plan/build.js';
import { diff } from '../src/plan/diff.js';
import type { ColumnSpec, Resource } from '../src/plan/model.js';
import { isWidening, normalizePrivileges, normalizeType } from '../src/plan/normalize.js';
import type { Change } from '../src/plan/plan.js';
import { expressionKey } from '../src/plan/sql-parse.js';
import { compilePostgres } from '../src/providers/postgres/postgres-sql.js';
import { REDSHIFT_CAPABILITIES } from '../src/providers/redshift/redshift-introspector.js';
import { compileRedshift } from '../src/providers/redshift/redshift-sql.js';
import { renderPlanMarkdown } from '../src/render/markdown.js';
import { PLAIN, renderPlanText } from '../src/render/text.js';
import { CAPS, grant, planOf, role, schema, table } from './support/plan-builders.js';

const col = (name: string, type = 'bigint', extra: Partial<ColumnSpec> = {}): ColumnSpec => ({
  name,
  type,
  nullable: true,
  default: null,
  ...extra,
});
const run = (desired: Resource[], live: Resource[]) =>
  diff({ connection: 'w', desired, live, capabilities: CAPS });
const summary = (r: ReturnType<typeof run>) =>
  r.changes.map((c) => `${c.action} ${c.address}${c.destructive ? ' !' : ''}`);

describe('normalization', () => {
  it.each([
    ['int', 'integer'],
    ['INT4', 'integer'],
    ['int8', 'bigint'],
    ['BIGINT', 'bigint'],
    ['varchar(64)', 'character varying(64)'],
    ['VARCHAR ( 64 )', 'character varying(64)'],
    ['character varying', 'character varying'],
    ['char(2)', 'character(2)'],
    ['char', 'character(1)'],
    ['timestamp', 'timestamp without time zone'],
    ['timestamptz', 'timestamp with time zone'],
    ['TIMESTAMP WITH TIME ZONE', 'timestamp with time zone'],
    ['timestamp(3)', 'timestamp(3) without time zone'],
    ['decimal(10,2)', 'numeric(10,2)'],
    ['numeric(10, 2)', 'numeric(10,2)'],
    ['float8', 'double precision'],
    ['float4', 'real'],
    ['bool', 'boolean'],
    ['text[]', 'text[]'],
    ['int4[]', 'integer[]'],
    ['jsonb', 'jsonb'],
    ['super', 'super'],
  ])('type %s -> %s', (input, expected) => {
    expect(normalizeType(input)).toBe(expected);
  });

  it.each([
    ['integer', 'bigint', true],
    ['bigint', 'integer', false],
    ['smallint', 'integer', true],
    ['character varying(32)', 'character varying(64)', true],
    ['character varying(64)', 'character varying(32)', false],
    ['character varying(64)', 'text', true],
    ['text', 'character varying(64)', false],
    ['character varying(64)', 'character varying', true],
    ['numeric(10,2)', 'numeric(12,2)', true],
    ['numeric(10,2)', 'numeric(10,4)', false],
    ['numeric(10,2)', 'numeric(12,4)', true],
    ['integer', 'numeric', true],
    ['bigint', 'numeric(10,0)', false],
    ['real', 'double precision', true],
    ['double precision', 'real', false],
    ['text', 'jsonb', false],
    ['timestamp without time zone', 'timestamp with time zone', false],
  ])('%s -> %s widening: %s', (from, to, expected) => {
    expect(isWidening(from, to)).toBe(expected);
  });

  // What the engine prints back (pg_get_expr) and what the file says compare equal through
  // the parser's canonical form; string and dollar-quoted contents are never rewritten.
  it.each([
    ["'free'::text", "'free'"],
    ["'UK'::character varying", "'UK'"],
    ["('x'::character varying)", "'x'"],
    ["'{}'::jsonb", "'{}'"],
    ['now()', 'current_timestamp'],
    ['CURRENT_TIMESTAMP', 'NOW()'],
    ["'-1'::integer", '-1'],
    ['TRUE', 'true'],
    ["'It''s'::text", "'It''s'"],
    ["'Hello  World'::text", '$$Hello  World$$'],
    ["'It''s UPPER'::text", "E'It\\'s UPPER'"],
    ['(1 + 2)', '(1) + (2)'],
  ])('default %s compares equal to %s', (live, file) => {
    expect(expressionKey(live)).toBe(expressionKey(file));
  });

  it.each([
    ["'MiXeD'", "'mixed'"],
    ['$$Hello  World$$', '$$hello world$$'],
    ["E'It\\'s UPPER'", "E'it\\'s upper'"],
    ["'a  b'", "'a b'"],
    ['1 + 2', '(1 + 2) * 3'],
    ["'x'", "'y'"],
  ])('default %s differs from %s', (a, b) => {
    expect(expressionKey(a)).not.toBe(expressionKey(b));
  });

  it('privileges: lower case, de-duplicated, fixed order, ALL expanded with the engine list', () => {
    expect(normalizePrivileges(['SELECT', 'usage', 'select', 'INSERT'], [])).toEqual([
      'select',
      'insert',
      'usage',
    ]);
    expect(normalizePrivileges(['ALL'], ['select', 'insert'])).toEqual(['select', 'insert']);
    expect(normalizePrivileges(['all privileges'], ['usage', 'create'])).toEqual(['usage', 'create']);
  });
});

describe('partitions ahead', () => {
  const now = new Date('2026-11-23T10:00:00Z');
  it('monthly from the current period through `ahead` periods', () => {
    expect(partitionsAhead('events', 'month', 2, undefined, now)).toEqual([
      { name: 'events_p2026_11', from: '2026-11-01', to: '2026-12-01' },
      { name: 'events_p2026_12', from: '2026-12-01', to: '2027-01-01' },
      { name: 'events_p2027_01', from: '2027-01-01', to: '2027-02-01' },
    ]);
  });
  it('from a start date, aligned to the period', () => {
    const p = partitionsAhead('e', 'year', 1, '2024-06-15', now);
    expect(p.map((x) => x.name)).toEqual(['e_p2024', 'e_p2025', 'e_p2026', 'e_p2027']);
    expect(p[0]).toEqual({ name: 'e_p2024', from: '2024-01-01', to: '2025-01-01' });
  });
  it('weeks start on Monday; days are single days', () => {
    expect(partitionsAhead('w', 'week', 0, undefined, now)).toEqual([
      { name: 'w_p2026_11_23', from: '2026-11-23', to: '2026-11-30' },
    ]);
    expect(partitionsAhead('d', 'day', 1, undefined, now).map((p) => p.from)).toEqual([
      '2026-11-23',
      '2026-11-24',
    ]);
  });
});

describe('diff', () => {
  it('creates in dependency order: roles, schemas, tables, then grants', () => {
    const r = run(
      [grant('s.t', 'v', ['select']), table('s.t', [col('id')]), schema('s', { owner: 'v' }), role('v')],
      [],
    );
    expect(summary(r)).toEqual([
      'create w.role:v',
      'create w.schema:s',
      'create w.table:s.t',
      'create w.grant:table:s.t/v',
    ]);
  });

  it('orders roles by membership, whatever their names', () => {
    const r = run([role('a_member', { memberOf: ['z_group'] }), role('z_group')], []);
    expect(summary(r)).toEqual(['create w.role:z_group', 'create w.role:a_member']);
  });

  it('runs deletes first, in reverse dependency order', () => {
    const marked = schema('old', { marked: true });
    const r = run(
      [schema('s')],
      [
        schema('s'),
        marked,
        table('old.t', [col('id')]),
        role('gone', { marked: true }),
        grant('old', 'gone', ['usage']),
      ],
    );
    expect(summary(r)).toEqual(['delete w.table:old.t !', 'delete w.schema:old !', 'delete w.role:gone !']);
  });

  it('never deletes what the file does not manage, and lists it as unmanaged', () => {
    const r = run(
      [schema('s'), role('v')],
      [
        schema('s'),
        schema('public'),
        role('postgres'),
        role('v'),
        table('other.t', [col('id')]),
        grant('s', 'someone', ['usage']),
        grant('other', 'v', ['usage']),
      ],
    );
    expect(r.changes).toEqual([]);
    expect(r.unmanaged.map((u) => u.address)).toEqual([
      'w.grant:schema:other/v',
      'w.grant:schema:s/someone',
      'w.role:postgres',
      'w.schema:public',
      'w.table:other.t',
    ]);
  });

  it('drops undeclared tables in a managed schema unless prune is false', () => {
    const live = [schema('s'), table('s.t', [col('id')]), table('s.extra', [col('id')])];
    expect(summary(run([schema('s'), table('s.t', [col('id')])], live))).toEqual([
      'delete w.table:s.extra !',
    ]);
    expect(summary(run([schema('s', { prune: false }), table('s.t', [col('id')])], live))).toEqual([]);
  });

  it('column changes are field-level, and only data loss is destructive', () => {
    const live = table('s.t', [col('id', 'integer'), col('name', 'character varying(64)'), col('gone')]);
    const want = table('s.t', [
      col('id', 'bigint'),
      col('name', 'character varying(16)'),
      col('added', 'text'),
    ]);
    const [c] = run([schema('s'), want], [schema('s'), live]).changes;
    expect(c?.action).toBe('update');
    expect(c?.destructive).toBe(true);
    expect(c?.fields.map((f) => [f.path, f.destructive ?? false])).toEqual([
      ['columns.id.type', false],
      ['columns.name.type', true],
      ['columns.added', false],
      ['columns.gone', true],
    ]);
  });

  it('a partitioning change is a destructive replace, and grants on the table are planned again', () => {
    const live = [schema('s'), role('v'), table('s.t', [col('ts', 'date')]), grant('s.t', 'v', ['select'])];
    const want = [
      schema('s'),
      role('v'),
      table('s.t', [col('ts', 'date')], {
        partition: {
          by: 'ts',
          granularity: 'month',
          partitions: [{ name: 't_p2026_11', from: '2026-11-01', to: '2026-12-01' }],
        },
      }),
      grant('s.t', 'v', ['select']),
    ];
    const r = run(want, live);
    expect(summary(r)).toEqual(['replace w.table:s.t !', 'create w.grant:table:s.t/v']);
    expect(r.changes[0]?.reasons[0]).toMatch(/dropped and re-created/);
  });

  it('revoking part of a grant is a destructive update; adding is not', () => {
    const live = [schema('s'), role('v'), grant('s', 'v', ['usage', 'create'])];
    const less = run([schema('s'), role('v'), grant('s', 'v', ['usage'])], live).changes[0]!;
    expect([less.action, less.destructive]).toEqual(['update', true]);
    const more = run([schema('s'), role('v'), grant('s', 'v', ['usage', 'create', 'select'])], live)
      .changes[0]!;
    expect([more.action, more.destructive]).toEqual(['update', false]);
  });

  it('ALL is expanded with the engine capability, so it converges with what the engine reports', () => {
    const live = [
      schema('s'),
      role('v'),
      grant('s.t', 'v', CAPS.allPrivileges.table as string[]),
      table('s.t', [col('id')]),
    ];
    expect(
      run([schema('s'), role('v'), table('s.t', [col('id')]), grant('s.t', 'v', ['all'])], live).changes,
    ).toEqual([]);
  });

  it('a grant to the object owner is satisfied by ownership', () => {
    const live = [schema('s', { owner: 'v' }), role('v')];
    expect(
      run([schema('s', { owner: 'v' }), role('v'), grant('s', 'v', ['usage', 'create'])], live).changes,
    ).toEqual([]);
  });

  it('schemas and roles may share a name', () => {
    expect(summary(run([schema('heap'), role('heap')], [role('heap')]))).toEqual(['create w.schema:heap']);
  });

  it('missing partitions ahead are created; existing ones with other names are recognised by bound', () => {
    const parts = (names: [string, string][]) => names.map(([name, from]) => ({ name, from, to: 'x' }));
    const live = table('s.e', [col('ts', 'date')], {
      partition: { by: 'ts', granularity: 'month', partitions: parts([['handmade', '2026-11-01']]) },
    });
    const want = table('s.e', [col('ts', 'date')], {
      partition: {
        by: 'ts',
        granularity: 'month',
        partitions: parts([
          ['e_p2026_11', '2026-11-01'],
          ['e_p2026_12', '2026-12-01'],
        ]),
      },
    });
    const c = run([schema('s'), want], [schema('s'), live]).changes[0]!;
    expect(c.fields).toEqual([{ path: 'partition.partitions', before: null, after: ['e_p2026_12'] }]);
    expect(c.destructive).toBe(false);
  });
});

describe('plan contract and renderers', () => {
  const plan = planOf(
    [schema('s'), role('v'), grant('s', 'v', ['usage'])],
    [schema('s'), role('v'), grant('s', 'v', ['usage', 'create']), table('s.old', [col('id')])],
    { spec: { type: 'postgres', url: '${env:DATABASE_URL}' }, scope: { schemas: ['s'], roles: ['v'] } },
  );

  it('is versioned JSON with changes, diagnostics, summary and per-connection fingerprints', () => {
    expect(plan.format).toBe('wharf-plan');
    expect(plan.version).toBe(1);
    expect(plan.summary).toEqual({ create: 0, update: 1, replace: 0, delete: 1, destructive: 2 });
    expect(plan.decisions.destroy).toBe(true);
    expect(plan.connections.w?.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(plan.connections.w?.spec).toEqual({ type: 'postgres', url: '${env:DATABASE_URL}' });
    expect(plan.changes.every((c) => c.statements.length > 0)).toBe(true);
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });

  it('the fingerprint moves when a watched resource moves, not when an unmanaged one does', () => {
    const again = (live: Resource[]) =>
      buildPlan({
        configFile: 'f',
        baseDir: '/',
        now: new Date(0),
        diagnostics: [],
        connections: [
          {
            name: 'w',
            type: 'postgres',
            spec: {},
            scope: { schemas: [], roles: [] },
            desired: [schema('s')],
            live,
            capabilities: CAPS,
            server: '',
            compile: () => [],
          },
        ],
      }).connections.w!.fingerprint;
    const base = again([schema('s')]);
    expect(again([schema('s'), schema('public')])).toBe(base);
    expect(again([schema('s', { owner: 'x' })])).not.toBe(base);
  });

  it('text and markdown render the same changes and flag destructive ones', () => {
    const text = renderPlanText(plan, { style: PLAIN });
    expect(text).toContain('-   w.table:s.old  delete [destructive]');
    expect(text).toContain('~   w.grant:schema:s/v  update [destructive]');
    expect(text).toContain('Plan: 0 to create, 1 to update, 0 to replace, 1 to delete (2 destructive).');
    const md = renderPlanMarkdown(plan);
    expect(md).toContain('| 🗑️ | `w.table:s.old` | delete | **yes** |');
    expect(md).toContain('```sql\n-- delete w.table:s.old;\n```');
    expect(md).toContain('--allow-destroy');
  });

  it('markdown shows control and bidi characters from the file as escapes', () => {
    const md = renderPlanMarkdown({
      ...plan,
      diagnostics: [
        { severity: 'error', code: 'x', message: 'table s.\u001b[2Jevil\u202etxt.exe', line: 1, col: 1 },
      ],
    });
    expect(md).toContain('s.\\x1b[2Jevil\\u202etxt.exe');
    expect(md).not.toMatch(/[\u001b\u202e]/);
  });
});

// `ALTER DEFAULT PRIVILEGES FOR USER u IN SCHEMA s` needs u to hold CREATE on s
// (https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_DEFAULT_PRIVILEGES.html, IN SCHEMA):
// in one plan, every grant runs before the default privileges, and on the way out the default
// privileges are revoked before the grants, on both engines.
describe('default privileges after grants', () => {
  const loader = role('loader', { login: true });
  const defaults: Resource = {
    kind: 'default_privileges',
    forRole: 'loader',
    schema: 's',
    objectType: 'tables',
    grantee: 'readers',
    privileges: ['select'],
  };
  const wanted: Resource[] = [
    schema('s'),
    loader,
    role('readers'),
    grant('s', 'loader', ['usage', 'create']),
    defaults,
  ];
  const engines = [
    {
      name: 'PostgreSQL',
      caps: CAPS,
      compile: (c: Change) => compilePostgres(c, { database: 'db' }),
      defaults:
        'ALTER DEFAULT PRIVILEGES FOR ROLE "loader" IN SCHEMA "s" GRANT SELECT ON TABLES TO "readers"',
      revoke:
        'ALTER DEFAULT PRIVILEGES FOR ROLE "loader" IN SCHEMA "s" REVOKE SELECT ON TABLES FROM "readers"',
    },
    {
      name: 'Redshift',
      caps: REDSHIFT_CAPABILITIES,
      compile: (c: Change) => compileRedshift(c, { namespaceArn: null }),
      defaults:
        'ALTER DEFAULT PRIVILEGES FOR USER "loader" IN SCHEMA "s" GRANT SELECT ON TABLES TO "readers"',
      revoke:
        'ALTER DEFAULT PRIVILEGES FOR USER "loader" IN SCHEMA "s" REVOKE SELECT ON TABLES FROM "readers"',
    },
  ];
  const sqlOf = (e: (typeof engines)[number], desired: Resource[], live: Resource[]) =>
    diff({ connection: 'w', desired, live, capabilities: e.caps })
      .changes.flatMap((c) => e.compile(c))
      .map((s) => s.sql)
      .filter((s) => /^(GRANT|REVOKE|ALTER DEFAULT)/.test(s));

  it.each(engines)('$name: GRANT CREATE ON SCHEMA runs before the default privileges that need it', (e) => {
    expect(sqlOf(e, wanted, [schema('s'), loader, role('readers')])).toEqual([
      'GRANT USAGE, CREATE ON SCHEMA "s" TO "loader"',
      e.defaults,
    ]);
    // Adding CREATE to an existing grant (an update) also comes first.
    const live = [schema('s'), loader, role('readers'), grant('s', 'loader', ['usage'])];
    expect(sqlOf(e, wanted, live)).toEqual(['GRANT CREATE ON SCHEMA "s" TO "loader"', e.defaults]);
  });

  it.each(engines)('$name: default privileges are revoked before the grant they need', (e) => {
    const left: Resource[] = [schema('s'), loader, role('readers')];
    expect(sqlOf(e, left, wanted)).toEqual([e.revoke, 'REVOKE USAGE, CREATE ON SCHEMA "s" FROM "loader"']);
  });
});
