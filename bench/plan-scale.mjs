// Benchmark: how `wharf plan` scales with the number of managed objects, against the way
// Terraform-style providers refresh (one query per object), both measured in this run on
// the same real PostgreSQL server (the embedded one, on 127.0.0.1, in a temp folder).
//
// For 100, 1,000 and 10,000 managed objects (45% tables, 45% table grants, 10% default
// privileges, plus the schemas and roles they need) it reports plan wall time and SQL
// round trips for wharf and for the per-object baseline, and the time of
// `wharf validate` on a 1,000-object file against bare `node` start-up.
// Targets: constant round trips; plan(10,000) < 2 s and >= 20x faster than the baseline;
// validate(1,000) < 0.5 s. Not a test: it prints figures and writes
// bench/results/plan-scale.json. Run with `npm run bench` (builds first).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { acquireLocalServer, loadConfigFile, planConfig } from '../dist/index.js';
import { PostgresProvider } from '../dist/providers/postgres/postgres-provider.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SIZES = (process.env.BENCH_SIZES ?? '100,1000,10000').split(',').map(Number);
const READERS = 5;
const LOADERS = 2;

/** The objects for size n, as plain data used both for SQL set-up and the YAML file. */
export function shape(n) {
  const schemas = Math.max(1, Math.round(n / 100));
  const tables = [];
  const grants = [];
  const defaults = [];
  const perSchema = Math.round((n * 0.45) / schemas);
  for (let s = 0; s < schemas; s++) {
    for (let t = 0; t < perSchema; t++) {
      const table = { schema: `s${s}`, name: `t${t}` };
      tables.push(table);
      grants.push({ ...table, to: `n${n}_reader_${(s + t) % READERS}` });
    }
    for (let l = 0; l < LOADERS; l++)
      for (let r = 0; r < READERS; r++)
        defaults.push({ schema: `s${s}`, forRole: `n${n}_loader_${l}`, to: `n${n}_reader_${r}` });
  }
  const roles = [
    ...Array.from({ length: READERS }, (_, i) => `n${n}_reader_${i}`),
    ...Array.from({ length: LOADERS }, (_, i) => `n${n}_loader_${i}`),
  ];
  return {
    schemas,
    tables,
    grants,
    defaults,
    roles,
    objects: tables.length + grants.length + defaults.length,
  };
}

export function setupSql(sh) {
  const out = sh.roles.map((r) => `CREATE ROLE "${r}" NOLOGIN;`);
  for (let s = 0; s < sh.schemas; s++) out.push(`CREATE SCHEMA "s${s}";`);
  for (const t of sh.tables)
    out.push(
      `CREATE TABLE "${t.schema}"."${t.name}" (id bigint NOT NULL PRIMARY KEY, name text, updated_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP);`,
    );
  for (const g of sh.grants) out.push(`GRANT SELECT ON "${g.schema}"."${g.name}" TO "${g.to}";`);
  for (const d of sh.defaults)
    out.push(
      `ALTER DEFAULT PRIVILEGES FOR ROLE "${d.forRole}" IN SCHEMA "${d.schema}" GRANT SELECT ON TABLES TO "${d.to}";`,
    );
  return out;
}

function configYaml(sh, url) {
  const lines = ['version: 1', 'connections:', `  warehouse: { type: postgres, url: "${url}" }`, 'schemas:'];
  for (let s = 0; s < sh.schemas; s++) lines.push(`  - name: s${s}`);
  lines.push('roles:');
  for (const r of sh.roles) lines.push(`  - name: ${r}`);
  lines.push('tables:');
  for (const t of sh.tables) {
    lines.push(`  - schema: ${t.schema}`, `    name: ${t.name}`, '    primaryKey: [id]', '    columns:');
    lines.push('      - { name: id, type: bigint, nullable: false }', '      - { name: name, type: text }');
    lines.push('      - { name: updated_at, type: timestamp, nullable: false, default: CURRENT_TIMESTAMP }');
  }
  lines.push('grants:');
  for (const g of sh.grants)
    lines.push(`  - { to: ${g.to}, privileges: [select], tables: [${g.schema}.${g.name}] }`);
  lines.push('defaultPrivileges:');
  for (const d of sh.defaults)
    lines.push(`  - { forRole: ${d.forRole}, schema: ${d.schema}, privileges: [select], to: ${d.to} }`);
  return `${lines.join('\n')}\n`;
}

/** A pg client whose every query is counted: round trips as the server sees them. */
export function counting(client, counter) {
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

/** Terraform-style refresh: one query per managed object (and per schema and role). */
async function baselineRefresh(client, sh) {
  let trips = 0;
  const q = async (sql, params) => {
    trips++;
    return client.query(sql, params);
  };
  for (const r of sh.roles) await q('SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = $1', [r]);
  for (let s = 0; s < sh.schemas; s++)
    await q('SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1', [`s${s}`]);
  for (const t of sh.tables)
    await q(
      `SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid),
              (SELECT array_agg(k) FROM pg_constraint c, unnest(c.conkey) k WHERE c.conrelid = a.attrelid AND c.contype = 'p')
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = format('%I.%I', $1::text, $2::text)::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
      [t.schema, t.name],
    );
  for (const g of sh.grants)
    await q(
      `SELECT privilege_type FROM information_schema.role_table_grants
        WHERE table_schema = $1 AND table_name = $2 AND grantee = $3`,
      [g.schema, g.name, g.to],
    );
  for (const d of sh.defaults)
    await q(
      `SELECT a.privilege_type FROM pg_default_acl da JOIN pg_namespace n ON n.oid = da.defaclnamespace,
              aclexplode(da.defaclacl) a
        WHERE n.nspname = $1 AND da.defaclrole = $2::regrole AND a.grantee = $3::regrole`,
      [d.schema, d.forRole, d.to],
    );
  return trips;
}

/** Opens sessions to a database of the bench server, as its superuser, in UTC. */
export function connector(server) {
  return async (database) => {
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
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** The fastest run: on a shared machine, noise only ever adds time. */
const best = (xs) => Math.min(...xs);
const ms = (x) => `${x.toFixed(1)} ms`;

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-bench-'));
  const server = await acquireLocalServer({ dir: path.join(tmp, 'pg'), database: 'postgres' });
  process.env.WHARF_BENCH_PASSWORD = server.password;
  const connect = connector(server);
  const results = { server: null, sizes: [], validate: null };
  try {
    const admin = await connect('postgres');
    results.server = (await admin.query('SHOW server_version')).rows[0].server_version;
    for (const n of SIZES) {
      const sh = shape(n);
      const db = `bench_${n}`;
      await admin.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
      await admin.query(`CREATE DATABASE "${db}"`);
      const setup = await connect(db);
      const stmts = setupSql(sh);
      for (let i = 0; i < stmts.length; i += 500) await setup.query(stmts.slice(i, i + 500).join('\n'));
      await setup.end();

      const url = `postgres://${server.user}:\${env:WHARF_BENCH_PASSWORD}@127.0.0.1:${server.port}/${db}`;
      const file = path.join(tmp, `wharf-${n}.yaml`);
      fs.writeFileSync(file, configYaml(sh, url));
      const { loaded, diagnostics } = loadConfigFile(file);
      const errors = diagnostics.filter((d) => d.severity === 'error');
      if (!loaded || errors.length) throw new Error(`bench config invalid: ${errors[0]?.message}`);

      // wharf plan: connect, read live state, diff, compile. Round trips counted at the client.
      const wharfRuns = [];
      let changes = 0;
      for (let i = 0; i < 5; i++) {
        const counter = { n: 0 };
        let readMs = 0;
        const open = async (name, config) => {
          const client = counting(await connect(db), counter);
          const provider = new PostgresProvider(client, 'postgres');
          const read = provider.read.bind(provider);
          provider.read = async (scope) => {
            const t0 = performance.now();
            const snap = await read(scope);
            readMs = performance.now() - t0;
            return snap;
          };
          return { name, config, provider, description: db, close: () => provider.close() };
        };
        const t0 = performance.now();
        const run = await planConfig(loaded, { open });
        const t = performance.now() - t0;
        changes = run.plan.changes.length;
        await run.close();
        wharfRuns.push({ t, trips: counter.n, readMs });
      }

      // Baseline: the same live state read one object at a time.
      const baseRuns = [];
      for (let i = 0; i < (n >= 10000 ? 1 : 3); i++) {
        const client = await connect(db);
        const t0 = performance.now();
        const trips = await baselineRefresh(client, sh);
        baseRuns.push({ t: performance.now() - t0, trips });
        await client.end();
      }
      const row = {
        objects: sh.objects,
        wharf: {
          planMs: best(wharfRuns.map((r) => r.t)),
          readMs: best(wharfRuns.map((r) => r.readMs)),
          roundTrips: wharfRuns[0].trips,
          changes,
        },
        baseline: { refreshMs: best(baseRuns.map((r) => r.t)), roundTrips: baseRuns[0].trips },
      };
      row.speedup = row.baseline.refreshMs / row.wharf.planMs;
      results.sizes.push(row);
      console.log(
        `${String(sh.objects).padStart(6)} objects  wharf plan ${ms(row.wharf.planMs).padStart(10)} in ${row.wharf.roundTrips} round trips` +
          ` (read ${ms(row.wharf.readMs)})` +
          ` (${changes} changes)  |  per-object baseline ${ms(row.baseline.refreshMs).padStart(10)} in ${row.baseline.roundTrips} round trips` +
          `  |  ${row.speedup.toFixed(1)}x faster`,
      );
      if (n === 1000) results.validateFile = file;
    }
    await admin.end();

    // wharf validate on the 1,000-object file, as a user runs it (a fresh process each time).
    const vfile = results.validateFile ?? path.join(tmp, 'wharf-1000.yaml');
    if (!fs.existsSync(vfile))
      fs.writeFileSync(vfile, configYaml(shape(1000), 'postgres://u:${env:X}@127.0.0.1/db'));
    const time = (args) => {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
      return performance.now() - t0;
    };
    const v = median(
      Array.from({ length: 5 }, () => time([path.join(ROOT, 'bin/wharf.js'), 'validate', '-f', vfile])),
    );
    const bare = best(Array.from({ length: 5 }, () => time(['-e', '0'])));
    results.validate = { objects: 1000, validateMs: v, nodeStartMs: bare, ratio: v / bare };
    delete results.validateFile;
    console.log(
      `validate, 1,000-object file: ${ms(v)} (bare node start-up ${ms(bare)}, ${(v / bare).toFixed(1)}x)`,
    );
    const trips = results.sizes.map((r) => r.wharf.roundTrips);
    const biggest = results.sizes.at(-1);
    console.log(
      `round trips constant across sizes: ${new Set(trips).size === 1 ? 'yes' : 'NO'} (${trips.join(', ')}); ` +
        `largest: ${ms(biggest.wharf.planMs)}, ${biggest.speedup.toFixed(1)}x the baseline`,
    );
    fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
    fs.writeFileSync(
      path.join(ROOT, 'bench', 'results', 'plan-scale.json'),
      `${JSON.stringify(results, null, 2)}\n`,
    );
  } finally {
    await server.release();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// Run when started as a script; bench/inspect.mjs imports the shapes above.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
