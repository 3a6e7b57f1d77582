// Opt-in live suite against a real Amazon Redshift: WHARF_ACC=1 with AWS credentials from the
// usual chain and
//   WHARF_ACC_REDSHIFT_CLUSTER (or WHARF_ACC_REDSHIFT_WORKGROUP), WHARF_ACC_REDSHIFT_DATABASE,
//   WHARF_ACC_REDSHIFT_SECRET_ARN (or WHARF_ACC_REDSHIFT_DB_USER, provisioned only).
// It creates a uniquely named schema with a laid-out table, a group and grants, applies, checks
// that a second plan is empty, changes the layout in place, and drops what it created.
// Datashares are not exercised: authorizing one needs a second account. The normal test run
// skips this file and says so.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../src/apply/apply.js';
import { planConfig } from '../src/commands/plan.js';
import { loadConfigText } from '../src/config/load.js';
import type { WarehouseProvider } from '../src/providers/provider.js';

const ENABLED = process.env.WHARF_ACC === '1';
if (!ENABLED)
  console.info(
    'redshift-live: skipped (set WHARF_ACC=1 and WHARF_ACC_REDSHIFT_* to run it against real AWS)',
  );

const env = process.env;
const suffix = randomBytes(4).toString('hex');
const schema = `wharf_acc_${suffix}`;
const group = `wharf_acc_readers_${suffix}`;

function config(sortKey: string): string {
  const where = env.WHARF_ACC_REDSHIFT_CLUSTER
    ? `cluster: ${env.WHARF_ACC_REDSHIFT_CLUSTER}`
    : `workgroup: ${env.WHARF_ACC_REDSHIFT_WORKGROUP}`;
  const auth = env.WHARF_ACC_REDSHIFT_SECRET_ARN
    ? `secretArn: "${env.WHARF_ACC_REDSHIFT_SECRET_ARN}"`
    : `dbUser: ${env.WHARF_ACC_REDSHIFT_DB_USER}`;
  return `
version: 1
connections:
  rs: { type: redshift, ${where}, database: ${env.WHARF_ACC_REDSHIFT_DATABASE ?? 'dev'}, ${auth} }
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
roles: [{ name: ${group}, type: group }]
grants:
  - { to: ${group}, privileges: [usage], schema: ${schema} }
  - { to: ${group}, privileges: [select], allTablesInSchema: ${schema} }
`;
}

async function planApply(text: string) {
  const loaded = loadConfigText(text, 'live.yaml').loaded!;
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

describe.skipIf(!ENABLED)('Redshift live (WHARF_ACC=1)', () => {
  afterAll(async () => {
    const loaded = loadConfigText(config('{ columns: [time] }'), 'live.yaml').loaded!;
    const run = await planConfig(loaded);
    const p = run.connections.get('rs')!.provider as unknown as {
      transport: { batch(s: string[]): Promise<void> };
    };
    await p.transport.batch([`DROP SCHEMA ${schema} CASCADE`, `DROP GROUP ${group}`]).catch(() => {});
    await run.close();
  });

  it('applies a laid-out table, a group and grants, then plans empty', async () => {
    const { result, again } = await planApply(config('{ columns: [time] }'));
    expect(result.ok).toBe(true);
    expect(again.changes).toEqual([]);
  });

  it('changes the sort key in place and converges', async () => {
    const { plan, result, again } = await planApply(config('{ columns: [time, user_id] }'));
    expect(plan.changes.map((c) => c.action)).toEqual(['update']);
    expect(result.ok).toBe(true);
    expect(again.changes).toEqual([]);
  });
});
