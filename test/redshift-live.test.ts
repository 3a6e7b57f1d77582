// Opt-in live suite against a real Amazon Redshift: WHARF_ACC=1 with AWS credentials from the
// usual chain and
//   WHARF_ACC_REDSHIFT_CLUSTER (or WHARF_ACC_REDSHIFT_WORKGROUP), WHARF_ACC_REDSHIFT_DATABASE,
//   WHARF_ACC_REDSHIFT_SECRET_ARN (or WHARF_ACC_REDSHIFT_DB_USER, provisioned only),
//   WHARF_ACC_REDSHIFT_CONSUMER_ACCOUNT (another account's id: the share is granted to it and
//   authorized, and waits for that account to associate it) or
//   WHARF_ACC_REDSHIFT_CONSUMER_NAMESPACE (a namespace of this account: granted only).
// The cluster must be RA3 (or serverless) and, for an account consumer, encrypted; the
// identity needs redshift-data:*, redshift:DescribeClusters, redshift:DescribeDataSharesForProducer,
// redshift:AuthorizeDataShare and redshift:DeauthorizeDataShare, and a superuser connection
// (INCLUDENEW and the SVV_* views need it).
// It creates a uniquely named schema with a laid-out table, a group, a user, grants, default
// privileges and a datashare with the consumer; applies, checks that a second plan is empty;
// changes the layout in place; syncs rows from a local PostgreSQL into Redshift (merge by key)
// twice; and drops what it created. The normal test run skips this file and says so.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../src/apply/apply.js';
import { planConfig } from '../src/commands/plan.js';
import { loadConfigText } from '../src/config/load.js';
import type { LoadedConfig } from '../src/config/types.js';
import { openConnection } from '../src/providers/connect.js';
import type { WarehouseProvider } from '../src/providers/provider.js';
import { runSyncs } from '../src/sync/run.js';
import { startTestServer, type TestServer } from './support/pg.js';

const ENABLED = process.env.WHARF_ACC === '1';
if (!ENABLED)
  console.info(
    'redshift-live: skipped (set WHARF_ACC=1 and WHARF_ACC_REDSHIFT_* to run it against real AWS)',
  );

const env = process.env;
const suffix = randomBytes(4).toString('hex');
const schema = `wharf_acc_${suffix}`;
const group = `wharf_acc_readers_${suffix}`;
const owner = `wharf_acc_owner_${suffix}`;
const share = `wharf_acc_share_${suffix}`;
const consumerAccount = env.WHARF_ACC_REDSHIFT_CONSUMER_ACCOUNT;
const consumerNamespace = env.WHARF_ACC_REDSHIFT_CONSUMER_NAMESPACE;

let source: TestServer | undefined;
let sourceDb = '';
let src: pg.Client | undefined;

function config(sortKey: string): string {
  const where = env.WHARF_ACC_REDSHIFT_CLUSTER
    ? `cluster: ${env.WHARF_ACC_REDSHIFT_CLUSTER}`
    : `workgroup: ${env.WHARF_ACC_REDSHIFT_WORKGROUP}`;
  const auth = env.WHARF_ACC_REDSHIFT_SECRET_ARN
    ? `secretArn: "${env.WHARF_ACC_REDSHIFT_SECRET_ARN}"`
    : `dbUser: ${env.WHARF_ACC_REDSHIFT_DB_USER}`;
  const consumer = consumerAccount
    ? `{ account: "${consumerAccount}" }`
    : `{ namespace: "${consumerNamespace}" }`;
  return `
version: 1
connections:
  rs: { type: redshift, ${where}, database: ${env.WHARF_ACC_REDSHIFT_DATABASE ?? 'dev'}, ${auth} }
${source ? `  app: { type: postgres, url: "${source.urlFor(sourceDb)}" }` : ''}
defaultConnection: rs
schemas: [{ name: ${schema} }]
tables:
  - schema: ${schema}
    name: events
    columns:
      - { name: user_id, type: bigint, nullable: false, encode: az64 }
      - { name: time, type: timestamp, nullable: false }
      - { name: props, type: super }
    distribution: { style: key, key: user_id }
    sortKey: ${sortKey}
  - schema: ${schema}
    name: orders
    columns:
      - { name: id, type: bigint, nullable: false }
      - { name: amount, type: "numeric(12,2)" }
      - { name: updated_at, type: timestamp, nullable: false }
    primaryKey: [id]
roles:
  - { name: ${group}, type: group }
  - { name: ${owner}, type: user }
grants:
  - { to: ${group}, privileges: [usage], schema: ${schema} }
  - { to: ${group}, privileges: [select], allTablesInSchema: ${schema} }
  - { to: ${owner}, privileges: [usage, create], schema: ${schema} }
defaultPrivileges:
  - { forRole: ${owner}, schema: ${schema}, privileges: [select], to: ${group} }
datashares:
  - name: ${share}
    schemas: [{ name: ${schema} }]
    tables: [${schema}.events]
    consumers: [${consumer}]
${
  source
    ? `syncs:
  - name: orders
    from: { connection: app, table: raw.orders }
    to: { table: ${schema}.orders }
    mode: merge
    primaryKey: [id]
    cursor: { column: updated_at, lookback: 1s }
`
    : ''
}`;
}

const load = (text: string): LoadedConfig => {
  const r = loadConfigText(text, 'live.yaml');
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return r.loaded!;
};

async function planApply(text: string) {
  const loaded = load(text);
  const run = await planConfig(loaded);
  const providers = new Map<string, WarehouseProvider>(
    [...run.connections].map(([n, c]) => [n, c.provider] as const),
  );
  const result = await applyPlan(run.plan, providers, {
    allowDestroy: false,
    lockTimeoutMs: 60_000,
    holder: 'wharf live test',
  });
  await run.close();
  const again = await planConfig(loaded);
  await again.close();
  return { plan: run.plan, result, again: again.plan };
}

/** Runs statements one at a time on the live connection (each its own transaction). */
async function onRedshift<T>(
  use: (query: (sql: string) => Promise<Record<string, unknown>[]>) => Promise<T>,
) {
  const loaded = load(config('{ columns: [time] }'));
  const c = await openConnection('rs', loaded.connections.rs!, loaded.baseDir);
  try {
    return await use(async (sql) => (await c.dataApi!.query(sql)).rows as Record<string, unknown>[]);
  } finally {
    await c.close();
  }
}

describe.skipIf(!ENABLED)('Redshift live (WHARF_ACC=1)', () => {
  beforeAll(async () => {
    if (!consumerAccount && !consumerNamespace)
      throw new Error(
        'set WHARF_ACC_REDSHIFT_CONSUMER_ACCOUNT or WHARF_ACC_REDSHIFT_CONSUMER_NAMESPACE: the live suite shares a datashare with it',
      );
    source = await startTestServer();
    sourceDb = await source.createDatabase('live_src');
    src = await source.client(sourceDb);
    await src.query(
      'CREATE SCHEMA raw; CREATE TABLE raw.orders (id bigint PRIMARY KEY, amount numeric(12,2), updated_at timestamp NOT NULL)',
    );
    await src.query(
      `INSERT INTO raw.orders SELECT g, g * 1.25, TIMESTAMP '2026-01-01' + g * INTERVAL '1 minute' FROM generate_series(1, 50) g`,
    );
  }, 120_000);

  afterAll(async () => {
    await onRedshift(async (q) => {
      for (const sql of [
        `DROP DATASHARE "${share}"`,
        `ALTER DEFAULT PRIVILEGES FOR USER "${owner}" IN SCHEMA "${schema}" REVOKE SELECT ON TABLES FROM GROUP "${group}"`,
        `DROP SCHEMA "${schema}" CASCADE`,
        `DROP USER "${owner}"`,
        `DROP GROUP "${group}"`,
        `DELETE FROM wharf_state.sync_state WHERE target = '"${schema}"."orders"'`,
      ])
        await q(sql).catch(() => {});
    }).catch(() => {});
    await src?.end();
    await source?.stop();
  }, 300_000);

  it('applies tables, a group, a user, grants, default privileges and a datashare, then plans empty', async () => {
    const { plan, result, again } = await planApply(config('{ columns: [time] }'));
    expect(plan.diagnostics.filter((d) => d.code === 'datashare-prerequisite')).toEqual([]);
    expect(result.results.filter((r) => r.status !== 'done')).toEqual([]);
    expect(again.changes).toEqual([]);
    const sql = plan.changes.flatMap((c) => c.statements.map((s) => s.sql));
    expect(sql).toContain(
      `ALTER DEFAULT PRIVILEGES FOR USER "${owner}" IN SCHEMA "${schema}" GRANT SELECT ON TABLES TO GROUP "${group}"`,
    );
    if (consumerAccount) {
      expect(sql.some((s) => s.startsWith('AuthorizeDataShare '))).toBe(true);
      expect(again.diagnostics.map((d) => d.message)).toContain(
        `rs.datashare:${share}: consumer account ${consumerAccount} is authorized (waiting for the consumer to associate it)`,
      );
    }
    // What Redshift itself reports.
    const shared = await onRedshift((q) =>
      q(`SELECT object_name FROM svv_datashare_objects WHERE share_name = '${share}' ORDER BY 1`),
    );
    expect(shared.map((r) => r.object_name)).toEqual([schema, `${schema}.events`]);
    const defaults = await onRedshift((q) =>
      q(
        `SELECT privilege_type, grantee_name FROM svv_default_privileges WHERE schema_name = '${schema}' AND owner_name = '${owner}'`,
      ),
    );
    expect(defaults).toEqual([{ privilege_type: 'SELECT', grantee_name: group }]);
  });

  it('changes the sort key in place and converges', async () => {
    const { plan, result, again } = await planApply(config('{ columns: [time, user_id] }'));
    expect(plan.changes.map((c) => `${c.action} ${c.address}`)).toEqual([`update rs.table:${schema}.events`]);
    expect(result.ok).toBe(true);
    expect(again.changes).toEqual([]);
  });

  it('syncs rows from PostgreSQL into Redshift by key, then only what changed', async () => {
    const loaded = load(config('{ columns: [time, user_id] }'));
    const first = await runSyncs(loaded, { names: ['orders'] });
    expect(first.syncs.map((s) => [s.name, s.status, s.error])).toEqual([['orders', 'ok', undefined]]);
    expect(first.syncs[0]!.rows.inserted).toBe(50);
    await src!.query(
      `UPDATE raw.orders SET amount = amount + 100, updated_at = TIMESTAMP '2026-02-01' WHERE id <= 5`,
    );
    const second = await runSyncs(loaded, { names: ['orders'] });
    // The five changed rows, and at most the rows the lookback reads again.
    expect(second.syncs[0]!.rows.inserted).toBe(0);
    expect(second.syncs[0]!.rows.updated).toBeGreaterThanOrEqual(5);
    const [live] = await onRedshift((q) =>
      q(`SELECT COUNT(*) AS n, SUM(amount)::varchar AS total FROM "${schema}"."orders"`),
    );
    const [want] = (await src!.query('SELECT COUNT(*)::int AS n, SUM(amount)::text AS total FROM raw.orders'))
      .rows;
    expect({ n: Number(live!.n), total: String(live!.total) }).toEqual({ n: want.n, total: want.total });
  });
});
