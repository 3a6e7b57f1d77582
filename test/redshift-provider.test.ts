// The Redshift provider's execution and lock on the emulated Redshift: a plan's statements
// are packed into Data API batches of at most 40 (apply of 1,000 grants in at most 30
// submissions), a failing batch rolls back every change in it (failed / not run), and the
// lock-table lock keeps a second apply out, naming the holder; an expired lease is taken over,
// a running apply renews its lease, a waiting apply gets the lock once it is released, and a
// release that fails is reported.

import { RedshiftClient } from '@aws-sdk/client-redshift';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../src/apply/apply.js';
import { planConfig } from '../src/commands/plan.js';
import { loadConfigText } from '../src/config/load.js';
import type { Change } from '../src/plan/plan.js';
import { LockTimeoutError, type WarehouseProvider } from '../src/providers/provider.js';
import { RedshiftControlPlane } from '../src/providers/redshift/redshift-control-plane.js';
import {
  LockReleaseError,
  RedshiftProvider,
  type RedshiftProviderOptions,
} from '../src/providers/redshift/redshift-provider.js';
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

const TARGET = { clusterIdentifier: 'analytics', database: 'dev', dbUser: 'admin' };

/** A provider of its own on the harness's Data API, with lock options the harness does not set. */
async function lockingProvider(options: RedshiftProviderOptions = {}): Promise<RedshiftProvider> {
  const conn = await h.open('rs', {
    type: 'redshift',
    cluster: 'analytics',
    database: 'dev',
    dbUser: 'admin',
  });
  const rs = new RedshiftClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 't', secretAccessKey: 't' },
  });
  return new RedshiftProvider(conn.dataApi!, new RedshiftControlPlane(rs), TARGET, {
    region: 'us-east-1',
    sleep: async () => {},
    ...options,
  });
}

const lockRows = async () =>
  (
    await db.query<{ holder: string; live: boolean }>(
      'SELECT holder, expires_at > localtimestamp AS live FROM wharf_meta.apply_lock ORDER BY holder',
    )
  ).rows;

describe('Redshift apply lock (a lease row in wharf_meta.apply_lock)', () => {
  it('takes over a lease that expired (its apply crashed); the crashed holder finds it lost', async () => {
    await fresh();
    const crashed = await (await lockingProvider()).lock('wharf apply (crashed pid 1)', 0);
    const b = await lockingProvider();
    // While the lease runs, the lock is held.
    await expect(b.lock('wharf apply (bob pid 2)', 0)).rejects.toThrow(/crashed pid 1/);
    await db.query("UPDATE wharf_meta.apply_lock SET expires_at = localtimestamp - interval '1 minute'");
    const mine = await b.lock('wharf apply (bob pid 2)', 0);
    expect(await lockRows()).toEqual([
      { holder: expect.stringMatching(/^wharf apply \(bob pid 2\) \[/), live: true },
    ]);
    // The crashed apply, were it still alive, is told that it lost the lock.
    await expect(crashed.release()).rejects.toThrow(LockReleaseError);
    await expect(crashed.release()).rejects.toThrow(/no longer held/);
    expect(await lockRows()).toHaveLength(1);
    await mine.release();
    expect(await lockRows()).toEqual([]);
  });

  it('renews its lease every third of it while the apply runs, and stops at release', async () => {
    await fresh();
    const timers: { ms: number; fn: () => Promise<void>; stopped: boolean }[] = [];
    const a = await lockingProvider({
      every: (ms, fn) => {
        const timer = { ms, fn, stopped: false };
        timers.push(timer);
        return () => {
          timer.stopped = true;
        };
      },
    });
    const held = await a.lock('wharf apply (long pid 3)', 0);
    expect(timers.map((t) => t.ms)).toEqual([10 * 60_000]);
    // The lease is about to run out; the renewal pushes it a whole lease ahead.
    await db.query("UPDATE wharf_meta.apply_lock SET expires_at = localtimestamp - interval '1 second'");
    await timers[0]!.fn();
    const { rows } = await db.query<{ minutes: number }>(
      'SELECT round(extract(epoch FROM expires_at - localtimestamp) / 60)::int AS minutes FROM wharf_meta.apply_lock',
    );
    expect(rows).toEqual([{ minutes: 30 }]);
    // So it is not taken over.
    await expect((await lockingProvider()).lock('wharf apply (other pid 4)', 0)).rejects.toThrow(
      /long pid 3/,
    );
    await held.release();
    expect(timers[0]!.stopped).toBe(true);
  });

  it('waits for a held lease, backing off, and takes it once it is released', async () => {
    await fresh();
    const held = await (await lockingProvider()).lock('wharf apply (alice pid 5)', 0);
    const sleeps: number[] = [];
    const b = await lockingProvider({
      sleep: async (ms) => {
        sleeps.push(ms);
        if (sleeps.length === 2) await held.release();
      },
    });
    const mine = await b.lock('wharf apply (bob pid 6)', 60_000);
    expect(sleeps).toEqual([500, 1000]);
    expect(await lockRows()).toEqual([
      { holder: expect.stringMatching(/^wharf apply \(bob pid 6\)/), live: true },
    ]);
    await mine.release();
  });

  it('two first applies at the same moment: one holds the lock, the other is told who does', async () => {
    await fresh();
    const [a, b] = [await lockingProvider(), await lockingProvider()];
    const outcomes = await Promise.allSettled([
      a.lock('wharf apply (first pid 9)', 0),
      b.lock('wharf apply (second pid 10)', 0),
    ]);
    const held = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes
      .filter((o) => o.status === 'rejected')
      .map((o) => (o as PromiseRejectedResult).reason);
    expect(held).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toBeInstanceOf(LockTimeoutError);
    await (held[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
  });

  it('a release that fails is reported, and the lease stays until it expires', async () => {
    await fresh();
    const held = await (await lockingProvider()).lock('wharf apply (carol pid 7)', 0);
    // The service refuses every attempt of the release (the first and the transport's 8 retries).
    h.fake.throttleNext(9, 'ThrottlingException');
    const e = await held.release().then(
      () => null,
      (err: Error) => err,
    );
    expect(e).toBeInstanceOf(LockReleaseError);
    expect(e?.message).toMatch(/could not be released: .*ThrottlingException/);
    expect(e?.message).toMatch(/at most 30 minutes after its last renewal/);
    expect(await lockRows()).toEqual([{ holder: expect.stringMatching(/carol pid 7/), live: true }]);
  });

  it('wharf apply reports a lock it could not release instead of ending quietly', async () => {
    await fresh();
    const loaded = loadConfigText(`${CONN}`, 'f.yaml').loaded!;
    const run = await planConfig(loaded, { open: h.open });
    const providers = new Map<string, WarehouseProvider>(
      [...run.connections].map(([n, c]) => [n, c.provider] as const),
    );
    const outcome = applyPlan(run.plan, providers, {
      allowDestroy: false,
      lockTimeoutMs: 0,
      holder: 'wharf apply (dave pid 8)',
      hooks: {
        // Once the last change ends, the next Data API call is the release: it is refused.
        onChangeEnd: (_r, i, total) => {
          if (i === total - 1) h.fake.throttleNext(9, 'ThrottlingException');
        },
      },
    });
    await expect(outcome).rejects.toThrow(LockReleaseError);
    await run.close();
    expect(
      (await db.query("SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'app'")).rows,
    ).toEqual([{ n: 1 }]);
  });
});
