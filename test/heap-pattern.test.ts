// Heap's setup end to end on a real PostgreSQL, through the CLI, with every role logging in
// with its own password over TCP: wharf creates the vendor's user, its schema and a default
// privilege; the vendor's user creates tables; the analysts read them and nobody else does;
// the plan stays empty. Removing the default privilege is destructive and takes the access
// away. Then the role wharf connects as: no file and no flag can lock wharf out.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from './support/cli.js';
import { startTestServer, type TestServer } from './support/pg.js';

let server: TestServer;
let work: string;
beforeAll(async () => {
  server = await startTestServer();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-heap-'));
});
afterAll(async () => {
  await server?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});
afterEach(() => {
  vi.unstubAllEnvs();
});

/** A password in an env var, as the file references it. */
function secret(name: string): string {
  const value = `pw-${randomBytes(9).toString('base64url')}`;
  vi.stubEnv(name, value);
  return value;
}

/** A file on `db`, connecting as `user` (default: the test server's superuser). */
function config(db: string, body: string, user?: { name: string; passwordEnv: string }): string {
  const url = user
    ? `postgres://${user.name}:\${env:${user.passwordEnv}}@127.0.0.1:${server.server.port}/${db}`
    : server.urlFor(db);
  const file = path.join(work, `${db}-${randomBytes(4).toString('hex')}.yaml`);
  fs.writeFileSync(
    file,
    `version: 1\nconnections:\n  warehouse:\n    type: postgres\n    url: "${url}"\n${body}`,
  );
  return file;
}

/** The SQLSTATE a statement fails with as `user`, or 'ok'. */
async function outcome(client: pg.Client, sql: string): Promise<string> {
  try {
    await client.query(sql);
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

async function loginError(db: string, user: string, password: string): Promise<string> {
  try {
    const c = await server.client(db, user, password);
    await c.end();
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

describe("Heap's pattern", () => {
  it('default privileges grant the tables heap creates; the plan stays empty; removing them revokes', async () => {
    const db = await server.createDatabase('heap');
    const pw = { heap: secret('HEAP_PW'), analyst: secret('ANALYST_PW'), outsider: secret('OUTSIDER_PW') };
    // Heap's document: a user for Heap that owns (CREATE, USAGE) its own schema, and
    // ALTER DEFAULT PRIVILEGES FOR USER heap GRANT SELECT ON TABLES TO the analysts.
    const withDefaults = `schemas:
  - name: heap
    owner: heap
    prune: false
roles:
  - name: heap
    type: user
    password: \${env:HEAP_PW}
  - name: analysts
    type: group
  - name: analyst
    type: user
    password: \${env:ANALYST_PW}
    memberOf: [analysts]
  - name: outsider
    type: user
    password: \${env:OUTSIDER_PW}
grants:
  - { to: analysts, privileges: [usage], schema: heap }
  - { to: outsider, privileges: [usage], schema: heap }
`;
    const file = config(
      db,
      `${withDefaults}defaultPrivileges:\n  - { forRole: heap, schema: heap, privileges: [select], to: analysts }\n`,
    );
    const applied = await runCli(['apply', '-f', file, '--auto-approve']);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    for (const p of Object.values(pw)) expect(applied.stdout).not.toContain(p);
    expect((await runCli(['plan', '-f', file, '--detailed-exitcode'])).code).toBe(0);

    // TCP with password authentication: the right password logs in, a wrong one does not.
    expect(await loginError(db, 'heap', 'not-the-password')).toBe('28P01');
    expect(await loginError(db, 'analyst', pw.outsider)).toBe('28P01');
    const heap = await server.client(db, 'heap', pw.heap);
    const analyst = await server.client(db, 'analyst', pw.analyst);
    const outsider = await server.client(db, 'outsider', pw.outsider);
    try {
      expect((await heap.query('SELECT current_user AS u')).rows[0].u).toBe('heap');
      // Heap's sync creates its tables.
      await heap.query('CREATE TABLE heap.pageviews (user_id bigint, time timestamp)');
      await heap.query('INSERT INTO heap.pageviews VALUES (1, now()), (2, now())');
      await heap.query('CREATE TABLE heap.sessions (user_id bigint, time timestamp)');
      expect((await analyst.query('SELECT count(*)::int AS n FROM heap.pageviews')).rows[0].n).toBe(2);
      expect(await outcome(analyst, 'SELECT * FROM heap.sessions')).toBe('ok');
      expect(await outcome(outsider, 'SELECT * FROM heap.pageviews')).toBe('42501');
      expect(await outcome(analyst, 'INSERT INTO heap.pageviews VALUES (3, now())')).toBe('42501');

      // The grants the default privilege made are the file's: no diff, no drift, no revoke.
      const plan = await runCli(['plan', '-f', file, '--detailed-exitcode']);
      expect(plan.stdout).toContain('No changes');
      expect(plan.code).toBe(0);
      const drift = await runCli(['drift', '-f', file]);
      expect(drift.stdout).toContain('No drift');
      expect(drift.code).toBe(0);

      // The default privilege leaves the file: destructive, refused without --allow-destroy.
      const without = config(db, withDefaults);
      const planned = await runCli(['plan', '-f', without, '--detailed-exitcode']);
      expect(planned.code).toBe(2);
      expect(planned.stdout).toContain('REVOKE SELECT ON TABLES FROM "analysts"');
      expect(planned.stdout).toContain('REVOKE SELECT ON TABLE "heap"."pageviews" FROM "analysts"');
      const refused = await runCli(['apply', '-f', without, '--auto-approve']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('--allow-destroy');
      expect(await outcome(analyst, 'SELECT * FROM heap.pageviews')).toBe('ok');
      await heap.query('CREATE TABLE heap.still_granted (id bigint)');
      expect(await outcome(analyst, 'SELECT * FROM heap.still_granted')).toBe('ok');

      const destroyed = await runCli(['apply', '-f', without, '--auto-approve', '--allow-destroy']);
      expect(destroyed.code).toBe(0);
      expect(await outcome(analyst, 'SELECT * FROM heap.pageviews')).toBe('42501');
      await heap.query('CREATE TABLE heap.events (id bigint)');
      expect(await outcome(analyst, 'SELECT * FROM heap.events')).toBe('42501');
      expect(await outcome(heap, 'SELECT * FROM heap.events')).toBe('ok');
      expect((await runCli(['plan', '-f', without, '--detailed-exitcode'])).code).toBe(0);
    } finally {
      for (const c of [heap, analyst, outsider]) await c.end();
    }
  });
});

describe('the role wharf connects as', () => {
  it('is never dropped, renamed, set NOLOGIN or stripped of a membership, whatever the flags', async () => {
    const db = await server.createDatabase('conn');
    const pw = secret('DEPLOYER_PW');
    const deployer = { name: 'deployer', passwordEnv: 'DEPLOYER_PW' };
    // wharf creates the deployer (so the role carries wharf's marker and may be dropped by a
    // file), then an administrator lets it run wharf.
    const setup = config(
      db,
      `schemas:\n  - name: app\nroles:\n  - { name: ops, type: group }\n  - { name: deployer, type: user, password: "\${env:DEPLOYER_PW}", memberOf: [ops] }\n`,
    );
    expect((await runCli(['apply', '-f', setup, '--auto-approve'])).code).toBe(0);
    const admin = await server.client(db);
    const state = async () =>
      (
        await admin.query(
          `SELECT r.rolcanlogin AS login,
                  array(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                         WHERE m.member = r.oid ORDER BY 1)::text[] AS groups,
                  (SELECT count(*)::int FROM pg_roles WHERE rolname LIKE 'deployer%') AS roles
             FROM pg_roles r WHERE r.rolname = 'deployer'`,
        )
      ).rows[0];
    try {
      await admin.query('ALTER ROLE deployer SUPERUSER');
      const before = await state();
      expect(before).toEqual({ login: true, groups: ['ops'], roles: 1 });
      const asDeployer = (roles: string) => config(db, `schemas:\n  - name: app\nroles:\n${roles}`, deployer);
      expect(
        (
          await runCli([
            'plan',
            '-f',
            asDeployer(
              `  - { name: ops, type: group }\n  - { name: deployer, type: user, memberOf: [ops] }\n`,
            ),
            '--detailed-exitcode',
          ])
        ).code,
      ).toBe(0);

      const cases: [string, string, RegExp][] = [
        [
          'NOLOGIN',
          '  - { name: ops, type: group }\n  - { name: deployer, type: group, memberOf: [ops] }\n',
          /take away its LOGIN/,
        ],
        [
          'membership',
          '  - { name: ops, type: group }\n  - { name: deployer, type: user }\n',
          /take away its membership in ops/,
        ],
        ['drop', '  - { name: ops, type: group }\n', /would drop it,/],
        [
          'rename',
          '  - { name: ops, type: group }\n  - { name: deployer2, type: user, memberOf: [ops] }\n',
          /would drop it,/,
        ],
      ];
      for (const [name, roles, why] of cases) {
        const file = asDeployer(roles);
        const plan = await runCli(['plan', '-f', file, '--detailed-exitcode']);
        expect(plan.code, name).toBe(1);
        expect(plan.stderr, name).toMatch(/deployer is the role wharf connects as \(connection warehouse\)/);
        expect(plan.stderr, name).toMatch(why);
        expect(plan.stderr, name).toContain(`${file}:`);
        for (const flags of [[], ['--allow-destroy'], ['--allow-destroy', '--allow-widen']]) {
          const apply = await runCli(['apply', '-f', file, '--auto-approve', ...flags]);
          expect(apply.code, name).toBe(1);
          expect(apply.stderr, name).toMatch(why);
          expect(await state(), name).toEqual(before);
        }
      }

      // A saved plan with its diagnostics removed is refused by apply itself. (plan --out never
      // writes a plan with errors: the plan contract printed by --json is saved by hand.)
      const planFile = path.join(work, 'nologin-plan.json');
      const printed = await runCli(['plan', '-f', asDeployer(cases[0]![1]), '--json']);
      const saved = JSON.parse(printed.stdout);
      expect(saved.diagnostics.map((d: { code: string }) => d.code)).toContain('connecting-role');
      saved.diagnostics = [];
      fs.writeFileSync(planFile, JSON.stringify(saved));
      const forced = await runCli(['apply', planFile, '--allow-destroy']);
      expect(forced.code).toBe(1);
      expect(forced.stderr).toMatch(/deployer is the role wharf connects as.*take away its LOGIN/);
      expect(await state()).toEqual(before);

      // The superuser the server was made with is protected the same way.
      const asSuperuser = config(db, `roles:\n  - { name: ${server.server.user}, type: role }\n`);
      const superPlan = await runCli(['apply', '-f', asSuperuser, '--auto-approve', '--allow-destroy']);
      expect(superPlan.code).toBe(1);
      expect(superPlan.stderr).toContain(`${server.server.user} is the role wharf connects as`);

      // And the deployer still logs in, with its password only.
      expect(await loginError(db, 'deployer', pw)).toBe('ok');
      expect(await loginError(db, 'deployer', `${pw}x`)).toBe('28P01');
    } finally {
      await admin.end();
    }
  });
});
