// Benchmark: Data API calls of `wharf plan` on Redshift for 100, 1,000 and 10,000 managed
// objects (45% tables, 45% table grants, 10% default privileges), against a per-object
// refresh baseline (one ExecuteStatement per object, the way Terraform-style providers
// refresh) measured in the same run, through the real SDK client against the loopback fake
// Data API on the Redshift emulator. Counted per operation: submissions (ExecuteStatement,
// BatchExecuteStatement), polls (DescribeStatement) and result pages (GetStatementResult).
// Also: the submissions of applying 1,000 grants. Targets: submissions constant across sizes;
// 1,000 grants applied in at most 30 submissions. Prints a table and writes
// bench/results/redshift-roundtrips.json. Run with `npm run bench:redshift`.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, it } from 'vitest';
import { applyPlan } from '../src/apply/apply.js';
import { planConfig } from '../src/commands/plan.js';
import { loadConfigText } from '../src/config/load.js';
import type { WarehouseProvider } from '../src/providers/provider.js';
import { startTestServer, type TestServer } from '../test/support/pg.js';
import { startRedshiftHarness } from '../test/support/redshift-harness.js';

const SIZES = (process.env.BENCH_SIZES ?? '100,1000,10000').split(',').map(Number);
const READERS = 5;
const LOADERS = 2;
const OPS = ['ExecuteStatement', 'BatchExecuteStatement', 'DescribeStatement', 'GetStatementResult'] as const;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

function shape(n: number) {
  const schemas = Math.max(1, Math.round(n / 100));
  const perSchema = Math.round((n * 0.45) / schemas);
  const tables: { schema: string; name: string; reader: string }[] = [];
  for (let s = 0; s < schemas; s++)
    for (let t = 0; t < perSchema; t++)
      tables.push({ schema: `s${s}`, name: `t${t}`, reader: `n${n}_r${(s + t) % READERS}` });
  return { n, schemas, tables, objects: tables.length * 2 + schemas * LOADERS * READERS };
}

function setupSql(sh: ReturnType<typeof shape>): string {
  const out: string[] = [];
  for (let r = 0; r < READERS; r++) out.push(`CREATE USER n${sh.n}_r${r}`);
  for (let l = 0; l < LOADERS; l++) out.push(`CREATE USER n${sh.n}_l${l}`);
  for (let s = 0; s < sh.schemas; s++) out.push(`CREATE SCHEMA s${s}`);
  for (const t of sh.tables) {
    out.push(`CREATE TABLE ${t.schema}.${t.name} (id bigint NOT NULL, at timestamp)`);
    out.push(`GRANT SELECT ON ${t.schema}.${t.name} TO ${t.reader}`);
  }
  for (let s = 0; s < sh.schemas; s++)
    for (let l = 0; l < LOADERS; l++)
      for (let r = 0; r < READERS; r++)
        out.push(
          `ALTER DEFAULT PRIVILEGES FOR USER n${sh.n}_l${l} IN SCHEMA s${s} GRANT SELECT ON TABLES TO n${sh.n}_r${r}`,
        );
  return `${out.join(';\n')};`;
}

function yamlOf(sh: ReturnType<typeof shape>): string {
  const lines = [
    'version: 1',
    'connections:',
    '  rs: { type: redshift, cluster: analytics, database: dev, dbUser: admin }',
    'schemas:',
  ];
  for (let s = 0; s < sh.schemas; s++) lines.push(`  - { name: s${s} }`);
  lines.push('roles:');
  for (let r = 0; r < READERS; r++) lines.push(`  - { name: n${sh.n}_r${r}, type: user }`);
  for (let l = 0; l < LOADERS; l++) lines.push(`  - { name: n${sh.n}_l${l}, type: user }`);
  lines.push('tables:');
  for (const t of sh.tables)
    lines.push(
      `  - { schema: ${t.schema}, name: ${t.name}, columns: [{ name: id, type: bigint, nullable: false }, { name: at, type: timestamp }] }`,
    );
  lines.push('grants:');
  for (const t of sh.tables)
    lines.push(`  - { to: ${t.reader}, privileges: [select], tables: [${t.schema}.${t.name}] }`);
  lines.push('defaultPrivileges:');
  for (let s = 0; s < sh.schemas; s++)
    for (let l = 0; l < LOADERS; l++)
      for (let r = 0; r < READERS; r++)
        lines.push(
          `  - { forRole: n${sh.n}_l${l}, schema: s${s}, privileges: [select], to: n${sh.n}_r${r} }`,
        );
  return `${lines.join('\n')}\n`;
}

type Counts = Record<(typeof OPS)[number], number>;

function counter(fake: { calls: { operation: string }[] }) {
  const start = fake.calls.length;
  return (): Counts => {
    const out = Object.fromEntries(OPS.map((o) => [o, 0])) as Counts;
    for (const c of fake.calls.slice(start)) if (c.operation in out) out[c.operation as keyof Counts]++;
    return out;
  };
}

const submissions = (c: Counts) => c.ExecuteStatement + c.BatchExecuteStatement;

it('Redshift plan round trips', async () => {
  const rows: Record<string, unknown>[] = [];
  for (const n of SIZES) {
    const sh = shape(n);
    const db = await server.client(await server.createDatabase(`bench${n}`));
    const h = await startRedshiftHarness(db, {});
    await db.query(setupSql(sh));
    const loaded = loadConfigText(yamlOf(sh), `bench-${n}.yaml`).loaded!;

    const wharfCount = counter(h.fake);
    let t0 = performance.now();
    const run = await planConfig(loaded, { open: h.open });
    const wharfMs = performance.now() - t0;
    const wharf = wharfCount();
    await run.close();
    if (run.plan.changes.length !== 0)
      throw new Error(`size ${n}: the plan is not empty (${run.plan.changes.length})`);

    // Baseline: one statement per managed object, as a per-resource refresh does.
    const opened = await h.open('rs', loaded.connections.rs!);
    const transport = (opened.provider as unknown as { transport: { query(sql: string): Promise<unknown> } })
      .transport;
    const baseCount = counter(h.fake);
    t0 = performance.now();
    for (const t of sh.tables) {
      await transport.query(
        `SELECT column_name, data_type FROM svv_redshift_columns WHERE schema_name = '${t.schema}' AND table_name = '${t.name}'`,
      );
      await transport.query(
        `SELECT privilege_type FROM svv_relation_privileges WHERE namespace_name = '${t.schema}' AND relation_name = '${t.name}' AND identity_name = '${t.reader}'`,
      );
    }
    for (let s = 0; s < sh.schemas; s++)
      for (let l = 0; l < LOADERS; l++)
        for (let r = 0; r < READERS; r++)
          await transport.query(
            `SELECT privilege_type FROM svv_default_privileges WHERE schema_name = 's${s}' AND owner_name = 'n${n}_l${l}' AND grantee_name = 'n${n}_r${r}'`,
          );
    const baseMs = performance.now() - t0;
    const base = baseCount();
    rows.push({
      objects: sh.objects,
      wharf: { ...wharf, submissions: submissions(wharf), ms: Math.round(wharfMs) },
      baseline: { ...base, submissions: submissions(base), ms: Math.round(baseMs) },
    });
    await h.close();
    await db.end();
  }

  // Apply of 1,000 grants: 40 tables x 25 users, objects created first.
  const db = await server.client(await server.createDatabase('benchgrants'));
  const h = await startRedshiftHarness(db);
  const users = Array.from({ length: 25 }, (_, i) => `g${i}`);
  await db.query(
    `CREATE SCHEMA app; ${users.map((u) => `CREATE USER ${u};`).join(' ')} ${Array.from({ length: 40 }, (_, i) => `CREATE TABLE app.t${i} (id bigint);`).join(' ')}`,
  );
  const text = `version: 1
connections: { rs: { type: redshift, cluster: analytics, database: dev, dbUser: admin } }
schemas: [{ name: app }]
tables:
${Array.from({ length: 40 }, (_, i) => `  - { schema: app, name: t${i}, columns: [{ name: id, type: bigint }] }`).join('\n')}
roles:
${users.map((u) => `  - { name: ${u}, type: user }`).join('\n')}
grants:
${users.map((u) => `  - { to: ${u}, privileges: [select], allTablesInSchema: app }`).join('\n')}
`;
  const run = await planConfig(loadConfigText(text, 'grants.yaml').loaded!, { open: h.open });
  const providers = new Map<string, WarehouseProvider>(
    [...run.connections].map(([k, c]) => [k, c.provider] as const),
  );
  const applyCount = counter(h.fake);
  const result = await applyPlan(run.plan, providers, {
    allowDestroy: false,
    lockTimeoutMs: 0,
    holder: 'bench',
  });
  const applied = applyCount();
  await run.close();
  await h.close();
  await db.end();
  const grants = {
    grants: run.plan.changes.length,
    ok: result.ok,
    ...applied,
    submissions: submissions(applied),
  };

  console.log(
    '\nRedshift plan: Data API calls (submissions / polls / result pages), wharf vs per-object baseline',
  );
  for (const r of rows) {
    const w = r.wharf as Counts & { submissions: number; ms: number };
    const b = r.baseline as Counts & { submissions: number; ms: number };
    console.log(
      `  ${String(r.objects).padStart(6)} objects: wharf ${w.submissions} / ${w.DescribeStatement} / ${w.GetStatementResult} (${w.ms} ms)` +
        `   baseline ${b.submissions} / ${b.DescribeStatement} / ${b.GetStatementResult} (${b.ms} ms)` +
        `   ${(b.submissions / w.submissions).toFixed(0)}x fewer submissions`,
    );
  }
  console.log(
    `  apply of ${grants.grants} grants: ${grants.submissions} submissions (target <= 30), ok=${grants.ok}`,
  );
  const out = { date: new Date().toISOString(), node: process.version, sizes: rows, applyGrants: grants };
  fs.mkdirSync(path.join(import.meta.dirname, 'results'), { recursive: true });
  fs.writeFileSync(
    path.join(import.meta.dirname, 'results', 'redshift-roundtrips.json'),
    `${JSON.stringify(out, null, 2)}\n`,
  );
});
