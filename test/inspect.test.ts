// `wharf inspect` round trips on a real PostgreSQL server: a warehouse set up by wharf (every
// example that runs on PostgreSQL, every golden scenario) or by hand with SQL is inspected into a
// file, and `wharf plan` of that file against the same warehouse plans nothing. Passwords are
// never read: a login role becomes a `${env:...}` reference, and a password's value never
// appears in the file or the output.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { loadConfigFile } from '../src/config/load.js';
import { runCli } from './support/cli.js';
import { startTestServer, type TestServer } from './support/pg.js';

const ROOT = path.join(import.meta.dirname, '..');
let server: TestServer;
let work: string;

beforeAll(async () => {
  server = await startTestServer();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-inspect-'));
});
afterAll(async () => {
  await server?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});
afterEach(() => {
  vi.unstubAllEnvs();
});

let n = 0;

/** A file in the work folder whose warehouse connection is a fresh database of the test server. */
async function onTestServer(text: string): Promise<{ file: string; db: string }> {
  const db = await server.createDatabase('insp');
  const file = path.join(work, `source-${++n}.yaml`);
  fs.writeFileSync(
    file,
    text.replace(
      /(\n {2}warehouse:\n {4})type: local\b/,
      `$1type: postgres\n    url: "${server.urlFor(db)}"`,
    ),
  );
  return { file, db };
}

/** Inspects `file`'s warehouse into a new file and plans it: the plan must be empty. */
async function inspectAndPlan(file: string, schemas: string[], roles: string[], more: string[] = []) {
  const out = path.join(work, `inspected-${++n}.yaml`);
  const args = ['inspect', '-f', file, '--connection', 'warehouse', ...more, '--out', out];
  for (const s of schemas) args.push('--schema', s);
  for (const r of roles) args.push('--role', r);
  const inspected = await runCli(args);
  expect(inspected.stderr).not.toMatch(/^error/m);
  expect(inspected.code).toBe(0);
  const text = fs.readFileSync(out, 'utf8');
  const plan = await runCli(['plan', '-f', out, '--detailed-exitcode']);
  expect({ code: plan.code, out: plan.stdout, err: plan.stderr }).toMatchObject({ code: 0 });
  expect(plan.stdout).toContain('No changes');
  return { text, stderr: inspected.stderr, out };
}

/** An example's warehouse half: its S3 buckets and syncs are the bucket tests' (inspect-buckets.test.ts). */
function warehouseHalf(text: string): string {
  const doc = parseYaml(text) as Record<string, unknown> & { connections: Record<string, unknown> };
  const keep = ['version', 'schemas', 'tables', 'roles', 'grants', 'defaultPrivileges'];
  const out = Object.fromEntries(Object.entries(doc).filter(([k]) => keep.includes(k)));
  return stringifyYaml({ ...out, connections: { warehouse: doc.connections.warehouse } });
}

describe('wharf inspect: examples on PostgreSQL', () => {
  const examples = [
    'quickstart.yaml',
    'postgres.yaml',
    'etleap-cdc.yaml',
    'statsig-s3.yaml',
    'toplyne-s3.yaml',
  ];
  it('covers every example whose warehouse is PostgreSQL', () => {
    const onPostgres = fs
      .readdirSync(path.join(ROOT, 'examples'))
      .filter((f) => f.endsWith('.yaml'))
      .filter((f) =>
        /\n {2}warehouse:\n {4}type: (local|postgres)\b/.test(
          fs.readFileSync(path.join(ROOT, 'examples', f), 'utf8'),
        ),
      );
    expect(onPostgres.sort()).toEqual([...examples].sort());
  });
  for (const example of examples) {
    it(`${example}: apply, inspect, plan plans nothing`, async () => {
      vi.stubEnv('VENDOR_PASSWORD', 'Vendor-pw-7f3a9c');
      const raw = fs.readFileSync(path.join(ROOT, 'examples', example), 'utf8');
      const src = /type: s3\b/.test(raw) ? warehouseHalf(raw) : raw;
      const { file, db } = await onTestServer(src);
      fs.writeFileSync(
        file,
        fs.readFileSync(file, 'utf8').replace('${env:DATABASE_URL}', `"${server.urlFor(db)}"`),
      );
      const applied = await runCli(['apply', '-f', file, '--auto-approve', '--allow-widen']);
      expect(applied.stderr).toBe('');
      expect(applied.code).toBe(0);
      const { loaded } = loadConfigFile(file);
      const schemas = (loaded!.config.schemas ?? []).map((s) => s.name);
      const roles = (loaded!.config.roles ?? []).map((r) => r.name);
      // The quickstart's bucket (a local bucket) comes along.
      const buckets = (loaded!.config.buckets ?? []).flatMap((b) => [
        '--connection',
        'files',
        '--bucket',
        b.name,
      ]);
      const { text, stderr } = await inspectAndPlan(file, schemas, roles, buckets);
      if (buckets.length) expect(text).toMatch(/- sid: DenyInsecureTransport|\{ sid: DenyInsecureTransport/);
      expect(text.split('\n')[0]).toMatch(
        /^# yaml-language-server: \$schema=.*schemas\/wharf\.schema\.json$/,
      );
      expect(text).not.toContain('Vendor-pw-7f3a9c');
      expect(stderr).not.toContain('Vendor-pw-7f3a9c');
      // Every schema of the example is written back.
      for (const s of schemas) expect(text).toMatch(new RegExp(`name: ${s.toLowerCase()}\\b`));
    }, 120_000);
  }
});

// Set up by hand, the way a team's warehouse looks before wharf: objects wharf did not create,
// names typed in mixed case (folded by PostgreSQL) and quoted (kept as typed, which the file
// cannot write), a serial column, an array type, a range-partitioned table with partitions named
// by hand and a list-partitioned one, default privileges (in a schema and database-wide), grants
// to a group and to users, memberships, a publication, login roles with passwords.
const HAND_MADE = `
CREATE ROLE readers;
CREATE ROLE "Analysts";
CREATE ROLE etl LOGIN PASSWORD 'Etl-secret-91b2';
CREATE ROLE Bob LOGIN PASSWORD 'Bob-secret-55d0';
CREATE ROLE carol LOGIN;
GRANT readers TO bob;
GRANT "Analysts" TO carol;
CREATE SCHEMA Sales;
CREATE SCHEMA "Marketing";
CREATE TABLE Sales.Orders (ID bigint PRIMARY KEY, Amount numeric(10,2) NOT NULL DEFAULT 0, Note text,
  Created timestamptz DEFAULT now());
COMMENT ON TABLE sales.orders IS 'Orders: one row per order';
ALTER TABLE sales.orders OWNER TO etl;
CREATE TABLE sales.customers (id serial PRIMARY KEY, name varchar(100), tags text[]);
CREATE TABLE sales."LineItems" (id int);
CREATE TABLE "Marketing".campaigns (id int);
CREATE TABLE sales.events (ts date NOT NULL, v int) PARTITION BY RANGE (ts);
CREATE TABLE sales.by_region (region text, v int) PARTITION BY LIST (region);
DO $$
DECLARE m date := date_trunc('month', now())::date;
BEGIN
  EXECUTE format('CREATE TABLE sales.events_this PARTITION OF sales.events FOR VALUES FROM (%L) TO (%L)', m, m + interval '1 month');
  EXECUTE format('CREATE TABLE sales.events_next PARTITION OF sales.events FOR VALUES FROM (%L) TO (%L)', m + interval '1 month', m + interval '2 months');
  EXECUTE format('CREATE TABLE sales.events_last PARTITION OF sales.events FOR VALUES FROM (%L) TO (%L)', m - interval '1 month', m);
END $$;
GRANT USAGE ON SCHEMA sales TO readers, bob, "Analysts";
GRANT SELECT ON sales.orders, sales.customers, sales.events TO readers;
GRANT SELECT, UPDATE ON sales.orders TO bob;
GRANT SELECT ON sales."LineItems" TO "Analysts";
ALTER DEFAULT PRIVILEGES FOR ROLE etl IN SCHEMA sales GRANT SELECT ON TABLES TO readers;
ALTER DEFAULT PRIVILEGES FOR ROLE etl GRANT SELECT, INSERT ON TABLES TO bob;
CREATE PUBLICATION sales_pub FOR TABLE sales.orders, sales.customers;
`;

let handMade: string | undefined;

describe('wharf inspect: a warehouse set up by hand', () => {
  it('inspects objects wharf did not create into a file that plans nothing, and says what it left out', async () => {
    const { file, db } = await onTestServer('version: 1\nconnections:\n  warehouse:\n    type: local\n');
    const admin = await server.client(db);
    try {
      await admin.query(HAND_MADE);
    } finally {
      await admin.end();
    }
    handMade = file;
    const { text, stderr } = await inspectAndPlan(file, ['Sales', 'Marketing'], ['readers', 'Bob']);
    // Mixed case typed without quotes is folded; quoted names are reported, not written.
    expect(text).toMatch(/- \{ name: sales, prune: false \}/);
    expect(stderr).toMatch(/note: schema "Marketing": its name is not a lower-case identifier/);
    expect(stderr).toMatch(/note: table sales\."LineItems": its name is not a lower-case identifier/);
    expect(stderr).toMatch(/note: table sales\.by_region: it is partitioned by list/);
    // The owner of a table is declared (the file names only declared roles), with the defaults it holds.
    expect(text).toContain('owner: etl');
    expect(text).toMatch(
      /- \{ forRole: etl, schema: sales, "on": tables, privileges: \[select\], to: readers \}/,
    );
    expect(text).toMatch(/- \{ forRole: etl, "on": tables, privileges: \[select, insert\], to: bob \}/);
    expect(text).toMatch(/- \{ to: bob, privileges: \[select, update\], tables: \[sales\.orders\] \}/);
    expect(text).toMatch(
      /- \{ name: bob, type: user, password: "\$\{env:BOB_PASSWORD\}", memberOf: \[readers\] \}/,
    );
    expect(text).toMatch(/partition: \{ by: ts, granularity: month, ahead: 1, from: "\d{4}-\d{2}-01" \}/);
    expect(text).toMatch(/- \{ name: tags, type: "text\[\]" \}|- \{ name: tags, type: text\[\] \}/);
    expect(text).toContain('name: sales_pub');
    // Passwords are never read, so never written: only references.
    for (const secret of ['Etl-secret-91b2', 'Bob-secret-55d0']) {
      expect(text).not.toContain(secret);
      expect(stderr).not.toContain(secret);
    }
    expect(text).toContain('${env:ETL_PASSWORD}');
  }, 120_000);

  it('reports what the file cannot say when plan would change it (a membership in a quoted role)', async () => {
    const file = handMade!; // the warehouse of the test above (roles are cluster-wide)
    const out = path.join(work, 'carol.yaml');
    const r = await runCli(['inspect', '-f', file, '--role', 'carol', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /note: role "Analysts": a group of carol; its name is not a lower-case identifier/,
    );
    expect(r.stderr).toMatch(
      /note: warehouse\.role:carol \(update\): the file cannot say what the live state holds/,
    );
    expect(fs.readFileSync(out, 'utf8')).toMatch(/^# - warehouse\.role:carol \(update\)/m);
    // --out never overwrites without --force.
    const again = await runCli(['inspect', '-f', file, '--role', 'carol', '--out', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/carol\.yaml exists; add --force/);
    expect((await runCli(['inspect', '-f', file, '--role', 'carol', '--out', out, '--force'])).code).toBe(0);
    // Without --out the file goes to stdout, the notes to stderr.
    const printed = await runCli(['inspect', '-f', file, '--role', 'readers']);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toMatch(/^# yaml-language-server: \$schema=/);
    expect(printed.stdout).toContain('- { name: readers, type: role }');
    expect(printed.stderr).toMatch(/^Inspected \(round trips: warehouse 1\)\.$/m);
    // Nothing to look at is a usage error.
    const nothing = await runCli(['inspect', '-f', file]);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toMatch(/inspect needs what to look at: --schema, --role or --bucket/);
  }, 120_000);
});

describe('wharf inspect: the golden scenarios', () => {
  const dir = path.join(ROOT, 'test', 'scenarios');
  const names = fs.readdirSync(dir).filter((d) => fs.statSync(path.join(dir, d)).isDirectory());
  it('has scenarios', () => {
    expect(names.length).toBeGreaterThanOrEqual(12);
  });
  for (const name of names.sort()) {
    it(`${name}: live.sql, apply, inspect, plan plans nothing`, async () => {
      const db = await server.createDatabase('scn');
      const admin = await server.client(db);
      const rolesBefore = new Set(
        (await admin.query('SELECT rolname FROM pg_roles')).rows.map((r) => r.rolname as string),
      );
      try {
        await admin.query(fs.readFileSync(path.join(dir, name, 'live.sql'), 'utf8'));
        vi.stubEnv('WHARF_SCENARIO_URL', server.rawUrl(db));
        const file = path.join(dir, name, 'wharf.yaml');
        const applied = await runCli(['apply', '-f', file, '--auto-approve', '--allow-destroy']);
        expect(applied.code).toBe(0);
        const { loaded } = loadConfigFile(file);
        const schemas = (loaded!.config.schemas ?? []).map((s) => s.name);
        const roles = (loaded!.config.roles ?? []).map((r) => r.name);
        // The inspected file keeps the scenario's ${env:WHARF_SCENARIO_URL}: it plans the same database.
        const { text } = await inspectAndPlan(file, schemas, roles);
        expect(text).toContain('url: "${env:WHARF_SCENARIO_URL}"');
      } finally {
        await admin.end();
        const c = await server.client('postgres');
        try {
          await c.query(`DROP DATABASE "${db}" WITH (FORCE)`);
          const roles = (await c.query('SELECT rolname FROM pg_roles')).rows.map((r) => r.rolname as string);
          for (const r of roles) if (!rolesBefore.has(r)) await c.query(`DROP ROLE "${r}"`);
        } finally {
          await c.end();
        }
      }
    }, 60_000);
  }
});
