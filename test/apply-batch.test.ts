// Batched apply on a real PostgreSQL: several changes per message, each its own transaction.
// A failure in the middle of a message reports every change as done, failed or not run and
// the database holds exactly the done ones; a SIGKILL of the real executable in the middle
// of an apply leaves every change whole or absent, and the next apply converges. A message the
// server cannot parse still blames the right change; a statement that cannot run in a
// transaction block still runs.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client as PgClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../src/apply/apply.js';
import { planConfig } from '../src/commands/plan.js';
import { loadConfigFile } from '../src/config/load.js';
import type { LoadedConfig } from '../src/config/types.js';
import type { Change } from '../src/plan/plan.js';
import type { OpenedConnection } from '../src/providers/connect.js';
import { PostgresProvider } from '../src/providers/postgres/postgres-provider.js';
import { runCli } from './support/cli.js';
import { startTestServer, type TestServer } from './support/pg.js';

const BIN = path.join(import.meta.dirname, '..', 'bin', 'wharf.js');

let pg: TestServer;
let work: string;
beforeAll(async () => {
  pg = await startTestServer();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-batch-'));
});
afterAll(async () => {
  await pg?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

async function writeConfig(body: string): Promise<{ file: string; db: string }> {
  const db = await pg.createDatabase('batch');
  const file = path.join(work, `${db}.yaml`);
  fs.writeFileSync(
    file,
    `version: 1\nconnections:\n  warehouse:\n    type: postgres\n    url: "${pg.urlFor(db)}"\n${body}`,
  );
  return { file, db };
}

function load(file: string): LoadedConfig {
  const { loaded } = loadConfigFile(file);
  if (!loaded) throw new Error(`cannot load ${file}`);
  return loaded;
}

/** Opens the file's connection with every query counted: round trips seen at the client. */
function countingOpen(db: string, counter: { n: number }) {
  const count = (c: PgClient) =>
    new Proxy(c, {
      get(target, prop) {
        if (prop === 'query')
          return (...args: unknown[]) => {
            counter.n++;
            return (target.query as (...a: unknown[]) => unknown)(...args);
          };
        const v = Reflect.get(target, prop);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  return async (name: string, config: OpenedConnection['config']): Promise<OpenedConnection> => {
    const provider = new PostgresProvider(count(await pg.client(db)));
    return { name, config, provider, description: db, close: () => provider.close() };
  };
}

/** A change holding these statements, as a plan file could carry it. */
function change(sql: string[], transactional = true): Change {
  return {
    address: `warehouse.schema:${sql[0]}`,
    connection: 'warehouse',
    kind: 'schema',
    action: 'create',
    destructive: false,
    reasons: [],
    fields: [],
    statements: sql.map((s) => (transactional ? { sql: s } : { sql: s, transactional: false })),
    dependsOn: [],
    before: null,
    after: null,
  };
}

const addresses = (changes: { action: string; address: string }[]) =>
  changes.map((c) => `${c.action} ${c.address}`);

describe('batched apply on PostgreSQL', () => {
  it('sends ten changes of several statements each in one round trip, and converges', async () => {
    const tables = Array.from(
      { length: 9 },
      (_, i) =>
        `  - { schema: one, name: t${i}, comment: "table ${i}", columns: [{ name: id, type: bigint }] }`,
    );
    const { file, db } = await writeConfig(`schemas:\n  - name: one\ntables:\n${tables.join('\n')}\n`);
    const counter = { n: 0 };
    const run = await planConfig(load(file), { open: countingOpen(db, counter) });
    expect(run.plan.changes).toHaveLength(10);
    const providers = new Map([...run.connections].map(([n, c]) => [n, c.provider]));
    counter.n = 0;
    const result = await applyPlan(run.plan, providers, {
      allowDestroy: false,
      lockTimeoutMs: 0,
      holder: 'test',
    });
    await run.close();
    expect(result.results.map((r) => r.status)).toEqual(Array(10).fill('done'));
    // Lock session: application name, lock, unlock; apply session: stale check, one message.
    expect(counter.n).toBe(5);
    const c = await pg.client(db);
    const { rows } = await c.query(
      `SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'one'::regnamespace AND relkind = 'r'
          AND obj_description(oid, 'pg_class') LIKE 'table %'`,
    );
    expect(rows[0].n).toBe(9);
    await c.end();
    expect((await runCli(['plan', '-f', file, '--detailed-exitcode'])).code).toBe(0);
  });

  it('a statement failing in the 3rd of 10 changes: done / failed / not run, exactly the done ones in the database', async () => {
    const tables = ['t1_ok', 't2_broken', 't3', 't4', 't5', 't6', 't7', 't8', 't9'].map(
      (t) =>
        `  - { schema: mid, name: ${t}, comment: "kept with ${t}", columns: [{ name: id, type: bigint${t.endsWith('broken') ? ', default: "no_such_function()"' : ''} }] }`,
    );
    const { file, db } = await writeConfig(`schemas:\n  - name: mid\ntables:\n${tables.join('\n')}\n`);
    const planned = addresses(JSON.parse((await runCli(['plan', '-f', file, '--json'])).stdout).changes);
    expect(planned).toHaveLength(10);
    expect(planned[2]).toBe('create warehouse.table:mid.t2_broken');

    const r = await runCli(['apply', '-f', file, '--auto-approve', '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as {
      ok: boolean;
      results: { address: string; status: string; error?: { message: string; sql?: string } }[];
    };
    expect(out.ok).toBe(false);
    expect(out.results.map((x) => x.status)).toEqual(['done', 'done', 'failed', ...Array(7).fill('not run')]);
    expect(out.results[2]!.error?.message).toContain('function no_such_function() does not exist');
    expect(out.results[2]!.error?.sql).toMatch(/^CREATE TABLE "mid"\."t2_broken"/);

    const c = await pg.client(db);
    const schema = await c.query(
      `SELECT obj_description(oid, 'pg_namespace') AS comment FROM pg_namespace WHERE nspname = 'mid'`,
    );
    expect(schema.rows).toEqual([{ comment: 'managed by wharf' }]);
    const { rows } = await c.query(
      `SELECT relname, obj_description(oid, 'pg_class') AS comment FROM pg_class
        WHERE relnamespace = 'mid'::regnamespace AND relkind = 'r' ORDER BY relname`,
    );
    expect(rows).toEqual([{ relname: 't1_ok', comment: 'kept with t1_ok' }]);
    await c.end();

    const again = addresses(JSON.parse((await runCli(['plan', '-f', file, '--json'])).stdout).changes);
    expect(again).toEqual(planned.slice(2));
  });

  it('a grant to a role dropped behind wharf’s back fails its change; the ones before it stay, none after it run', async () => {
    const db = await pg.createDatabase('batch');
    const setup = await pg.client(db);
    const roles = Array.from({ length: 10 }, (_, i) => `${db}_r${i}`);
    await setup.query(
      `CREATE SCHEMA g; ${roles.map((r, i) => `CREATE ROLE "${r}" NOLOGIN; CREATE TABLE g.t${i} (id bigint);`).join(' ')}`,
    );
    const file = path.join(work, `${db}.yaml`);
    fs.writeFileSync(
      file,
      [
        'version: 1',
        'connections:',
        `  warehouse: { type: postgres, url: "${pg.urlFor(db)}" }`,
        'schemas:',
        '  - name: g',
        'roles:',
        ...roles.map((r) => `  - name: ${r}`),
        'tables:',
        ...roles.map((_, i) => `  - { schema: g, name: t${i}, columns: [{ name: id, type: bigint }] }`),
        'grants:',
        ...roles.map((r, i) => `  - { to: ${r}, privileges: [select], tables: [g.t${i}] }`),
        '',
      ].join('\n'),
    );
    const counter = { n: 0 };
    const run = await planConfig(load(file), { open: countingOpen(db, counter) });
    const planned = addresses(run.plan.changes);
    expect(planned).toHaveLength(10);
    const dropped = roles[2]!;
    expect(planned[2]).toContain(dropped);
    const provider = run.connections.get('warehouse')!.provider as PostgresProvider;
    const executeMany = provider.executeMany.bind(provider);
    // After the lock and the stale check, before the changes reach the server.
    provider.executeMany = async (changes, options) => {
      await setup.query(`DROP ROLE "${dropped}"`);
      return executeMany(changes, options);
    };
    const providers = new Map([...run.connections].map(([n, c]) => [n, c.provider]));
    const result = await applyPlan(run.plan, providers, {
      allowDestroy: false,
      lockTimeoutMs: 0,
      holder: 'test',
    });
    await run.close();
    expect(result.results.map((r) => r.status)).toEqual([
      'done',
      'done',
      'failed',
      ...Array(7).fill('not run'),
    ]);
    expect(result.results[2]!.error?.message).toContain(`role "${dropped}" does not exist`);
    expect(result.results[2]!.error?.sql).toBe(run.plan.changes[2]!.statements[0]!.sql);
    const { rows } = await setup.query(
      `SELECT r.rolname FROM pg_roles r WHERE r.rolname = ANY($1)
          AND has_table_privilege(r.oid, format('g.t%s', substr(r.rolname, length($2) + 3))::regclass, 'SELECT')
        ORDER BY 1`,
      [roles, db],
    );
    expect(rows.map((x) => x.rolname)).toEqual(roles.slice(0, 2));
    await setup.end();

    // What remains: the role again (it is in the file) and the grants that did not run.
    const again = await planConfig(load(file));
    await again.close();
    expect(addresses(again.plan.changes).sort()).toEqual(
      [`create warehouse.role:${dropped}`, ...planned.slice(2)].sort(),
    );
  });

  it('a message the server cannot parse is sent again one change at a time, so the failure lands on its change', async () => {
    const db = await pg.createDatabase('batch');
    const client = await pg.client(db);
    const provider = new PostgresProvider(client);
    const changes = [
      change(['CREATE SCHEMA p1', `COMMENT ON SCHEMA p1 IS 'one'`]),
      change(['CREATE SCHEMA p2']),
      change(['CREATE SCHEMA p3', 'CREATE TABLE p3.t (']),
      change(['CREATE SCHEMA p4']),
    ];
    const committed: number[] = [];
    const outcome = await provider.executeMany(changes, {
      resolveSecret: () => '',
      committed: (n) => committed.push(n),
    });
    expect(outcome.done).toEqual([true, true, false, false]);
    expect(outcome.failed?.index).toBe(2);
    const error = outcome.failed?.error as Error & { sql: string };
    expect(error.message).toMatch(/^syntax error at or near/);
    expect(error.sql).toBe('CREATE TABLE p3.t (');
    expect(committed.at(-1)).toBe(2);
    const { rows } = await client.query(
      `SELECT nspname, obj_description(oid, 'pg_namespace') AS comment FROM pg_namespace WHERE nspname LIKE 'p_' ORDER BY 1`,
    );
    expect(rows).toEqual([
      { nspname: 'p1', comment: 'one' },
      { nspname: 'p2', comment: null },
    ]);
    await client.end();
  });

  it('the session keeps its own commit setting after a message, whether it ran through or stopped', async () => {
    const db = await pg.createDatabase('batch');
    // As a team would configure it: for the database, so every session starts with it.
    const admin = await pg.client(db);
    await admin.query(`ALTER DATABASE "${db}" SET synchronous_commit = local`);
    await admin.end();
    const client = await pg.client(db);
    const provider = new PostgresProvider(client);
    const setting = async () => (await client.query('SHOW synchronous_commit')).rows[0].synchronous_commit;
    const ok = await provider.executeMany([change(['CREATE SCHEMA q1']), change(['CREATE SCHEMA q2'])], {
      resolveSecret: () => '',
    });
    expect(await setting()).toBe('local');
    expect(ok).toEqual({ done: [true, true] });
    expect(await setting()).toBe('local');
    const stopped = await provider.executeMany(
      [
        change(['CREATE SCHEMA q3']),
        change(['CREATE SCHEMA q4']),
        change(['CREATE TABLE nowhere.t (id int)']),
      ],
      { resolveSecret: () => '' },
    );
    expect(stopped.done).toEqual([true, true, false]);
    expect(String(stopped.failed?.error)).toContain('schema "nowhere" does not exist');
    expect(await setting()).toBe('local');
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM pg_namespace WHERE nspname LIKE 'q_'`,
    );
    expect(rows[0].n).toBe(4);
    await client.end();
  });

  it('a statement the engine refuses in a transaction block runs on its own, between batched changes', async () => {
    const db = await pg.createDatabase('batch');
    const client = await pg.client(db);
    await client.query('CREATE TABLE public.v (id int)');
    const provider = new PostgresProvider(client);
    const changes = [
      change(['CREATE SCHEMA n1']),
      change(['CREATE INDEX CONCURRENTLY v_id ON public.v (id)'], false),
      change(['CREATE SCHEMA n2']),
    ];
    const outcome = await provider.executeMany(changes, { resolveSecret: () => '' });
    expect(outcome).toEqual({ done: [true, true, true] });
    const { rows } = await client.query(
      `SELECT (SELECT count(*)::int FROM pg_namespace WHERE nspname IN ('n1', 'n2')) AS schemas,
              (SELECT count(*)::int FROM pg_indexes WHERE indexname = 'v_id') AS indexes`,
    );
    expect(rows).toEqual([{ schemas: 2, indexes: 1 }]);
    await client.end();
  });

  it('killed right after its first message committed (a deterministic kill point), apply leaves exactly that message applied', async () => {
    // 1,200 schemas, each one change (CREATE SCHEMA and its ownership comment): the first message
    // carries 500 of them. WHARF_TEST_KILL_AT=after-batch:1 (src/kill-point.ts) SIGKILLs the
    // process as soon as that message has committed.
    const N = 1200;
    const lines = ['schemas:'];
    for (let s = 0; s < N; s++) lines.push(`  - name: d${s}`);
    const { file, db } = await writeConfig(`${lines.join('\n')}\n`);
    const killed = await new Promise<NodeJS.Signals | null>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'apply', '-f', file, '--auto-approve'], {
        env: { ...process.env, WHARF_TEST_KILL_AT: 'after-batch:1' },
        stdio: 'ignore',
      });
      child.on('exit', (_code, signal) => resolve(signal));
    });
    expect(killed).toBe('SIGKILL');
    const c = await pg.client(db);
    const made = await c.query(
      `SELECT nspname, obj_description(oid, 'pg_namespace') AS comment FROM pg_namespace WHERE nspname ~ '^d[0-9]+$'`,
    );
    await c.end();
    // Exactly the first message, each schema whole (with its marker).
    expect(made.rows).toHaveLength(500);
    for (const r of made.rows) expect(r.comment, r.nspname).toBe('managed by wharf');
    const plan = await runCli(['plan', '-f', file, '--json']);
    const changes = (JSON.parse(plan.stdout) as { changes: { action: string; address: string }[] }).changes;
    expect(changes).toHaveLength(N - 500);
    expect(new Set(changes.map((ch) => ch.action))).toEqual(new Set(['create']));
    // What remains is exactly the schemas the killed run did not make.
    const madeNames = new Set(made.rows.map((r) => r.nspname as string));
    const remaining = changes.map((ch) => ch.address.replace(/^warehouse\.schema:/, ''));
    const all = new Set([...madeNames, ...remaining]);
    expect(all).toEqual(new Set(Array.from({ length: N }, (_, s) => `d${s}`)));
    expect(all.size).toBe(madeNames.size + remaining.length);
    const again = await runCli(['apply', '-f', file, '--auto-approve']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`Apply complete: ${N - 500} done, 0 failed, 0 not run.`);
  }, 120_000);

  it('SIGKILL in the middle of a batched apply leaves every change whole or absent; the next apply converges', async () => {
    const N = 2000;
    const lines = ['schemas:'];
    for (let s = 0; s < N / 100; s++) lines.push(`  - name: k${s}`);
    lines.push('roles:', '  - name: killed_reader', 'tables:');
    for (let i = 0; i < N; i++)
      lines.push(
        `  - { schema: k${Math.floor(i / 100)}, name: t${i % 100}, comment: "c${i}", columns: [{ name: id, type: bigint }] }`,
      );
    lines.push('grants:');
    for (let i = 0; i < N; i++)
      lines.push(
        `  - { to: killed_reader, privileges: [select], tables: [k${Math.floor(i / 100)}.t${i % 100}] }`,
      );
    const { file, db } = await writeConfig(`${lines.join('\n')}\n`);

    const child = spawn(process.execPath, [BIN, 'apply', '-f', file, '--auto-approve'], {
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    // The first progress line means a message has committed: the next ones are on their way.
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        if (/: done\n/.test(stdout)) resolve();
      });
      child.on('exit', () =>
        reject(new Error(`apply ended before it was killed: ${stdout.slice(-500)}${stderr}`)),
      );
    });
    await new Promise((r) => setTimeout(r, 15));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const c = await pg.client(db);
    // The killed sessions go away once the server notices; wait for them, then look.
    for (let t = 0; t < 200; t++) {
      const { rows } = await c.query(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [db],
      );
      if (rows[0].n === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const schemas = await c.query(
      `SELECT nspname, obj_description(oid, 'pg_namespace') AS comment FROM pg_namespace WHERE nspname ~ '^k[0-9]+$'`,
    );
    for (const s of schemas.rows) expect(s.comment, s.nspname).toBe('managed by wharf');
    const tables = await c.query(
      `SELECT n.nspname, c.relname, obj_description(c.oid, 'pg_class') AS comment
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname ~ '^k[0-9]+$' AND c.relkind = 'r'`,
    );
    // A table and its comment are one change: both or neither.
    for (const t of tables.rows) {
      const i = Number(t.nspname.slice(1)) * 100 + Number(t.relname.slice(1));
      expect(t.comment, `${t.nspname}.${t.relname}`).toBe(`c${i}`);
    }
    const granted = await c.query(
      `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname ~ '^k[0-9]+$' AND c.relkind = 'r' AND has_table_privilege('killed_reader', c.oid, 'SELECT')`,
    );
    // Killed in the middle: some of it ran, not all of it.
    expect(tables.rows.length).toBeGreaterThan(0);
    expect(tables.rows.length + granted.rows[0].n).toBeLessThan(2 * N);
    await c.end();

    const again = await runCli(['apply', '-f', file, '--auto-approve']);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Apply complete: \d+ done, 0 failed, 0 not run\./);
    const plan = await runCli(['plan', '-f', file, '--detailed-exitcode']);
    expect(plan.stdout).toContain('No changes');
    expect(plan.code).toBe(0);
  }, 120_000);
});
