// `-target ADDRESS`: a partial plan of the targeted changes and the ones they need. The
// selection is checked on the pure planner (dependencies pulled in, dependants of a delete,
// prefixes, targets that match nothing), then end to end on a real PostgreSQL through the CLI:
// the plan says it is partial in text, Markdown and JSON (valid against the published schema),
// `apply --target` and `apply plan.json` of a targeted plan change only the targeted objects and
// what they need (queried in the catalog), and a stale targeted plan is refused like any other.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Resource } from '../src/plan/model.js';
import { hasErrors, type Plan } from '../src/plan/plan.js';
import { matchesTarget } from '../src/plan/target.js';
import { renderPlanMarkdown } from '../src/render/markdown.js';
import { PLAIN, renderPlanText } from '../src/render/text.js';
import { runCli } from './support/cli.js';
import { startTestServer, type TestServer } from './support/pg.js';
import { grant, planOf, role, schema, table } from './support/plan-builders.js';

const plan = (desired: Resource[], live: Resource[], targets?: string[]): Plan =>
  planOf(desired, live, {}, targets ? { targets } : {});
const lines = (p: Plan) =>
  p.changes.map((c) => `${c.action} ${c.address}${c.requiredBy ? ` <- ${c.requiredBy.join(' ')}` : ''}`);

// A vendor reads app.events; other.misc and the role unrelated have nothing to do with it.
const desired: Resource[] = [
  schema('app'),
  table('app.events'),
  schema('other'),
  table('other.misc'),
  role('vendor'),
  role('unrelated'),
  grant('app', 'vendor', ['usage']),
  grant('app.events', 'vendor', ['select']),
];
const TABLE_GRANT = 'w.grant:table:app.events/vendor';

describe('selecting the changes (pure planner)', () => {
  it('a targeted grant pulls in the role, table and schema it needs; unrelated changes are left out', () => {
    const p = plan(desired, [], [TABLE_GRANT]);
    expect(lines(p)).toEqual([
      `create w.role:vendor <- ${TABLE_GRANT}`,
      `create w.schema:app <- ${TABLE_GRANT}`,
      `create w.table:app.events <- ${TABLE_GRANT}`,
      `create ${TABLE_GRANT}`,
    ]);
    // The full plan has 8 changes: 4 are left out, and the summary counts the 4 kept.
    expect(plan(desired, []).changes).toHaveLength(8);
    expect(p.partial).toEqual({ targets: [TABLE_GRANT], leftOut: 4 });
    expect(p.summary).toEqual({ create: 4, update: 0, replace: 0, delete: 0, destructive: 0 });
    expect(p.changes.every((c) => c.statements.length === 1)).toBe(true);
    expect(hasErrors(p.diagnostics)).toBe(false);
  });

  it('what already exists is not pulled in: only the changes the target needs', () => {
    const live = [schema('app'), table('app.events'), role('vendor')];
    expect(lines(plan(desired, live, [TABLE_GRANT]))).toEqual([`create ${TABLE_GRANT}`]);
  });

  it('the prefix form takes every change under it, with what each needs', () => {
    const p = plan(desired, [schema('app'), table('app.events')], ['w.grant:*']);
    expect(lines(p)).toEqual([
      'create w.role:vendor <- w.grant:schema:app/vendor w.grant:table:app.events/vendor',
      'create w.grant:schema:app/vendor',
      `create ${TABLE_GRANT}`,
    ]);
    expect(lines(plan(desired, [], ['w.table:app.*']))).toEqual([
      'create w.schema:app <- w.table:app.events',
      'create w.table:app.events',
    ]);
    expect(matchesTarget('w.table:app.*', 'w.table:apple.x')).toBe(false);
    expect(matchesTarget('w.table:app*', 'w.table:apple.x')).toBe(true);
    expect(matchesTarget('w.table:app.e', 'w.table:app.events')).toBe(false);
  });

  it('a changed target that is itself needed by another target stays a target, not a dependency', () => {
    const p = plan(desired, [], [TABLE_GRANT, 'w.role:vendor']);
    expect(lines(p)).toContain('create w.role:vendor');
  });

  it('a targeted delete pulls in the deletes that must run before it (the tables of a dropped schema)', () => {
    // `old` was created by wharf (marked) and left the file with its tables; so did the group
    // `grp` and its member `member`.
    const live: Resource[] = [
      schema('app'),
      table('app.events'),
      schema('old', { marked: true }),
      table('old.a'),
      table('old.b'),
      role('grp', { marked: true }),
      role('member', { marked: true, memberOf: ['grp'] }),
    ];
    const want: Resource[] = [schema('app'), table('app.events')];
    expect(lines(plan(want, live))).toHaveLength(5);
    const p = plan(want, live, ['w.schema:old']);
    expect(lines(p)).toEqual([
      'delete w.table:old.a <- w.schema:old',
      'delete w.table:old.b <- w.schema:old',
      'delete w.schema:old',
    ]);
    expect(p.changes.every((c) => c.destructive)).toBe(true);
    expect(p.decisions.destroy).toBe(true);
    expect(p.partial?.leftOut).toBe(2);
    // Dropping a table needs nothing else dropped; dropping a group does not drop its members.
    expect(lines(plan(want, live, ['w.table:old.b']))).toEqual(['delete w.table:old.b']);
    expect(lines(plan(want, live, ['w.role:grp']))).toEqual(['delete w.role:grp']);
  });

  it('a target that names nothing is an error naming it; one that names an object in sync is not', () => {
    const live = [schema('app'), table('app.events')];
    const p = plan(desired, live, [
      'w.role:vendr',
      'w.table:app.events',
      'x.role:vendor',
      'w.tabel:*',
      'oops',
    ]);
    const errors = p.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => d.code)).toEqual(['target', 'target', 'target', 'target']);
    expect(errors[0]!.message).toMatch(/^-target w\.role:vendr matches no change and no object/);
    expect(errors[1]!.message).toContain('-target x.role:vendor');
    expect(errors[1]!.message).toContain('no connection x is planned (w)');
    expect(errors[2]!.message).toContain('no kind tabel');
    expect(errors[3]!.message).toContain('an address is <connection>.<kind>:<id>');
    // The table is in sync: nothing to do there, no error, no change.
    const ok = plan(desired, live, ['w.table:app.events']);
    expect(ok.diagnostics).toEqual([]);
    expect(ok.changes).toEqual([]);
    expect(renderPlanText(ok, { style: PLAIN })).toContain('No changes at the targets.');
    expect(renderPlanText(ok, { style: PLAIN })).not.toContain('The live state matches the file');
  });

  it('text and Markdown say at the top that the plan is partial, and mark what was pulled in', () => {
    const p = plan(desired, [], [TABLE_GRANT]);
    const text = renderPlanText(p, { style: PLAIN });
    const note = `Partial plan (-target ${TABLE_GRANT}): only the targeted changes and 3 they need; 4 other changes are left out`;
    expect(text.indexOf(note)).toBeGreaterThan(-1);
    expect(text.indexOf(note)).toBeLessThan(text.indexOf('wharf will make these changes'));
    expect(text).toContain(`# pulled in: needed by ${TABLE_GRANT}`);
    const md = renderPlanMarkdown(p);
    expect(md.split('\n').slice(0, 3)).toEqual([
      '### wharf plan',
      '',
      `> ⚠️ Partial plan (-target \`${TABLE_GRANT}\`): only the targeted changes and 3 they need; 4 other changes are left out (wharf plan without -target shows them).`,
    ]);
    expect(md).toContain('| ➕ | `w.role:vendor` _(needed by a target)_ | create |');
    expect(md).toContain(`| ➕ | \`${TABLE_GRANT}\` | create |`);
    // A full plan says nothing of the kind.
    const full = plan(desired, []);
    expect(full.partial).toBeUndefined();
    expect(full.changes.some((c) => 'requiredBy' in c)).toBe(false);
    expect(renderPlanText(full, { style: PLAIN })).not.toContain('Partial plan');
    expect(renderPlanMarkdown(full)).not.toContain('Partial plan');
  });
});

// ---- End to end on a real PostgreSQL, through the CLI.

const SCHEMAS = path.join(import.meta.dirname, '..', 'schemas');
const ajv = new Ajv({ allErrors: true, strict: true });
const validatePlan = ajv.compile(
  JSON.parse(fs.readFileSync(path.join(SCHEMAS, 'wharf-plan.schema.json'), 'utf8')),
);

let server: TestServer;
let work: string;
beforeAll(async () => {
  server = await startTestServer();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-target-'));
});
afterAll(async () => {
  await server?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});
afterEach(() => {
  vi.unstubAllEnvs();
});

/** A file on a fresh database: a vendor role reading app.events, and unrelated objects. Roles are per cluster: `tag` keeps them apart. */
async function setup(tag: string): Promise<{ file: string; db: string; vendor: string; other: string }> {
  const db = await server.createDatabase('target');
  const env = `WHARF_URL_${db.toUpperCase()}`;
  vi.stubEnv(env, server.rawUrl(db));
  const vendor = `vendor_${tag}`;
  const other = `unrelated_${tag}`;
  const file = path.join(work, `${db}.yaml`);
  fs.writeFileSync(
    file,
    `version: 1
connections:
  warehouse:
    type: postgres
    url: \${env:${env}}
schemas:
  - name: app
  - name: other
tables:
  - schema: app
    name: events
    columns: [{ name: id, type: bigint }]
  - schema: other
    name: misc
    columns: [{ name: id, type: bigint }]
roles:
  - { name: ${vendor}, type: role }
  - { name: ${other}, type: role }
grants:
  - { to: ${vendor}, privileges: [usage], schema: app }
  - { to: ${vendor}, privileges: [select], tables: [app.events] }
`,
  );
  return { file, db, vendor, other };
}

interface Catalog {
  schemas: string[];
  tables: string[];
  roles: string[];
  canSelect: boolean;
}

async function catalog(db: string, vendor: string, other: string): Promise<Catalog> {
  const c: pg.Client = await server.client(db);
  try {
    const schemas = await c.query(
      `SELECT nspname AS n FROM pg_namespace WHERE nspname IN ('app', 'other') ORDER BY 1`,
    );
    const tables = await c.query(
      `SELECT schemaname || '.' || tablename AS n FROM pg_tables WHERE schemaname IN ('app', 'other') ORDER BY 1`,
    );
    const roles = await c.query(`SELECT rolname AS n FROM pg_roles WHERE rolname IN ($1, $2) ORDER BY 1`, [
      vendor,
      other,
    ]);
    const exists = tables.rows.some((r) => r.n === 'app.events') && roles.rows.some((r) => r.n === vendor);
    const can = exists
      ? (await c.query(`SELECT has_table_privilege($1, 'app.events', 'SELECT') AS ok`, [vendor])).rows[0].ok
      : false;
    return {
      schemas: schemas.rows.map((r) => r.n),
      tables: tables.rows.map((r) => r.n),
      roles: roles.rows.map((r) => r.n),
      canSelect: can,
    };
  } finally {
    await c.end();
  }
}

describe('wharf plan and apply --target on a real PostgreSQL', () => {
  it('plan says it is partial in text, Markdown and JSON; the JSON matches the published schema', async () => {
    const { file, vendor } = await setup('plan');
    const target = `warehouse.grant:table:app.events/${vendor}`;
    const text = await runCli(['plan', '-f', file, '--target', target, '--detailed-exitcode']);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(2);
    expect(text.stdout).toContain(
      `Partial plan (-target ${target}): only the targeted changes and 3 they need; 4 other changes are left out`,
    );
    expect(text.stdout).toContain(`+   warehouse.role:${vendor}  create`);
    expect(text.stdout).toContain('+   warehouse.table:app.events  create');
    expect(text.stdout).not.toMatch(/warehouse\.(schema:other|table:other|role:unrelated|grant:schema:app)/);
    expect(text.stdout).toContain('Plan: 4 to create, 0 to update, 0 to replace, 0 to delete.');

    const md = await runCli(['plan', '-f', file, `-target=${target}`, '--markdown']);
    expect(md.code).toBe(0);
    expect(md.stdout).toMatch(
      /^### wharf plan\n\n> ⚠️ Partial plan \(-target `warehouse\.grant:table:app\.events\//,
    );
    expect(md.stdout).toContain('`warehouse.schema:app` _(needed by a target)_');

    const json = await runCli(['plan', '-f', file, '-target', target, '--json']);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as Plan;
    expect(validatePlan(doc), JSON.stringify(validatePlan.errors)).toBe(true);
    expect(doc.partial).toEqual({ targets: [target], leftOut: 4 });
    expect(doc.changes.map((c) => [c.address, c.requiredBy ?? null])).toEqual([
      [`warehouse.role:${vendor}`, [target]],
      ['warehouse.schema:app', [target]],
      ['warehouse.table:app.events', [target]],
      [target, null],
    ]);
    // A document with a malformed `partial` is refused by the schema.
    expect(validatePlan({ ...doc, partial: { targets: [] } })).toBe(false);
  });

  it('a target that matches nothing: exit 1 naming it, and no plan file is written', async () => {
    const { file } = await setup('none');
    const out = path.join(work, 'none.json');
    const r = await runCli(['plan', '-f', file, '--target', 'warehouse.role:nobody', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'error: -target warehouse.role:nobody matches no change and no object of the file or the live state',
    );
    expect(fs.existsSync(out)).toBe(false);
    const prefix = await runCli(['plan', '-f', file, '--target', 'warehouse.datashare:*']);
    expect(prefix.code).toBe(1);
    expect(prefix.stderr).toContain('-target warehouse.datashare:* matches no change');
  });

  it('apply --target creates only the targeted grant and what it needs; a full plan then shows the rest', async () => {
    const { file, db, vendor, other } = await setup('apply');
    const r = await runCli([
      'apply',
      '-f',
      file,
      '--target',
      `warehouse.grant:table:app.events/${vendor}`,
      '--auto-approve',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await catalog(db, vendor, other)).toEqual({
      schemas: ['app'],
      tables: ['app.events'],
      roles: [vendor],
      canSelect: true,
    });
    const rest = await runCli(['plan', '-f', file, '--json']);
    expect((JSON.parse(rest.stdout) as Plan).changes.map((c) => c.address).sort()).toEqual(
      [
        `warehouse.grant:schema:app/${vendor}`,
        `warehouse.role:${other}`,
        'warehouse.schema:other',
        'warehouse.table:other.misc',
      ].sort(),
    );
  });

  it('a saved targeted plan applies only its changes', async () => {
    const { file, db, vendor, other } = await setup('saved');
    const out = path.join(work, 'saved.json');
    const p = await runCli(['plan', '-f', file, '-target', 'warehouse.table:other.*', '-out', out]);
    expect(p.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).partial).toEqual({
      targets: ['warehouse.table:other.*'],
      leftOut: 6,
    });
    const r = await runCli(['apply', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Partial plan (-target warehouse.table:other.*)');
    expect(r.stdout).toContain('Apply complete: 2 done, 0 failed, 0 not run.');
    expect(await catalog(db, vendor, other)).toEqual({
      schemas: ['other'],
      tables: ['other.misc'],
      roles: [],
      canSelect: false,
    });
  });

  it('a saved targeted plan is refused as stale when the live state moved, even away from its targets', async () => {
    const { file, db, vendor, other } = await setup('stale');
    const out = path.join(work, 'stale.json');
    expect(
      (await runCli(['plan', '-f', file, '--target', `warehouse.role:${vendor}`, '--out', out])).code,
    ).toBe(0);
    const c = await server.client(db);
    await c.query('CREATE SCHEMA app');
    await c.end();
    const r = await runCli(['apply', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the plan is stale');
    expect((await catalog(db, vendor, other)).roles).toEqual([]);
    // Planned again, the targeted plan applies.
    expect(
      (await runCli(['plan', '-f', file, '--target', `warehouse.role:${vendor}`, '--out', out])).code,
    ).toBe(0);
    expect((await runCli(['apply', out])).code).toBe(0);
    expect(await catalog(db, vendor, other)).toEqual({
      schemas: ['app'],
      tables: [],
      roles: [vendor],
      canSelect: false,
    });
  });

  it('--target is refused with a saved plan and by drift', async () => {
    const { file } = await setup('refused');
    const out = path.join(work, 'refused.json');
    expect((await runCli(['plan', '-f', file, '--out', out])).code).toBe(0);
    const withPlan = await runCli(['apply', out, '--target', 'warehouse.schema:app']);
    expect(withPlan.code).toBe(1);
    expect(withPlan.stderr).toContain('apply of a saved plan');
    expect(withPlan.stderr).toContain('takes no --target');
    const drift = await runCli(['drift', '-f', file, '-target', 'warehouse.schema:app']);
    expect(drift.code).toBe(1);
    expect(drift.stderr).toBe(
      'error: drift does not take --target (an option of plan, apply); see wharf drift --help\n',
    );
  });
});
