// Benchmark: the review screen. For 100 and 10,000 changes against the embedded warehouse
// (`type: local`, empty, held running by this process): the time from starting `wharf apply` on
// a terminal (a pty from `script`) to the first drawn screen, against two baselines measured in
// the same run on the same file: `wharf plan` printing the plan as plain text (to its end) and
// `wharf apply --plain` up to its "yes" prompt. Then the redraw: `wharf show plan.json` of the
// 10,000-change plan on a pty, `j` sent 60 ms apart (more than ink's frame interval, so no frame
// waits on the throttle), the time from each key to the screen's answer.
// Targets: first screen < 1 s (100 changes) and < 2 s (10,000), beyond what planning costs.
// Not a test: it prints figures and writes bench/results/review-screen.json.
// Run with `npm run bench:review` (builds first). BENCH_SIZES=100,10000, BENCH_KEYS=100 and
// BENCH_RUNS (runs of each command, median; default 3 below 10,000 changes, 1 at 10,000).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'wharf.js');
const SIZES = (process.env.BENCH_SIZES ?? '100,10000').split(',').map(Number);
const KEYS = Number(process.env.BENCH_KEYS ?? 100);
/** Runs of each command per size: the median of 3 below 10,000 changes, one run at 10,000 (a minute in all). */
const runsFor = (n) => Number(process.env.BENCH_RUNS ?? (n < 10_000 ? 3 : 1));
const TITLE = 'review the plan';

/** About `n` changes: 10 schemas, tables (half), a select grant per table, 4 roles. */
function config(n) {
  const schemas = 10;
  const tables = Math.max(1, Math.floor((n - schemas - 4) / 2));
  const lines = ['version: 1', 'connections:', '  warehouse: { type: local }', 'schemas:'];
  for (let s = 0; s < schemas; s++) lines.push(`  - name: s${s}`);
  lines.push('roles:');
  for (let r = 0; r < 4; r++) lines.push(`  - name: reader_${r}`, '    type: user');
  lines.push('tables:');
  for (let t = 0; t < tables; t++)
    lines.push(
      `  - schema: s${t % schemas}`,
      `    name: t${t}`,
      '    columns:',
      '      - { name: id, type: bigint, nullable: false }',
      '      - { name: name, type: text }',
    );
  lines.push('grants:');
  for (let t = 0; t < tables; t++)
    lines.push(`  - { to: reader_${t % 4}, privileges: [select], tables: [s${t % schemas}.t${t}] }`);
  return `${lines.join('\n')}\n`;
}

/**
 * Runs `wharf args` on a pty (util-linux `script`), 100x30, colour off. Resolves with the ms
 * until `until` appears in its output (or until it exits when `until` is undefined); then
 * sends `quit` and waits for the exit.
 */
function onPty(cwd, args, { until, quit, extraEnv = {} } = {}) {
  return new Promise((resolve, reject) => {
    const cmd = `stty cols 100 rows 30; exec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} ${args.join(' ')}`;
    const env = { ...process.env, NO_COLOR: '1', TERM: 'xterm-256color', ...extraEnv };
    delete env.CI;
    const t0 = performance.now();
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let ms;
    child.stdout.on('data', (d) => {
      out += d.toString('utf8');
      if (until !== undefined && ms === undefined && out.includes(until)) {
        ms = performance.now() - t0;
        child.stdin.write(quit);
      }
    });
    child.on('error', reject);
    child.on('exit', () => {
      if (until === undefined) ms = performance.now() - t0;
      if (ms === undefined)
        reject(new Error(`wharf ${args.join(' ')} never showed ${until}:\n${out.slice(-2000)}`));
      else resolve({ ms, out });
    });
  });
}

/** Sends `j` KEYS times on a pty running `wharf show plan.json`, timing each answer. */
function redraws(cwd, planFile) {
  return new Promise((resolve, reject) => {
    const cmd = `stty cols 100 rows 30; exec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} show ${planFile}`;
    const env = { ...process.env, NO_COLOR: '1', TERM: 'xterm-256color' };
    delete env.CI;
    const t0 = performance.now();
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let firstMs;
    let sentAt;
    const times = [];
    const next = () => {
      if (times.length >= KEYS) {
        child.stdin.write('q');
        return;
      }
      setTimeout(() => {
        sentAt = performance.now();
        child.stdin.write('j');
      }, 60);
    };
    child.stdout.on('data', (d) => {
      out += d.toString('utf8');
      if (firstMs === undefined) {
        if (out.includes('(read-only)')) {
          firstMs = performance.now() - t0;
          next();
        }
        return;
      }
      if (sentAt !== undefined) {
        times.push(performance.now() - sentAt);
        sentAt = undefined;
        next();
      }
    });
    child.on('error', reject);
    child.on('exit', () =>
      times.length >= KEYS
        ? resolve({ firstMs, times })
        : reject(new Error(`show stopped after ${times.length} keys`)),
    );
  });
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const fmt = (ms) => `${Math.round(ms).toLocaleString('en-US')} ms`;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-bench-review-'));
const { acquireLocalServer } = await import(path.join(ROOT, 'dist', 'providers', 'local', 'local-server.js'));
const server = await acquireLocalServer({ dir: path.join(work, '.wharf', 'local') });
const results = [];
try {
  for (const n of SIZES) {
    fs.writeFileSync(path.join(work, 'wharf.yaml'), config(n));
    const runs = { plain: [], prompt: [], screen: [], show: [], showPlain: [] };
    // Interleaved, so that a busy moment of the machine hits every command alike; medians.
    for (let i = 0; i < runsFor(n); i++) {
      runs.plain.push((await onPty(work, ['plan', '--out', `plan-${n}.json`])).ms);
      runs.prompt.push(
        (await onPty(work, ['apply', '--plain'], { until: 'Only "yes" is accepted', quit: 'no\r' })).ms,
      );
      runs.screen.push((await onPty(work, ['apply'], { until: TITLE, quit: 'q' })).ms);
      runs.show.push((await onPty(work, ['show', `plan-${n}.json`], { until: '(read-only)', quit: 'q' })).ms);
      runs.showPlain.push((await onPty(work, ['show', `plan-${n}.json`, '--plain'])).ms);
    }
    const [plain, prompt, screen, show, showPlain] = Object.values(runs).map((xs) => ({ ms: pct(xs, 0.5) }));
    const changes = JSON.parse(fs.readFileSync(path.join(work, `plan-${n}.json`), 'utf8')).changes.length;
    results.push({
      changes,
      runs: runsFor(n),
      applyFirstScreenMs: Math.round(screen.ms),
      planTextMs: Math.round(plain.ms),
      applyPlainPromptMs: Math.round(prompt.ms),
      ratioVsPlanText: Number((screen.ms / plain.ms).toFixed(2)),
      ratioVsPlainPrompt: Number((screen.ms / prompt.ms).toFixed(2)),
      showFirstScreenMs: Math.round(show.ms),
      showPlainTextMs: Math.round(showPlain.ms),
    });
  }
  const big = SIZES[SIZES.length - 1];
  const moves = await redraws(work, `plan-${big}.json`);
  const redraw = {
    changes: results[results.length - 1].changes,
    keys: moves.times.length,
    medianMs: Number(pct(moves.times, 0.5).toFixed(1)),
    p95Ms: Number(pct(moves.times, 0.95).toFixed(1)),
    maxMs: Number(Math.max(...moves.times).toFixed(1)),
  };
  console.log(
    'wharf apply on a terminal: first drawn screen, against plain output of the same file (same run; medians):',
  );
  for (const r of results) {
    console.log(
      `  ${String(r.changes).padStart(6)} changes: screen ${fmt(r.applyFirstScreenMs)}; wharf plan text ${fmt(r.planTextMs)} (×${r.ratioVsPlanText}); apply --plain prompt ${fmt(r.applyPlainPromptMs)} (×${r.ratioVsPlainPrompt})`,
    );
    console.log(
      `  ${''.padStart(6)}          wharf show plan.json: screen ${fmt(r.showFirstScreenMs)}, --plain text ${fmt(r.showPlainTextMs)} (×${(r.showFirstScreenMs / r.showPlainTextMs).toFixed(2)})`,
    );
  }
  console.log(
    `redraw, j through ${redraw.changes} changes (${redraw.keys} keys): median ${redraw.medianMs} ms, p95 ${redraw.p95Ms} ms, max ${redraw.maxMs} ms per key`,
  );
  fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  fs.writeFileSync(
    path.join(ROOT, 'bench', 'results', 'review-screen.json'),
    `${JSON.stringify({ at: new Date().toISOString(), cpus: os.cpus().length, results, redraw }, null, 2)}\n`,
  );
} finally {
  await server.release();
  fs.rmSync(work, { recursive: true, force: true });
}
