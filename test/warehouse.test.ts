// End-to-end behaviour against a real PostgreSQL server, through the CLI as a user runs it:
// convergence of the examples, drift after out-of-band changes, default privileges that
// really work for the grantee, secrets kept out of every output, the apply lock, stale saved
// plans, and a failure in the middle of a plan.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { planConfig } from '../src/commands/plan.js';
import { loadConfigFile } from '../src/config/load.js';
import { PostgresProvider } from '../src/providers/postgres/postgres-provider.js';
import { runCli } from './support/cli.js';
import { startTestServer, type TestServer } from './support/pg.js';

let pg: TestServer;
let work: string;
beforeAll(async () => {
  pg = await startTestServer();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-wh-'));
});
afterAll(async () => {
  await pg?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});
afterEach(() => {
  vi.unstubAllEnvs();
});

const EXAMPLES = path.join(import.meta.dirname, '..', 'examples');

/** Copies an example, pointing its warehouse connection at a fresh test database. */
async function exampleOnTestServer(name: string): Promise<{ file: string; db: string }> {
  const db = await pg.createDatabase(name.replace(/\W/g, '_'));
  const env = `WHARF_URL_${db.toUpperCase()}`;
  vi.stubEnv(env, pg.rawUrl(db));
  const text = fs
    .readFileSync(path.join(EXAMPLES, name), 'utf8')
    .replace(/ {2}warehouse:\n(?: {4}.*\n)+/, `  warehouse:\n    type: postgres\n    url: \${env:${env}}\n`);
  const file = path.join(work, `${db}.yaml`);
  fs.writeFileSync(file, text);
  return { file, db };
}

async function writeConfig(body: string): Promise<{ file: string; db: string }> {
  const db = await pg.createDatabase('cfg');
  const env = `WHARF_URL_${db.toUpperCase()}`;
  vi.stubEnv(env, pg.rawUrl(db));
  const file = path.join(work, `${db}.yaml`);
  fs.writeFileSync(
    file,
    `version: 1\nconnections:\n  warehouse:\n    type: postgres\n    url: \${env:${env}}\n${body}`,
  );
  return { file, db };
}

describe('examples converge on a real server', () => {
  it('quickstart: apply, then plan --detailed-exitcode exits 0', async () => {
    const { file } = await exampleOnTestServer('quickstart.yaml');
    const first = await runCli(['plan', '-f', file, '--detailed-exitcode']);
    expect(first.code).toBe(2);
    const applied = await runCli(['apply', '-f', file, '--auto-approve']);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/Apply complete: \d+ done, 0 failed, 0 not run/);
    const again = await runCli(['plan', '-f', file, '--detailed-exitcode']);
    expect(again.stdout).toContain('No changes');
    expect(again.code).toBe(0);
  });

  it('postgres example: apply with the vendor password from the environment, then no changes', async () => {
    vi.stubEnv('VENDOR_PASSWORD', 'v3ndor-S3cret-value');
    const { file, db } = await exampleOnTestServer('postgres.yaml');
    const applied = await runCli(['apply', '-f', file, '--auto-approve']);
    expect(applied.code).toBe(0);
    for (const out of [applied.stdout, applied.stderr]) expect(out).not.toContain('v3ndor-S3cret-value');
    expect(applied.stdout).toContain('PASSWORD ${env:VENDOR_PASSWORD}');
    const again = await runCli(['plan', '-f', file, '--detailed-exitcode']);
    expect(again.code).toBe(0);
    // The password really was set: the vendor logs in with it.
    const vendor = await pg.client(db, 'vendor', 'v3ndor-S3cret-value');
    const { rows } = await vendor.query('SELECT current_user AS u');
    expect(rows[0].u).toBe('vendor');
    await vendor.end();
  });
});

describe('secrets', () => {
  it('never appear in plan output, plan files or the JSON contract', async () => {
    vi.stubEnv('SECRET_VENDOR_PW', 'pw-that-must-not-leak');
    const { file } = await writeConfig(
      `roles:\n  - name: sec_vendor\n    type: user\n    password: \${env:SECRET_VENDOR_PW}\n`,
    );
    const planFile = path.join(work, 'secret-plan.json');
    const text = await runCli(['plan', '-f', file, '--out', planFile]);
    const json = await runCli(['plan', '-f', file, '--json']);
    const md = await runCli(['plan', '-f', file, '--markdown']);
    const saved = fs.readFileSync(planFile, 'utf8');
    for (const out of [text.stdout, json.stdout, md.stdout, saved]) expect(out).toContain('sec_vendor');
    for (const out of [text.stdout, text.stderr, json.stdout, json.stderr, md.stdout, saved]) {
      expect(out).not.toContain('pw-that-must-not-leak');
    }
    const applied = await runCli(['apply', planFile]);
    expect(applied.code).toBe(0);
    expect(applied.stdout).not.toContain('pw-that-must-not-leak');
  });

  it('apply refuses before changing anything when a referenced secret is unset', async () => {
    vi.stubEnv('UNSET_PW_FOR_TEST', undefined);
    const { file, db } = await writeConfig(
      `schemas:\n  - name: first_thing\nroles:\n  - name: unset_vendor\n    type: user\n    password: \${env:UNSET_PW_FOR_TEST}\n`,
    );
    const r = await runCli(['apply', '-f', file, '--auto-approve']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('UNSET_PW_FOR_TEST is not set');
    const c = await pg.client(db);
    const { rows } = await c.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'first_thing'`);
    await c.end();
    expect(rows).toHaveLength(0);
  });
});

describe('saved plans', () => {
  it('show prints a saved plan as text, JSON and Markdown, and refuses a file that is not a plan', async () => {
    const { file } = await writeConfig('schemas:\n  - name: shown\n');
    const planFile = path.join(work, 'shown-plan.json');
    expect((await runCli(['plan', '-f', file, '--out', planFile])).code).toBe(0);
    const saved = JSON.parse(fs.readFileSync(planFile, 'utf8'));
    expect(saved).toMatchObject({ format: 'wharf-plan', version: 1, summary: { create: 1 } });

    const text = await runCli(['show', planFile]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('warehouse.schema:shown');
    expect(text.stdout).toContain('CREATE SCHEMA "shown"');
    const json = await runCli(['show', planFile, '--json']);
    expect(JSON.parse(json.stdout)).toEqual(saved);
    const md = await runCli(['show', planFile, '--markdown']);
    expect(md.stdout).toMatch(/^#+ /m);
    expect(md.stdout).toContain('warehouse.schema:shown');

    const bogus = path.join(work, 'not-a-plan.json');
    fs.writeFileSync(bogus, '{"hello": 1}');
    const bad = await runCli(['show', bogus]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).not.toMatch(/^\s+at /m);
    expect((await runCli(['show', path.join(work, 'missing.json')])).code).toBe(1);
  });
});

describe('drift', () => {
  it('reports out-of-band changes with exit 2 and leaves unmanaged grants alone', async () => {
    const { file, db } = await writeConfig(`
schemas:
  - name: share
tables:
  - schema: share
    name: events
    columns:
      - { name: user_id, type: bigint }
      - { name: event_name, type: text }
      - { name: updated_at, type: timestamp }
roles:
  - name: drift_vendor
    type: user
grants:
  - to: drift_vendor
    privileges: [usage]
    schema: share
  - to: drift_vendor
    privileges: [select]
    tables: [share.events]
`);
    expect((await runCli(['apply', '-f', file, '--auto-approve'])).code).toBe(0);
    expect((await runCli(['drift', '-f', file])).code).toBe(0);

    const c = await pg.client(db);
    await c.query('CREATE ROLE drift_outsider');
    await c.query('REVOKE SELECT ON share.events FROM drift_vendor');
    await c.query('ALTER TABLE share.events DROP COLUMN event_name');
    await c.query('GRANT SELECT ON share.events TO drift_outsider'); // not the file's business
    await c.query('GRANT USAGE ON SCHEMA share TO drift_outsider');

    const drift = await runCli(['drift', '-f', file, '--json']);
    expect(drift.code).toBe(2);
    const report = JSON.parse(drift.stdout);
    expect(report.version).toBe(1);
    const byAddr = Object.fromEntries(report.changes.map((ch: { address: string }) => [ch.address, ch]));
    expect(byAddr['warehouse.grant:table:share.events/drift_vendor'].action).toBe('create');
    expect(byAddr['warehouse.table:share.events'].fields).toEqual([
      expect.objectContaining({ path: 'columns.event_name', before: null }),
    ]);
    expect(Object.keys(byAddr).some((a) => a.includes('drift_outsider'))).toBe(false);
    expect(report.unmanaged.map((u: { address: string }) => u.address)).toContain(
      'warehouse.grant:table:share.events/drift_outsider',
    );
    expect(report.summary).toMatchObject({ create: 1, update: 1, delete: 0 });

    const human = await runCli(['drift', '-f', file]);
    expect(human.code).toBe(2);
    expect(human.stdout).toContain('Drift');

    expect((await runCli(['apply', '-f', file, '--auto-approve'])).code).toBe(0);
    expect((await runCli(['drift', '-f', file])).code).toBe(0);
    const { rows } = await c.query(
      `SELECT has_table_privilege('drift_outsider', 'share.events', 'SELECT') AS outsider,
              has_table_privilege('drift_vendor', 'share.events', 'SELECT') AS vendor`,
    );
    expect(rows[0]).toEqual({ outsider: true, vendor: true });
    await c.end();
  });

  it('an extra privilege for a managed role is drift and apply revokes it (with --allow-destroy)', async () => {
    const { file, db } = await writeConfig(`
schemas:
  - name: s
tables:
  - schema: s
    name: t
    columns: [{ name: id, type: bigint }]
roles:
  - name: extra_vendor
grants:
  - { to: extra_vendor, privileges: [select], tables: [s.t] }
`);
    expect((await runCli(['apply', '-f', file, '--auto-approve'])).code).toBe(0);
    const c = await pg.client(db);
    await c.query('GRANT DELETE ON s.t TO extra_vendor');
    const drift = await runCli(['drift', '-f', file]);
    expect(drift.code).toBe(2);
    expect(drift.stdout).toContain('revokes delete');
    const refused = await runCli(['apply', '-f', file, '--auto-approve']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--allow-destroy');
    expect(
      (await c.query(`SELECT has_table_privilege('extra_vendor', 's.t', 'DELETE') AS d`)).rows[0].d,
    ).toBe(true);
    expect((await runCli(['apply', '-f', file, '--auto-approve', '--allow-destroy'])).code).toBe(0);
    expect(
      (await c.query(`SELECT has_table_privilege('extra_vendor', 's.t', 'DELETE') AS d`)).rows[0].d,
    ).toBe(false);
    await c.end();
  });
});

describe('default privileges', () => {
  it('a table the FOR ROLE user creates later is readable by the grantee, connecting as that role', async () => {
    vi.stubEnv('DP_HEAP_PW', 'heap-pw-1');
    vi.stubEnv('DP_ANALYST_PW', 'analyst-pw-1');
    const { file, db } = await writeConfig(`
schemas:
  - name: heap_data
roles:
  - { name: dp_heap, type: user, password: "\${env:DP_HEAP_PW}" }
  - { name: dp_analysts, type: group }
  - { name: dp_alice, type: user, password: "\${env:DP_ANALYST_PW}", memberOf: [dp_analysts] }
grants:
  - { to: dp_heap, privileges: [usage, create], schema: heap_data }
  - { to: dp_analysts, privileges: [usage], schema: heap_data }
defaultPrivileges:
  - { forRole: dp_heap, schema: heap_data, on: tables, privileges: [select], to: dp_analysts }
`);
    expect((await runCli(['apply', '-f', file, '--auto-approve'])).code).toBe(0);
    const heap = await pg.client(db, 'dp_heap', 'heap-pw-1');
    await heap.query('CREATE TABLE heap_data.pageviews (user_id bigint, time timestamp)');
    await heap.query(`INSERT INTO heap_data.pageviews VALUES (1296, '2022-10-26 07:08:34')`);
    await heap.end();
    const alice = await pg.client(db, 'dp_alice', 'analyst-pw-1');
    const { rows } = await alice.query('SELECT user_id FROM heap_data.pageviews');
    expect(rows).toEqual([{ user_id: '1296' }]);
    await expect(alice.query('INSERT INTO heap_data.pageviews VALUES (2, now())')).rejects.toThrow(
      /permission denied/,
    );
    await alice.end();
  });
});

describe('apply safety', () => {
  it('a second apply waits for the lock, then fails naming the holder', async () => {
    const { file } = await writeConfig('schemas:\n  - name: locked_schema\n');
    const { loaded } = loadConfigFile(file);
    const run = await planConfig(loaded!);
    const provider = run.connections.get('warehouse')!.provider as PostgresProvider;
    const held = await provider.lock('wharf apply (test-holder pid 4242)', 1000);
    try {
      const started = Date.now();
      const r = await runCli(['apply', '-f', file, '--auto-approve', '--lock-timeout', '1500ms']);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('another apply holds the lock');
      expect(r.stderr).toContain('test-holder pid 4242');
    } finally {
      await held.release();
      await run.close();
    }
    expect((await runCli(['apply', '-f', file, '--auto-approve', '--lock-timeout', '5s'])).code).toBe(0);
  });

  it('a saved plan is refused when the live state changed since it was made', async () => {
    const { file, db } = await writeConfig(`
schemas:
  - name: stale
tables:
  - schema: stale
    name: t
    columns: [{ name: id, type: bigint }]
`);
    const planFile = path.join(work, 'stale-plan.json');
    expect((await runCli(['plan', '-f', file, '--out', planFile])).code).toBe(0);
    const shown = await runCli(['show', planFile]);
    expect(shown.stdout).toContain('warehouse.table:stale.t');
    const c = await pg.client(db);
    await c.query('CREATE SCHEMA stale');
    const r = await runCli(['apply', planFile]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the plan is stale');
    const { rows } = await c.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'stale'`);
    expect(rows[0].n).toBe(0);
    await c.end();
    // A fresh plan of the new reality applies.
    expect((await runCli(['plan', '-f', file, '--out', planFile])).code).toBe(0);
    expect((await runCli(['apply', planFile])).code).toBe(0);
  });

  it('a failure in the middle reports done / failed / not run, and a re-plan shows exactly what remains', async () => {
    const { file } = await writeConfig(`
schemas:
  - name: mid
tables:
  - schema: mid
    name: a_ok
    columns: [{ name: id, type: bigint }]
  - schema: mid
    name: b_broken
    columns: [{ name: id, type: bigint, default: "no_such_function()" }]
  - schema: mid
    name: c_later
    columns: [{ name: id, type: bigint }]
`);
    const r = await runCli(['apply', '-f', file, '--auto-approve']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/done\s+warehouse\.schema:mid/);
    expect(r.stdout).toMatch(/done\s+warehouse\.table:mid\.a_ok/);
    expect(r.stdout).toMatch(/failed\s+warehouse\.table:mid\.b_broken/);
    expect(r.stdout).toMatch(/not run\s+warehouse\.table:mid\.c_later/);
    expect(r.stdout).toContain('function no_such_function() does not exist');
    expect(r.stdout).toContain('CREATE TABLE "mid"."b_broken"');
    const again = await runCli(['plan', '-f', file, '--json']);
    const remaining = JSON.parse(again.stdout).changes.map(
      (c: { address: string; action: string }) => `${c.action} ${c.address}`,
    );
    expect(remaining).toEqual(['create warehouse.table:mid.b_broken', 'create warehouse.table:mid.c_later']);
  });

  it('on a terminal, apply asks and only "yes" applies', async () => {
    const { file, db } = await writeConfig('schemas:\n  - name: asked\n');
    const no = await runCli(['apply', '-f', file], { tty: true, input: 'y\n' });
    expect(no.code).toBe(1);
    expect(no.stdout).toContain('Apply cancelled; nothing was changed.');
    const c = await pg.client(db);
    expect((await c.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'asked'`)).rows).toHaveLength(0);
    const yes = await runCli(['apply', '-f', file], { tty: true, input: 'yes\n' });
    expect(yes.code).toBe(0);
    expect((await c.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'asked'`)).rows).toHaveLength(1);
    await c.end();
  });

  it('without a terminal, apply needs --auto-approve or a saved plan', async () => {
    const { file, db } = await writeConfig('schemas:\n  - name: no_tty\n');
    const r = await runCli(['apply', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--auto-approve');
    const c = await pg.client(db);
    expect((await c.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'no_tty'`)).rows).toHaveLength(0);
    await c.end();
  });
});

describe('identifier quoting on a real server', () => {
  it('hostile names are created verbatim and inject nothing', async () => {
    const db = await pg.createDatabase('hostile');
    const client = await pg.client(db);
    await client.query('CREATE TABLE public.victim (id int)');
    const provider = new PostgresProvider(client);
    const schema = 'we"ird; DROP TABLE public.victim; --';
    const table = `t'ab"le; DELETE FROM x --ü`;
    const changes = [
      { kind: 'schema', name: schema, owner: null },
      {
        kind: 'table',
        schema,
        name: table,
        owner: null,
        columns: [{ name: 'co"l; --', type: 'text', nullable: true, default: null }],
        primaryKey: null,
        partition: null,
        comment: "it's a '; DROP TABLE public.victim; -- comment",
      },
    ] as const;
    for (const after of changes) {
      const change = {
        address: 'x',
        connection: 'w',
        kind: after.kind,
        action: 'create' as const,
        destructive: false,
        reasons: [],
        fields: [],
        statements: [],
        dependsOn: [],
        before: null,
        after: after as never,
      };
      change.statements = provider.compile(change) as never;
      await provider.execute(change, { resolveSecret: () => '' });
    }
    const { rows } = await client.query(
      `SELECT c.relname, n.nspname, obj_description(c.oid, 'pg_class') AS comment,
              (SELECT attname FROM pg_attribute WHERE attrelid = c.oid AND attnum = 1) AS col
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1`,
      [schema],
    );
    expect(rows).toEqual([{ relname: table, nspname: schema, comment: changes[1].comment, col: 'co"l; --' }]);
    expect((await client.query('SELECT count(*)::int AS n FROM public.victim')).rows[0].n).toBe(0);
    await client.end();
  });
});
