// Benchmark: `wharf apply` of many grants on PostgreSQL, batched (several changes, each its own
// transaction, per message) against one round trip per statement (BEGIN, each statement,
// COMMIT: how apply ran before), both measured in this run on the same real server (the
// embedded one, on 127.0.0.1, in a temp folder).
//
// For 500 and 5,000 table grants (the tables and roles already exist, so the plan holds only
// the grants) it runs the whole apply — lock, stale check, the changes, release — on two
// identical databases, one per way, and reports wall time and SQL round trips counted at the
// client (the lock is taken on the same session), then checks that a fresh plan is empty on both.
// Targets: 5,000 grants in at most 50 round trips and at least 10x faster than the baseline.
// Not a test: it prints figures and writes bench/results/apply-batch.json.
// Run with `npm run bench:apply` (builds first); `BENCH_GRANTS=500,5000` picks the sizes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { acquireLocalServer, applyPlan, loadConfigFile, planConfig } from '../dist/index.js';
import { PostgresProvider } from '../dist/providers/postgres/postgres-provider.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SIZES = (process.env.BENCH_GRANTS ?? '500,5000').split(',').map(Number);
const READERS = 5;
const PER_SCHEMA = 100;

/** Roles belong to the server, not a database: each database gets its own. */
const reader = (db, r) => `${db}_reader_${r}`;

function setupSql(n, db) {
  const out = Array.from({ length: READERS }, (_, r) => `CREATE ROLE "${reader(db, r)}" NOLOGIN`);
  for (let i = 0; i < n; i++) {
    if (i % PER_SCHEMA === 0) out.push(`CREATE SCHEMA "s${i / PER_SCHEMA}"`);
    out.push(`CREATE TABLE "s${Math.floor(i / PER_SCHEMA)}"."t${i % PER_SCHEMA}" (id bigint)`);
  }
  return out;
}

function configYaml(n, db, url) {
  const lines = ['version: 1', 'connections:', `  warehouse: { type: postgres, url: "${url}" }`, 'schemas:'];
  for (let s = 0; s < Math.ceil(n / PER_SCHEMA); s++) lines.push(`  - name: s${s}`);
  lines.push('roles:');
  for (let r = 0; r < READERS; r++) lines.push(`  - name: ${reader(db, r)}`);
  lines.push('tables:');
  for (let i = 0; i < n; i++)
    lines.push(
      `  - { schema: s${Math.floor(i / PER_SCHEMA)}, name: t${i % PER_SCHEMA}, columns: [{ name: id, type: bigint }] }`,
    );
  lines.push('grants:');
  for (let i = 0; i < n; i++)
    lines.push(
      `  - { to: ${reader(db, i % READERS)}, privileges: [select], tables: [s${Math.floor(i / PER_SCHEMA)}.t${i % PER_SCHEMA}] }`,
    );
  return `${lines.join('\n')}\n`;
}

/** A pg client whose every query is counted: round trips as the server sees them. */
function counting(client, counter) {
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'query')
        return (...args) => {
          counter.n++;
          return target.query(...args);
        };
      const v = Reflect.get(target, prop);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** How apply ran before batching: each change alone, one round trip per statement. */
class OneStatementPerRoundTrip extends PostgresProvider {
  constructor(client) {
    super(client, 'postgres');
    this.sql = client;
    this.executeMany = undefined;
  }

  async execute(change) {
    await this.sql.query('BEGIN');
    try {
      for (const st of change.statements) await this.sql.query(st.sql);
      await this.sql.query('COMMIT');
    } catch (e) {
      await this.sql.query('ROLLBACK').catch(() => {});
      throw e;
    }
  }
}

const best = (xs) => Math.min(...xs);
const ms = (x) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`);

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-bench-apply-'));
  const server = await acquireLocalServer({ dir: path.join(tmp, 'pg'), database: 'postgres' });
  process.env.WHARF_BENCH_PASSWORD = server.password;
  const connect = async (database) => {
    const c = new pg.Client({
      host: server.host,
      port: server.port,
      user: server.user,
      password: server.password,
      database,
      options: '-c TimeZone=UTC -c client_min_messages=warning',
    });
    c.on('error', () => {});
    await c.connect();
    return c;
  };
  const results = { server: null, sizes: [] };
  try {
    const admin = await connect('postgres');
    results.server = (await admin.query('SHOW server_version')).rows[0].server_version;

    /** A fresh database with the tables and roles, and the plan of its grants. */
    const prepare = async (n, db) => {
      await admin.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
      for (let r = 0; r < READERS; r++) await admin.query(`DROP ROLE IF EXISTS "${reader(db, r)}"`);
      await admin.query(`CREATE DATABASE "${db}"`);
      const setup = await connect(db);
      const stmts = setupSql(n, db);
      for (let i = 0; i < stmts.length; i += 1000) await setup.query(stmts.slice(i, i + 1000).join(';\n'));
      await setup.end();
      const url = `postgres://${server.user}:\${env:WHARF_BENCH_PASSWORD}@127.0.0.1:${server.port}/${db}`;
      const file = path.join(tmp, `${db}.yaml`);
      fs.writeFileSync(file, configYaml(n, db, url));
      const { loaded, diagnostics } = loadConfigFile(file);
      const errors = diagnostics.filter((d) => d.severity === 'error');
      if (!loaded || errors.length) throw new Error(`bench config invalid: ${errors[0]?.message}`);
      return loaded;
    };

    /** Plans, then applies with `make`'s provider; times and counts the apply alone. */
    const applyWith = async (loaded, db, make) => {
      const counter = { n: 0 };
      const open = async (name, config) => {
        const provider = make(counting(await connect(db), counter));
        return { name, config, provider, description: db, close: () => provider.close() };
      };
      const run = await planConfig(loaded, { open });
      const changes = run.plan.changes.length;
      const providers = new Map([...run.connections].map(([n, c]) => [n, c.provider]));
      counter.n = 0;
      const t0 = performance.now();
      const result = await applyPlan(run.plan, providers, {
        allowDestroy: false,
        lockTimeoutMs: 0,
        holder: 'wharf bench',
      });
      const t = performance.now() - t0;
      const trips = counter.n;
      await run.close();
      if (!result.ok)
        throw new Error(`${db}: apply failed: ${JSON.stringify(result.results.find((r) => r.error))}`);
      const again = await planConfig(loaded, { open });
      const left = again.plan.changes.length;
      await again.close();
      if (left !== 0) throw new Error(`${db}: ${left} change(s) left after apply`);
      return { t, trips, changes };
    };

    for (const n of SIZES) {
      const runs = n >= 5000 ? 2 : 3;
      const wharf = [];
      const base = [];
      for (let k = 0; k < runs; k++) {
        // Alternate which way goes first, so neither always meets a warmer server.
        for (const way of k % 2 === 0 ? ['wharf', 'base'] : ['base', 'wharf']) {
          const db = `apply_${way}_${n}`;
          const loaded = await prepare(n, db);
          if (way === 'wharf')
            wharf.push(await applyWith(loaded, db, (c) => new PostgresProvider(c, 'postgres')));
          else base.push(await applyWith(loaded, db, (c) => new OneStatementPerRoundTrip(c)));
        }
      }
      const row = {
        grants: n,
        changes: wharf[0].changes,
        wharf: { applyMs: best(wharf.map((r) => r.t)), roundTrips: wharf[0].trips },
        baseline: { applyMs: best(base.map((r) => r.t)), roundTrips: base[0].trips },
      };
      row.speedup = row.baseline.applyMs / row.wharf.applyMs;
      results.sizes.push(row);
      console.log(
        `${String(n).padStart(5)} grants (${row.changes} changes)  wharf apply ${ms(row.wharf.applyMs).padStart(8)} in ${row.wharf.roundTrips} round trips` +
          `  |  one statement per round trip ${ms(row.baseline.applyMs).padStart(8)} in ${row.baseline.roundTrips} round trips` +
          `  |  ${row.speedup.toFixed(1)}x faster, ${(row.baseline.roundTrips / row.wharf.roundTrips).toFixed(0)}x fewer round trips`,
      );
    }
    await admin.end();
    const big = results.sizes.find((r) => r.grants === 5000);
    if (big)
      console.log(
        `5,000 grants: ${big.wharf.roundTrips} round trips (target <= 50: ${big.wharf.roundTrips <= 50 ? 'met' : 'MISSED'}), ` +
          `${big.speedup.toFixed(1)}x the baseline (target >= 10x: ${big.speedup >= 10 ? 'met' : 'MISSED'})`,
      );
    fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
    fs.writeFileSync(
      path.join(ROOT, 'bench', 'results', 'apply-batch.json'),
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
