// Benchmark: `wharf inspect` of a warehouse with 10,000 objects (the shape of bench/plan-scale.mjs:
// 45% tables, 45% table grants, 10% default privileges, with their schemas and roles), next to
// `wharf plan` of the file it writes, on the same real PostgreSQL server (the embedded one, on
// 127.0.0.1, in a temp folder). Reports wall time and SQL round trips of each (counted at the
// client), and checks that the plan of the inspected file is empty. Target: inspect in the same
// order as plan. Not a test: it prints figures and writes bench/results/inspect.json. Run with
// `npm run bench:inspect` (builds first); BENCH_SIZES=1000,10000 for other sizes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { acquireLocalServer, inspectConfig, loadConfigText, planConfig } from '../dist/index.js';
import { PostgresProvider } from '../dist/providers/postgres/postgres-provider.js';
import { connector, counting, setupSql, shape } from './plan-scale.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const SIZES = (process.env.BENCH_SIZES ?? '10000').split(',').map(Number);
const RUNS = 3;
const best = (xs) => Math.min(...xs);
const ms = (x) => `${x.toFixed(1)} ms`;

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-bench-inspect-'));
  const server = await acquireLocalServer({ dir: path.join(tmp, 'pg'), database: 'postgres' });
  process.env.WHARF_BENCH_PASSWORD = server.password;
  const connect = connector(server);
  const results = { server: null, sizes: [] };
  try {
    const admin = await connect('postgres');
    results.server = (await admin.query('SHOW server_version')).rows[0].server_version;
    for (const n of SIZES) {
      const sh = shape(n);
      const db = `bench_inspect_${n}`;
      await admin.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
      await admin.query(`CREATE DATABASE "${db}"`);
      const setup = await connect(db);
      const stmts = setupSql(sh);
      for (let i = 0; i < stmts.length; i += 500) await setup.query(stmts.slice(i, i + 500).join('\n'));
      await setup.end();
      // The roles are cluster-wide: drop this size's at the end (below).

      const url = `postgres://${server.user}:\${env:WHARF_BENCH_PASSWORD}@127.0.0.1:${server.port}/${db}`;
      const connFile = path.join(tmp, `connections-${n}.yaml`);
      const connText = `version: 1\nconnections:\n  warehouse: { type: postgres, url: "${url}" }\n`;
      fs.writeFileSync(connFile, connText);
      const connections = loadConfigText(connText, connFile).loaded;
      const counter = { n: 0 };
      const open = async (name, config) => {
        const client = counting(await connect(db), counter);
        const provider = new PostgresProvider(client, 'postgres');
        return { name, config, provider, description: db, close: () => provider.close() };
      };
      const schemas = Array.from({ length: sh.schemas }, (_, s) => `s${s}`);
      const out = path.join(tmp, `inspected-${n}.yaml`);

      const inspectRuns = [];
      let text = '';
      let notes = 0;
      for (let i = 0; i < RUNS; i++) {
        counter.n = 0;
        const t0 = performance.now();
        const r = await inspectConfig(connections, {
          schemas,
          roles: sh.roles,
          buckets: [],
          outFile: out,
          open,
        });
        inspectRuns.push({ t: performance.now() - t0, trips: counter.n });
        text = r.text;
        notes = r.notes.length;
      }
      fs.writeFileSync(out, text);
      const { loaded, diagnostics } = loadConfigText(text, out);
      if (!loaded) throw new Error(`inspected file invalid: ${diagnostics[0]?.message}`);

      const planRuns = [];
      let changes = -1;
      for (let i = 0; i < RUNS; i++) {
        counter.n = 0;
        const t0 = performance.now();
        const run = await planConfig(loaded, { open });
        planRuns.push({ t: performance.now() - t0, trips: counter.n });
        changes = run.plan.changes.length;
        await run.close();
      }
      const row = {
        objects: sh.objects,
        inspect: {
          ms: best(inspectRuns.map((r) => r.t)),
          roundTrips: inspectRuns[0].trips,
          bytes: text.length,
          notes,
        },
        plan: { ms: best(planRuns.map((r) => r.t)), roundTrips: planRuns[0].trips, changes },
      };
      row.ratio = row.inspect.ms / row.plan.ms;
      results.sizes.push(row);
      console.log(
        `${String(sh.objects).padStart(6)} objects  wharf inspect ${ms(row.inspect.ms).padStart(10)} in ${row.inspect.roundTrips} round trips` +
          ` (${(text.length / 1024).toFixed(0)} KiB, ${notes} notes)  |  wharf plan of it ${ms(row.plan.ms).padStart(10)}` +
          ` in ${row.plan.roundTrips} round trips (${changes} changes)  |  inspect/plan ${row.ratio.toFixed(2)}x`,
      );
      const c = await connect('postgres');
      await c.query(`DROP DATABASE "${db}" WITH (FORCE)`);
      await c.query(`DROP ROLE ${sh.roles.map((r) => `"${r}"`).join(', ')}`);
      await c.end();
    }
    await admin.end();
    fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
    fs.writeFileSync(
      path.join(ROOT, 'bench', 'results', 'inspect.json'),
      `${JSON.stringify(results, null, 2)}\n`,
    );
  } finally {
    await server.release();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
