// Convergence on the Redshift test server: both Redshift examples are planned and applied
// through the real Data API SDK client against the loopback fake, whose statements run on a
// real PostgreSQL behind the Redshift emulator (catalog views and a statement rewriter). The
// control plane (DescribeClusters, DescribeDataSharesForProducer, AuthorizeDataShare) goes
// through the real RedshiftClient to the loopback control-plane server (AWS Query protocol).
// After apply, a second plan must be empty.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planConfig } from '../src/commands/plan.js';
import { loadConfigText } from '../src/config/load.js';
import type { LoadedConfig } from '../src/config/types.js';
import { loadClean, planAndApplyOn, redshiftHarnesses } from './support/redshift-examples.js';
import { NAMESPACE_ARN, type RedshiftHarness } from './support/redshift-harness.js';

const SHARE_ARN =
  'arn:aws:redshift:us-east-1:123456789012:datashare:86b5169f-01dc-4a6f-9fbb-e2e24359e9a8/toplyne_share';

const harnesses = redshiftHarnesses('redshift');
const freshHarness = harnesses.fresh;
const load = loadClean;

async function planAndApply(h: RedshiftHarness, loaded: LoadedConfig) {
  const { plan: first, result } = await planAndApplyOn(h, loaded);
  const second = await planConfig(loaded, { open: h.open });
  await second.close();
  return { first, result, second: second.plan, roundTrips: second.roundTrips };
}

describe('Redshift convergence (emulated Redshift, loopback control plane)', () => {
  it('toplyne-redshift.yaml: apply, then plan is empty; the consumer is granted and authorized', async () => {
    const h = await freshHarness();
    const { first, result, second, roundTrips } = await planAndApply(
      h,
      load('examples/toplyne-redshift.yaml'),
    );
    expect(first.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(first.changes.map((c) => `${c.action} ${c.address}`)).toEqual([
      'create warehouse.schema:toplyne',
      'create warehouse.table:toplyne.accounts',
      'create warehouse.table:toplyne.events',
      'create warehouse.table:toplyne.users',
      'create warehouse.datashare:toplyne_share',
    ]);
    expect(result.results.filter((r) => r.status !== 'done')).toEqual([]);
    expect(second.changes).toEqual([]);
    expect(h.controlPlane.calls('AuthorizeDataShare')).toEqual([
      {
        DataShareArn:
          'arn:aws:redshift:us-east-1:123456789012:datashare:86b5169f-01dc-4a6f-9fbb-e2e24359e9a8/toplyne_share',
        ConsumerIdentifier: '388856629077',
      },
    ]);
    // The lifecycle is in the plan: the consumer is authorized, waiting for Toplyne to associate.
    expect(second.diagnostics.map((d) => d.message)).toContain(
      'warehouse.datashare:toplyne_share: consumer account 388856629077 is authorized (waiting for the consumer to associate it)',
    );
    // Sort key from partition, DISTKEY, encodings, SUPER: all read back as written.
    const events = (await planConfig(load('examples/toplyne-redshift.yaml'), { open: h.open })).plan;
    expect(events.changes).toEqual([]);
    expect(roundTrips.warehouse).toBeLessThan(40);
  });

  it('heap-redshift.yaml: users, groups, grants and default privileges converge', async () => {
    const h = await freshHarness();
    const { first, result, second } = await planAndApply(h, load('examples/heap-redshift.yaml'));
    expect(first.changes.length).toBeGreaterThan(5);
    expect(result.results.filter((r) => r.status !== 'done')).toEqual([]);
    expect(second.changes).toEqual([]);
    const sql = first.changes.flatMap((c) => c.statements.map((s) => s.sql));
    expect(sql).toContain(
      'ALTER DEFAULT PRIVILEGES FOR USER "heap" IN SCHEMA "main_production" GRANT SELECT ON TABLES TO GROUP "analysts"',
    );
    expect(sql).toContain('ALTER GROUP "analysts" ADD USER "bi_reader"');
  });

  it('plans in-place layout changes and converges again', async () => {
    const h = await freshHarness();
    const text = (style: string, sort: string, enc: string, width: number) => `
version: 1
connections:
  rs: { type: redshift, cluster: analytics, database: dev, dbUser: admin }
schemas: [{ name: Mixed_Case }]
tables:
  - schema: Mixed_Case
    name: Events
    columns:
      - { name: User_Id, type: bigint, nullable: false }
      - { name: Time, type: timestamp, nullable: false }
      - { name: Name, type: varchar(${width}), encode: ${enc} }
    distribution: ${style}
    sortKey: ${sort}
`;
    const v1 = loadConfigText(
      text('{ style: key, key: user_id }', '{ columns: [time] }', 'lzo', 64),
      'v1.yaml',
    ).loaded!;
    const a = await planAndApply(h, v1);
    expect(a.second.changes).toEqual([]);
    const v2 = loadConfigText(text('{ style: even }', '{ columns: [time, user_id] }', 'zstd', 128), 'v2.yaml')
      .loaded!;
    const b = await planAndApply(h, v2);
    expect(b.first.changes).toHaveLength(1);
    expect(b.first.changes[0]!.action).toBe('update');
    expect(b.first.changes[0]!.destructive).toBe(false);
    // Re-encoded before widened: ALTER COLUMN ... TYPE refuses some encodings (r_ALTER_TABLE).
    expect(b.first.changes[0]!.statements.map((s) => s.sql)).toEqual([
      'ALTER TABLE "mixed_case"."events" ALTER COLUMN "name" ENCODE ZSTD',
      'ALTER TABLE "mixed_case"."events" ALTER COLUMN "name" TYPE character varying(128)',
      'ALTER TABLE "mixed_case"."events" ALTER DISTSTYLE EVEN',
      'ALTER TABLE "mixed_case"."events" ALTER COMPOUND SORTKEY ("time", "user_id")',
    ]);
    expect(b.result.ok).toBe(true);
    expect(b.second.changes).toEqual([]);
    // Back to KEY: the ALTER form names the column without parentheses
    // (https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE.html), which the emulator requires.
    const v3 = loadConfigText(
      text('{ style: key, key: user_id }', '{ columns: [time, user_id] }', 'zstd', 128),
      'v3.yaml',
    ).loaded!;
    const c = await planAndApply(h, v3);
    expect(c.first.changes.flatMap((ch) => ch.statements.map((s) => s.sql))).toEqual([
      'ALTER TABLE "mixed_case"."events" ALTER DISTSTYLE KEY DISTKEY "user_id"',
    ]);
    expect(c.result.ok).toBe(true);
    expect(c.second.changes).toEqual([]);
  });

  it('flags a consumer granted but never authorized, authorizes it, and reshapes the share in place', async () => {
    const h = await freshHarness();
    const loaded = load('examples/toplyne-redshift.yaml');
    await planAndApply(h, loaded);
    // Someone withdrew the authorization outside wharf: the grant is there, the authorization is not.
    h.authorized.clear();
    const drifted = await planConfig(loaded, { open: h.open });
    await drifted.close();
    expect(
      drifted.plan.diagnostics.filter((d) => d.code === 'datashare-unauthorized').map((d) => d.severity),
    ).toEqual(['warning']);
    const [change] = drifted.plan.changes;
    expect(change?.fields).toEqual([
      { path: 'consumers.account:388856629077.status', before: 'granted', after: 'authorized' },
    ]);
    expect(change?.reasons).toEqual([
      'consumer account 388856629077 was granted usage but never authorized: the consumer cannot see the share until AuthorizeDataShare runs',
    ]);
    expect(change?.statements.map((s) => s.api?.operation)).toEqual(['AuthorizeDataShare']);

    // A narrower share: one table, a namespace consumer added, public access off.
    const text = `
version: 1
connections:
  warehouse: { type: redshift, cluster: analytics, database: dev, secretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:x" }
schemas: [{ name: toplyne, prune: false }]
tables:
  - schema: toplyne
    name: events
    columns:
      - { name: user_id, type: bigint, nullable: false }
      - { name: account_id, type: bigint }
      - { name: event_name, type: varchar(256), nullable: false }
      - { name: timestamp, type: timestamp, nullable: false }
      - { name: updated_at, type: timestamp, nullable: false }
      - { name: event_properties, type: super }
datashares:
  - name: toplyne_share
    tables: [toplyne.events]
    consumers:
      - { account: "388856629077" }
      - { namespace: "a1b2c3d4-0000-4000-8000-000000000001" }
`;
    const narrowed = loadConfigText(text, 'narrow.yaml').loaded!;
    const r = await planAndApply(h, narrowed);
    const share = r.first.changes.find((c) => c.kind === 'datashare')!;
    expect(share.destructive).toBe(true);
    expect(share.statements.map((s) => s.sql)).toEqual([
      'ALTER DATASHARE "toplyne_share" REMOVE TABLE "toplyne"."accounts", "toplyne"."users"',
      'ALTER DATASHARE "toplyne_share" SET PUBLICACCESSIBLE = FALSE',
      'ALTER DATASHARE "toplyne_share" SET INCLUDENEW = FALSE FOR SCHEMA "toplyne"',
      'GRANT USAGE ON DATASHARE "toplyne_share" TO NAMESPACE \'a1b2c3d4-0000-4000-8000-000000000001\'',
      'AuthorizeDataShare DataShareArn=arn:aws:redshift:us-east-1:123456789012:datashare:86b5169f-01dc-4a6f-9fbb-e2e24359e9a8/toplyne_share ConsumerIdentifier=388856629077',
    ]);
    expect(r.result.ok).toBe(true);
    expect(r.second.changes).toEqual([]);
    // SET PUBLICACCESSIBLE is reported not to run in a transaction block
    // (https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_DATASHARE.html): it stays a
    // statement of the share's change in the plan, but is submitted alone with ExecuteStatement,
    // never inside a BatchExecuteStatement (where the emulator refuses it).
    const publicAccess = 'ALTER DATASHARE "toplyne_share" SET PUBLICACCESSIBLE = FALSE';
    expect(share.statements.find((st) => st.sql === publicAccess)?.transactional).toBe(false);
    expect(
      h.fake.calls.filter((c) => c.operation === 'ExecuteStatement' && c.body.Sql === publicAccess),
    ).toHaveLength(1);
    expect(
      h.fake.calls.filter(
        (c) => c.operation === 'BatchExecuteStatement' && c.body.Sqls.includes(publicAccess),
      ),
    ).toEqual([]);
  });

  // The user of ALTER DEFAULT PRIVILEGES … IN SCHEMA must have CREATE on the schema
  // (https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_DEFAULT_PRIVILEGES.html), which the
  // emulator checks: the grant giving it runs first in the same batch, and is revoked last.
  it('default privileges in a schema run after the grant of CREATE they need, and are revoked before it', async () => {
    const h = await freshHarness();
    const text = (withDefaults: boolean) => `
version: 1
connections:
  rs: { type: redshift, cluster: analytics, database: dev, dbUser: admin }
schemas: [{ name: staging }]
roles:
  - { name: loader, type: user }
  - { name: readers, type: group }
grants:
  - { to: loader, privileges: [usage, create], schema: staging }
${withDefaults ? 'defaultPrivileges:\n  - { forRole: loader, schema: staging, privileges: [select, insert], to: readers }\n' : ''}`;
    const a = await planAndApply(h, loadConfigText(text(true), 'a.yaml').loaded!);
    const sql = a.first.changes.flatMap((c) => c.statements.map((s) => s.sql));
    const grantAt = sql.indexOf('GRANT USAGE, CREATE ON SCHEMA "staging" TO "loader"');
    const defaultsAt = sql.indexOf(
      'ALTER DEFAULT PRIVILEGES FOR USER "loader" IN SCHEMA "staging" GRANT SELECT, INSERT ON TABLES TO GROUP "readers"',
    );
    expect(grantAt).toBeGreaterThanOrEqual(0);
    expect(defaultsAt).toBeGreaterThan(grantAt);
    expect(a.result.results.filter((x) => x.status !== 'done')).toEqual([]);
    expect(a.second.changes).toEqual([]);
    // Only the grant stays: the default privileges go first, while CREATE still stands.
    const b = await planAndApply(h, loadConfigText(text(false), 'b.yaml').loaded!);
    expect(b.first.changes.map((c) => `${c.action} ${c.kind}`)).toEqual(['delete default_privileges']);
    expect(b.result.ok).toBe(true);
    expect(b.second.changes).toEqual([]);
  });

  it('RBAC roles: created, granted to users and roles, given privileges; converges', async () => {
    const h = await freshHarness();
    const text = `
version: 1
connections:
  rs: { type: redshift, cluster: analytics, database: dev, dbUser: admin }
schemas: [{ name: mart }]
tables: [{ schema: mart, name: orders, columns: [{ name: id, type: bigint }] }]
roles:
  - { name: mart_reader, type: role }
  - { name: mart_analyst, type: role, memberOf: [mart_reader] }
  - { name: vendor_group, type: group }
  - { name: vendor, type: user, memberOf: [mart_analyst, vendor_group] }
grants:
  - { to: mart_reader, privileges: [usage], schema: mart }
  - { to: [mart_reader, vendor_group], privileges: [select], allTablesInSchema: mart }
  # Default privileges in a schema need their user to hold CREATE there.
  - { to: vendor, privileges: [usage, create], schema: mart }
defaultPrivileges:
  - { forRole: vendor, schema: mart, privileges: [select], to: mart_reader }
`;
    const r = await planAndApply(h, loadConfigText(text, 'rbac.yaml').loaded!);
    expect(r.result.results.filter((x) => x.status !== 'done')).toEqual([]);
    const sql = r.first.changes.flatMap((c) => c.statements.map((st) => st.sql));
    expect(sql).toContain('GRANT ROLE "mart_reader" TO ROLE "mart_analyst"');
    expect(sql).toContain('GRANT ROLE "mart_analyst" TO "vendor"');
    expect(sql).toContain('ALTER GROUP "vendor_group" ADD USER "vendor"');
    expect(sql).toContain('GRANT SELECT ON TABLE "mart"."orders" TO ROLE "mart_reader"');
    expect(r.second.changes).toEqual([]);
  });

  it('checks datashare prerequisites during plan: RA3 and encryption', async () => {
    const h = await freshHarness({ nodeType: 'dc2.large', encrypted: false });
    const run = await planConfig(load('examples/toplyne-redshift.yaml'), { open: h.open });
    await run.close();
    expect(
      run.plan.diagnostics.filter((d) => d.code === 'datashare-prerequisite').map((d) => d.message),
    ).toEqual([
      'connection warehouse: datashares need an RA3 cluster or serverless; cluster analytics runs dc2.large',
      'connection warehouse: sharing with another account needs an encrypted cluster; cluster analytics is not encrypted',
    ]);
  });

  it('AuthorizeDataShare fails mid-apply: the SQL is committed, the authorization is not, and the re-plan holds only the authorization', async () => {
    const h = await freshHarness();
    // A transient control-plane fault after the share's SQL batch committed. The Query
    // protocol's throttling answer: https://docs.aws.amazon.com/redshift/latest/APIReference/CommonErrors.html
    h.controlPlane.failNext('AuthorizeDataShare', {
      status: 400,
      code: 'Throttling',
      message: 'Rate exceeded',
    });
    const loaded = load('examples/toplyne-redshift.yaml');
    const { first, result, second } = await planAndApply(h, loaded);
    const planned = first.changes.find((c) => c.kind === 'datashare')!;
    const sqlCount = planned.statements.filter((st) => !st.api).length;
    expect(sqlCount).toBeGreaterThan(0);
    expect(result.ok).toBe(false);
    expect(result.results.map((r) => `${r.status} ${r.address}`)).toEqual([
      'done warehouse.schema:toplyne',
      'done warehouse.table:toplyne.accounts',
      'done warehouse.table:toplyne.events',
      'done warehouse.table:toplyne.users',
      'failed warehouse.datashare:toplyne_share',
    ]);
    expect(result.results[4]!.error).toEqual({
      message: 'Rate exceeded',
      sql: `AuthorizeDataShare DataShareArn=${SHARE_ARN} ConsumerIdentifier=388856629077`,
      detail: `partly applied: ${sqlCount} SQL statements are committed; the authorization of 388856629077 (AuthorizeDataShare) did not happen`,
    });
    // On the warehouse the share exists and the consumer holds usage; the control plane
    // authorized nobody.
    expect(h.emulator.grants.get('toplyne_share')).toEqual(new Set(['388856629077']));
    expect(h.authorized.get('toplyne_share')).toBeUndefined();
    expect(h.controlPlane.calls('AuthorizeDataShare')).toHaveLength(1);
    // The re-plan: only the authorization remains.
    expect(second.changes.map((c) => `${c.action} ${c.address}`)).toEqual([
      'update warehouse.datashare:toplyne_share',
    ]);
    expect(second.changes[0]!.fields).toEqual([
      { path: 'consumers.account:388856629077.status', before: 'granted', after: 'authorized' },
    ]);
    expect(second.changes[0]!.statements.map((st) => st.sql)).toEqual([
      `AuthorizeDataShare DataShareArn=${SHARE_ARN} ConsumerIdentifier=388856629077`,
    ]);
    // Applying it converges, with one more AuthorizeDataShare and no SQL.
    const again = await planAndApply(h, loaded);
    expect(again.result.ok).toBe(true);
    expect(again.second.changes).toEqual([]);
    expect(h.controlPlane.calls('AuthorizeDataShare')).toHaveLength(2);
    expect(h.authorized.get('toplyne_share')).toEqual(new Set(['388856629077']));
  });

  it('wharf apply killed between the SQL and AuthorizeDataShare (a kill point): the SQL is whole, the re-plan holds only the authorization', async () => {
    const h = await freshHarness();
    // The real executable, its Data API on the fake and its control plane on the loopback
    // server (the SDK's AWS_ENDPOINT_URL_REDSHIFT), killed at WHARF_TEST_KILL_AT.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-rskill-'));
    try {
      const file = path.join(dir, 'toplyne.yaml');
      fs.writeFileSync(
        file,
        fs
          .readFileSync('examples/toplyne-redshift.yaml', 'utf8')
          .replace(
            / {4}cluster: analytics\n/,
            `    cluster: analytics\n    endpoint: "${h.fake.endpoint}"\n`,
          ),
      );
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        NO_COLOR: '1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_REDSHIFT: h.controlPlane.endpoint,
        WHARF_TEST_KILL_AT: 'between-sql-and-control-plane',
      };
      const bin = path.join(import.meta.dirname, '..', 'bin', 'wharf.js');
      const signal = await new Promise<NodeJS.Signals | null>((resolve, reject) => {
        const child = spawn(process.execPath, [bin, 'apply', '-f', file, '--auto-approve'], {
          stdio: 'ignore',
          env,
        });
        child.on('error', reject);
        child.on('exit', (_code, sig) => resolve(sig));
      });
      expect(signal).toBe('SIGKILL');
      await h.fake.settled();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // The share's SQL committed whole; the control plane was never asked to authorize.
    expect(h.controlPlane.calls('DescribeClusters').length).toBeGreaterThan(0);
    expect(h.controlPlane.calls('AuthorizeDataShare')).toEqual([]);
    expect(h.emulator.grants.get('toplyne_share')).toEqual(new Set(['388856629077']));
    // The killed apply's lease is still there, naming it, until it expires.
    const db = h.db;
    const lock = await db.query<{ holder: string }>('SELECT holder FROM wharf_meta.apply_lock');
    expect(lock.rows).toEqual([{ holder: expect.stringMatching(/^wharf apply/) }]);
    const loaded = load('examples/toplyne-redshift.yaml');
    const replan = await planConfig(loaded, { open: h.open });
    await replan.close();
    expect(replan.plan.changes.map((c) => `${c.action} ${c.address}`)).toEqual([
      'update warehouse.datashare:toplyne_share',
    ]);
    expect(replan.plan.changes[0]!.statements.map((st) => st.sql)).toEqual([
      `AuthorizeDataShare DataShareArn=${SHARE_ARN} ConsumerIdentifier=388856629077`,
    ]);
    // Once the lease has expired, the next apply takes the lock over and converges.
    await db.query("UPDATE wharf_meta.apply_lock SET expires_at = localtimestamp - interval '1 minute'");
    const { result, second } = await planAndApply(h, loaded);
    expect(result.ok).toBe(true);
    expect(second.changes).toEqual([]);
    expect(h.controlPlane.calls('AuthorizeDataShare')).toEqual([
      { DataShareArn: SHARE_ARN, ConsumerIdentifier: '388856629077' },
    ]);
  });

  it('serverless workgroup: no DescribeClusters; the namespace ARN comes from SQL; shares are authorized and converge', async () => {
    const h = await freshHarness();
    const text = fs
      .readFileSync('examples/toplyne-redshift.yaml', 'utf8')
      .replace(/ {4}cluster: analytics\n/, '    workgroup: analytics-wg\n');
    expect(text).toContain('workgroup: analytics-wg');
    const loaded = loadConfigText(text, 'serverless.yaml').loaded!;
    const { first, result, second } = await planAndApply(h, loaded);
    expect(first.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(result.results.filter((r) => r.status !== 'done')).toEqual([]);
    expect(second.changes).toEqual([]);
    // Serverless has no cluster to describe (wharf does not call the redshift-serverless API):
    // the producer namespace ARN is built from current_namespace and the account SQL reports.
    expect(h.controlPlane.calls('DescribeClusters')).toEqual([]);
    expect(h.controlPlane.calls('AuthorizeDataShare')).toEqual([
      { DataShareArn: SHARE_ARN, ConsumerIdentifier: '388856629077' },
    ]);
    expect(h.controlPlane.calls('DescribeDataSharesForProducer').at(-1)).toEqual({
      ProducerArn: NAMESPACE_ARN,
      MaxRecords: '100',
    });
    expect(second.diagnostics.map((d) => d.message)).toContain(
      'warehouse.datashare:toplyne_share: consumer account 388856629077 is authorized (waiting for the consumer to associate it)',
    );
  });

  it('a consumer that associated the share reads back as active; shares page through Marker', async () => {
    const h = await freshHarness({ controlPageSize: 1 });
    const loaded = load('examples/toplyne-redshift.yaml');
    await planAndApply(h, loaded);
    h.controlPlane.associated.set('toplyne_share', new Set(['388856629077']));
    // A second share with a consumer, so DescribeDataSharesForProducer answers in two pages.
    const extra = `${fs.readFileSync('examples/toplyne-redshift.yaml', 'utf8')}  - name: other_share
    schemas: [{ name: toplyne }]
    tables: [toplyne.events]
    consumers: [{ account: "444455556666" }]
`;
    const two = loadConfigText(extra, 'two.yaml');
    expect(two.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const r = await planAndApply(h, two.loaded!);
    expect(r.result.ok).toBe(true);
    expect(r.second.changes).toEqual([]);
    const pages = h.controlPlane.calls('DescribeDataSharesForProducer').slice(-2);
    expect(pages[0]).toEqual({ ProducerArn: NAMESPACE_ARN, MaxRecords: '100' });
    expect(pages[1]).toEqual({ ProducerArn: NAMESPACE_ARN, MaxRecords: '100', Marker: expect.any(String) });
    expect(r.second.diagnostics.map((d) => d.message).join('\n')).not.toMatch(
      /388856629077 is authorized \(waiting/,
    );
  });
});
