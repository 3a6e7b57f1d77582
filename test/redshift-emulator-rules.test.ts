// The Redshift emulator enforces Redshift's rules (test/support/redshift-emulator.ts, "Redshift's
// rules, enforced"), and wharf's plans hold against them end to end: planned and applied
// through the Data API fake, re-planned to nothing. References, per rule:
// - types: https://docs.aws.amazon.com/redshift/latest/dg/c_Supported_data_types.html
// - ALTER TABLE limits: https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE.html
// - datashares: https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_DATASHARE.html
// - superuser-only views: https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_TABLE_INFO.html
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../src/apply/apply.js';
import { planConfig } from '../src/commands/plan.js';
import { loadConfigFile } from '../src/config/load.js';
import type { LoadedConfig } from '../src/config/types.js';
import type { WarehouseProvider } from '../src/providers/provider.js';
import type { DataApiTransport } from '../src/providers/redshift/data-api-transport.js';
import { startTestServer, type TestServer } from './support/pg.js';
import { emulateSuperuser, simulateAutomaticTableOptimization } from './support/redshift-emulator.js';
import { type RedshiftHarness, startRedshiftHarness } from './support/redshift-harness.js';

let server: TestServer;
const clients: pg.Client[] = [];
let harness: RedshiftHarness | undefined;
const dir = mkdtempSync(join(tmpdir(), 'wharf-rs-rules-'));

beforeAll(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});
afterAll(async () => {
  for (const c of clients) await c.end();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function fresh(): Promise<{ h: RedshiftHarness; db: pg.Client }> {
  const db = await server.client(await server.createDatabase('redshift'));
  clients.push(db);
  harness = await startRedshiftHarness(db);
  return { h: harness, db };
}

/** Written to a file, so diagnostics found from the live state get a position in it. */
function load(name: string, text: string): LoadedConfig {
  const file = join(dir, name);
  writeFileSync(file, text);
  const r = loadConfigFile(file);
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return r.loaded!;
}

async function plan(h: RedshiftHarness, loaded: LoadedConfig) {
  const run = await planConfig(loaded, { open: h.open });
  await run.close();
  return run.plan;
}

async function apply(h: RedshiftHarness, loaded: LoadedConfig) {
  const run = await planConfig(loaded, { open: h.open });
  const providers = new Map<string, WarehouseProvider>(
    [...run.connections].map(([n, c]) => [n, c.provider] as const),
  );
  const result = await applyPlan(run.plan, providers, {
    allowDestroy: true,
    lockTimeoutMs: 0,
    holder: 'wharf test',
    env: {},
  });
  await run.close();
  return { plan: run.plan, result };
}

/** A Data API session on the emulator, to send statements wharf would not. */
async function session(h: RedshiftHarness): Promise<DataApiTransport> {
  const c = await h.open('rs', { type: 'redshift', cluster: 'analytics', database: 'dev', dbUser: 'admin' });
  return c.dataApi as DataApiTransport;
}

const toplyne = readFileSync('examples/toplyne-redshift.yaml', 'utf8');

/** One table s.t (a bigint, b varchar(16)) with the layout lines given. */
const text = (layout: string) => `version: 1
connections:
  rs: { type: redshift, cluster: analytics, database: dev, dbUser: admin }
schemas: [{ name: s }]
tables:
  - schema: s
    name: t
    columns:
      - { name: a, type: bigint }
      - { name: b, type: varchar(16) }
${layout}
`;

describe('types read back as Redshift reports them', () => {
  it('TEXT, VARCHAR, NUMERIC, DECIMAL and CHAR without sizes converge (wharf fills in the same defaults)', async () => {
    const { h, db } = await fresh();
    const loaded = load(
      'types.yaml',
      `version: 1
connections:
  rs: { type: redshift, cluster: analytics, database: dev, dbUser: admin }
schemas: [{ name: t }]
tables:
  - schema: t
    name: kinds
    columns:
      - { name: a, type: text }
      - { name: b, type: varchar }
      - { name: c, type: numeric }
      - { name: d, type: decimal }
      - { name: e, type: char }
`,
    );
    const first = await apply(h, loaded);
    expect(first.result.ok).toBe(true);
    const stored = await db.query(
      "SELECT column_name, data_type FROM rsemu.svv_redshift_columns WHERE schema_name = 't' ORDER BY ordinal_position",
    );
    expect(stored.rows.map((r) => `${r.column_name} ${r.data_type}`)).toEqual([
      'a character varying(256)',
      'b character varying(256)',
      'c numeric(18,0)',
      'd numeric(18,0)',
      'e character(1)',
    ]);
    expect((await plan(h, loaded)).changes).toEqual([]);
  });
});

describe('ALTER TABLE limits', () => {
  it('the emulator refuses what Redshift refuses, with Redshift-like messages', async () => {
    const { h } = await fresh();
    await apply(h, load('toplyne.yaml', toplyne));
    const rs = await session(h);
    const refused = async (sql: string, message: RegExp) => {
      await expect(rs.query(sql)).rejects.toThrow(message);
    };
    const users = '"toplyne"."users"';
    await refused(
      `ALTER TABLE ${users} ALTER COLUMN "country" TYPE character varying(128)`,
      /ALTER COLUMN TYPE is not supported for column "country" with BYTEDICT encoding/,
    );
    await refused(
      `ALTER TABLE ${users} ALTER COLUMN "user_id" TYPE character varying(128)`,
      /found unexpected dependency for column/,
    );
    await refused(
      `ALTER TABLE ${users} ADD COLUMN "score" bigint NOT NULL`,
      /ALTER TABLE ADD COLUMN defined as NOT NULL must have a non-null default expression/,
    );
    await refused(`ALTER TABLE ${users} ALTER COLUMN "email" ENCODE ZSTD`, /already has encoding ZSTD/);
    await rs.query(`ALTER TABLE ${users} ADD COLUMN "tier" character varying(8) DEFAULT 'free'`);
    await refused(
      `ALTER TABLE ${users} ALTER COLUMN "tier" TYPE character varying(16)`,
      /with a default value/,
    );
    await rs.query(
      'CREATE TABLE "toplyne"."il" (\n  "a" bigint,\n  "b" bigint\n)\nDISTSTYLE EVEN\nINTERLEAVED SORTKEY ("a", "b")',
    );
    await refused(
      'ALTER TABLE "toplyne"."il" ALTER DISTSTYLE ALL',
      /ALTER DISTSTYLE is not supported for tables with an interleaved sort key/,
    );
    await refused('ALTER TABLE "toplyne"."il" ALTER COLUMN "a" ENCODE ZSTD', /interleaved sort key/);
    // Interleaved -> compound is allowed, and then the rest is.
    await rs.query('ALTER TABLE "toplyne"."il" ALTER COMPOUND SORTKEY ("a")');
    await rs.query('ALTER TABLE "toplyne"."il" ALTER DISTSTYLE ALL');
  });

  it('Toplyne: widening BYTEDICT users.country is a marked replace that applies; re-encoding it first widens in place', async () => {
    const { h } = await fresh();
    await apply(h, load('toplyne.yaml', toplyne));
    const wide = load(
      'wide.yaml',
      toplyne.replace('country, type: varchar(64)', 'country, type: varchar(128)'),
    );
    const replaced = await apply(h, wide);
    const users = replaced.plan.changes.find((c) => c.address === 'warehouse.table:toplyne.users')!;
    expect(users.action).toBe('replace');
    expect(users.destructive).toBe(true);
    expect(users.reasons[0]).toContain('it is encoded BYTEDICT');
    expect(replaced.result.ok).toBe(true);
    expect((await plan(h, wide)).changes).toEqual([]);

    const zstd = load(
      'zstd.yaml',
      toplyne.replace(
        'country, type: varchar(64), encode: bytedict',
        'country, type: varchar(256), encode: zstd',
      ),
    );
    const inPlace = await apply(h, zstd);
    // What the emulator refused, if anything, shows first (it refuses a BYTEDICT column's TYPE).
    expect(inPlace.result.results.filter((x) => x.status !== 'done')).toEqual([]);
    const change = inPlace.plan.changes.find((c) => c.address === 'warehouse.table:toplyne.users')!;
    expect(change.action).toBe('update');
    expect(change.statements.map((s) => s.sql)).toEqual([
      'ALTER TABLE "toplyne"."users" ALTER COLUMN "country" ENCODE ZSTD',
      'ALTER TABLE "toplyne"."users" ALTER COLUMN "country" TYPE character varying(256)',
    ]);
    expect(inPlace.result.ok).toBe(true);
    expect((await plan(h, zstd)).changes).toEqual([]);
  });

  it('interleaved -> compound with a new distribution: altered in place, and it converges', async () => {
    const { h } = await fresh();
    await apply(h, load('il.yaml', text('    sortKey: { type: interleaved, columns: [a, b] }')));
    const v2 = load('cmp.yaml', text('    sortKey: { columns: [a] }\n    distribution: { style: all }'));
    const r = await apply(h, v2);
    expect(r.plan.changes.map((c) => [c.action, c.destructive])).toEqual([['update', false]]);
    expect(r.plan.changes[0]!.statements.map((s) => s.sql)).toEqual([
      'ALTER TABLE "s"."t" ALTER COMPOUND SORTKEY ("a")',
      'ALTER TABLE "s"."t" ALTER DISTSTYLE ALL',
    ]);
    expect(r.result.ok).toBe(true);
    expect((await plan(h, v2)).changes).toEqual([]);
  });

  it('ADD COLUMN NOT NULL without a default: a plan error at the column in the file', async () => {
    const { h } = await fresh();
    await apply(h, load('toplyne.yaml', toplyne));
    const text = toplyne.replace(
      '      - { name: plan, type: varchar(64) }',
      '      - { name: plan, type: varchar(64) }\n      - { name: score, type: bigint, nullable: false }',
    );
    const p = await plan(h, load('notnull.yaml', text));
    const d = p.diagnostics.find((x) => x.code === 'redshift-add-not-null')!;
    expect(d.severity).toBe('error');
    expect(d.message).toMatch(
      /^warehouse\.table:toplyne\.users: column "score" is added NOT NULL without a default/,
    );
    const line = text.split('\n').findIndex((l) => l.includes('name: score')) + 1;
    expect([d.path, d.line]).toEqual(['tables[1].columns[6]', line]);
  });
});

describe('datashares', () => {
  it('ALTER DATASHARE ADD TABLE needs the table and its schema in the share', async () => {
    const { h } = await fresh();
    await apply(h, load('toplyne.yaml', toplyne));
    const rs = await session(h);
    await rs.query('CREATE DATASHARE "other"');
    await expect(rs.query('ALTER DATASHARE "other" ADD TABLE "toplyne"."users"')).rejects.toThrow(
      /schema "toplyne" is not added to datashare "other"/,
    );
    await rs.query('ALTER DATASHARE "other" ADD SCHEMA "toplyne"');
    await expect(rs.query('ALTER DATASHARE "other" ADD TABLE "toplyne"."nope"')).rejects.toThrow(
      /relation "toplyne.nope" does not exist/,
    );
    await rs.query('ALTER DATASHARE "other" ADD TABLE "toplyne"."users"');
  });
});

describe('a session that is not a superuser', () => {
  it('SET INCLUDENEW is a plan error at the connection; partial visibility a warning', async () => {
    const { h, db } = await fresh();
    const loaded = load('toplyne.yaml', toplyne);
    const su = await plan(h, loaded);
    expect(su.diagnostics.filter((d) => d.code === 'redshift-superuser')).toEqual([]);
    await emulateSuperuser(db, false);
    const p = await plan(h, loaded);
    const found = p.diagnostics.filter((d) => d.code === 'redshift-superuser');
    expect(found.map((d) => [d.severity, d.path])).toEqual([
      ['error', 'connections.warehouse'],
      ['warning', 'connections.warehouse'],
    ]);
    expect(found[0]!.message).toMatch(
      /^connection warehouse: \S+ \(the user this connection runs as\) is not a superuser, and ALTER DATASHARE "toplyne_share" SET INCLUDENEW \.\.\. FOR SCHEMA "toplyne" needs one: connect as a superuser/,
    );
    expect(found[1]!.message).toContain('SVV_RELATION_PRIVILEGES');
    expect(found[0]!.line).toBe(toplyne.split('\n').findIndex((l) => l.startsWith('  warehouse:')) + 2);
  });
});

describe('AUTO layouts chosen by automatic table optimization (SVV_TABLE_INFO)', () => {
  it('AUTO(KEY(col)) and AUTO(SORTKEY(col)) are no drift against distribution/sortKey auto, nor against a file without them', async () => {
    const { h, db } = await fresh();
    const auto = load('auto.yaml', text('    distribution: { style: auto }\n    sortKey: auto\n'));
    expect((await apply(h, auto)).result.ok).toBe(true);
    await db.query(`INSERT INTO s.t VALUES (1, 'x')`);
    await simulateAutomaticTableOptimization(db, 's', 't', { distkey: 'a', sortkey: ['b'] });
    const info = await db.query('SELECT diststyle, sortkey1 FROM rsemu.svv_table_info WHERE "table" = \'t\'');
    expect(info.rows).toEqual([{ diststyle: 'AUTO(KEY(a))', sortkey1: 'AUTO(SORTKEY(b))' }]);
    expect((await plan(h, auto)).changes).toEqual([]);
    expect((await plan(h, load('none.yaml', text('')))).changes).toEqual([]);
    // A declared compound key differs from the chosen AUTO one: pinned with one ALTER.
    const pinned = await plan(h, load('pinned.yaml', text('    sortKey: { columns: [b] }\n')));
    expect(pinned.changes.flatMap((c) => c.statements.map((s) => s.sql))).toEqual([
      'ALTER TABLE "s"."t" ALTER COMPOUND SORTKEY ("b")',
    ]);
  });
});
