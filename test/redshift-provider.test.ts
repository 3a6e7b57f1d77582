// The Redshift provider's execution and lock on the emulated Redshift: a plan's statements
// are packed into Data API batches of at most 40 (apply of 1,000 grants in at most 30
// submissions), a failing batch rolls back every change in it (failed / not run), and the
// lock-table lock keeps a second apply out, naming the holder.
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../src/apply/apply.js';
import { planConfig } from '../src/commands/plan.js';
import { loadConfigText } from '../src/config/load.js';
import type { Change } from '../src/plan/plan.js';
import { LockTimeoutError, type WarehouseProvider } from '../src/providers/provider.js';
import type { RedshiftProvider } from '../src/providers/redshift/redshift-provider.js';
import { startTestServer, type TestServer } from './support/pg.js';
import { type RedshiftHarness, startRedshiftHarness } from './support/redshift-harness.js';

let server: TestServer;
let db: pg.Client;
let h: RedshiftHarness;

beforeAll(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await h?.close();
  await db?.end();
});
afterAll(async () => {
  await server?.stop();
});

async function fresh() {
  db = await server.client(await server.createDatabase('rsprov'));
  h = await startRedshiftHarness(db);
}

const CONN = `
version: 1
connections:
  rs: { type: redshift, cluster: analytics, database: dev, dbUser: admin }
schemas: [{ name: app }]
`;

function config(tables: number, users: number, withGrants: boolean): string {
  const t = Array.from(
    { length: tables },
    (_, i) => `  - { schema: app, name: t${i}, columns: [{ name: id, type: bigint }] }`,
  );
  const u = Array.from({ length: users }, (_, i) => `  - { name: u${i}, type: user }`);
  const g = Array.from(
    { length: users },
    (_, i) => `  - { to: u${i}, privileges: [select], allTablesInSchema: app }`,
  );
  return `${CONN}tables:\n${t.join('\n')}\nroles:\n${u.join('\n')}\n${withGrants ? `grants:\n${g.join('\n')}\n` : ''}`;
}

async function apply(text: string) {
  const loaded = loadConfigText(text, 'f.yaml').loaded!;
  const run = await planConfig(loaded, { open: h.open });
  const providers = new Map<string, WarehouseProvider>(
    [...run.connections].map(([n, c]) => [n, c.provider] as const),
  );
  const before = h.fake.count('BatchExecuteStatement') + h.fake.count('ExecuteStatement');
  const result = await applyPlan(run.plan, providers, {
    allowDestroy: false,
    lockTimeoutMs: 0,
    holder: 'test',
  });
  const submissions = h.fake.count('BatchExecuteStatement') + h.fake.count('ExecuteStatement') - before;
  await run.close();
  return { plan: run.plan, result, submissions };
}

describe('Redshift provider', () => {
  it('applies 1,000 grants in at most 30 Data API submissions', async () => {
    await fresh();
    await apply(config(40, 25, false));
    const { plan, result, submissions } = await apply(config(40, 25, true));
    expect(plan.changes).toHaveLength(1000);
    expect(result.ok).toBe(true);
    // lock (1 batch) + stale re-read (1 batch) + 25 batches of 40 grants + lock release (1)
    expect(submissions).toBe(28);
    expect(submissions).toBeLessThanOrEqual(30);
    const again = await planConfig(loadConfigText(config(40, 25, true), 'f.yaml').loaded!, { open: h.open });
    await again.close();
    expect(again.plan.changes).toEqual([]);
  });

  it('a failing batch rolls back every change in it: the failing one failed, the others not run', async () => {
    await fresh();
    const opened = await h.open('rs', {
      type: 'redshift',
      cluster: 'analytics',
      database: 'dev',
      dbUser: 'admin',
    });
    const p = opened.provider as RedshiftProvider;
    const change = (address: string, sql: string): Change => ({
      address,
      connection: 'rs',
      kind: 'schema',
      action: 'create',
      destructive: false,
      reasons: [],
      fields: [],
      statements: [{ sql }],
      dependsOn: [],
      before: null,
      after: null,
    });
    const outcome = await p.executeMany(
      [
        change('rs.schema:a', 'CREATE SCHEMA "a"'),
        change('rs.grant:x', 'GRANT USAGE ON SCHEMA "a" TO "nobody"'),
        change('rs.schema:b', 'CREATE SCHEMA "b"'),
      ],
      { resolveSecret: () => '' },
    );
    expect(outcome.done).toEqual([false, false, false]);
    expect(outcome.failed?.index).toBe(1);
    const failure = outcome.failed!.error as Error & { sql: string };
    expect(failure.sql).toBe('GRANT USAGE ON SCHEMA "a" TO "nobody"');
    const { rows } = await db.query(
      "SELECT count(*)::int AS n FROM pg_namespace WHERE nspname IN ('a', 'b')",
    );
    expect(rows[0].n).toBe(0);
  });

  it('the lock table keeps a second apply out and names the holder', async () => {
    await fresh();
    const cfg = { type: 'redshift' as const, cluster: 'analytics', database: 'dev', dbUser: 'admin' };
    const a = (await h.open('rs', cfg)).provider;
    const b = (await h.open('rs', cfg)).provider;
    const held = await a.lock('wharf apply (alice@laptop pid 1)', 0);
    await expect(b.lock('wharf apply (bob@ci pid 2)', 0)).rejects.toThrow(LockTimeoutError);
    await expect(b.lock('wharf apply (bob@ci pid 2)', 0)).rejects.toThrow(/alice@laptop pid 1/);
    await held.release();
    const mine = await b.lock('wharf apply (bob@ci pid 2)', 0);
    await mine.release();
  });

  it('learns the user it connects as in the catalog batch, and refuses to make it a group', async () => {
    await fresh();
    const me = (await db.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
    const loaded = loadConfigText(`${CONN}roles:\n  - { name: ${me}, type: group }\n`, 'f.yaml').loaded!;
    const before = h.fake.count('BatchExecuteStatement') + h.fake.count('ExecuteStatement');
    const run = await planConfig(loaded, { open: h.open });
    await run.close();
    // Still one catalog batch: the current user comes with it.
    expect(h.fake.count('BatchExecuteStatement') + h.fake.count('ExecuteStatement') - before).toBe(1);
    expect(run.plan.changes.map((c) => c.address)).toContain(`rs.role:${me}`);
    expect(run.plan.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([
      expect.stringContaining(`${me} is the role wharf connects as (connection rs)`),
    ]);
  });
});
