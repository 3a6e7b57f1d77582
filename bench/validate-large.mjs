// Benchmark: `wharf validate` on 5 MB files, one valid and three with an error of a different
// kind: an unclosed flow sequence (a syntax error at the very end), 50,000 unknown keys (50,000
// diagnostics to position; 100 are printed, then a count) and a type error in the last table.
// Each runs the real executable (`node bin/wharf.js validate -f FILE`) in a fresh process, so
// the figures include Node start-up; the ratio compares each error file against the valid one
// measured in the same run on the same machine. Target: every file under 2 s.
// Not a test: it prints figures and writes bench/results/validate-large.json.
// Run with `npm run bench:validate` (builds first). BENCH_RUNS=N takes the median of N runs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'wharf.js');
const SIZE = 5 * 1024 * 1024;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TARGET_MS = 2000;

/** Tables until the file reaches `size` bytes. */
function tables(size) {
  const parts = ['version: 1\nschemas:\n  - name: analytics\ntables:\n'];
  let length = parts[0].length;
  for (let i = 0; length < size; i++) {
    const t = `  - schema: analytics\n    name: t${i}\n    columns:\n      - { name: id, type: bigint, nullable: false }\n      - { name: updated_at, type: timestamp }\n`;
    parts.push(t);
    length += t.length;
  }
  return parts.join('');
}

function unknownKeys(n) {
  const parts = ['version: 1\nschemas:\n  - name: analytics\n'];
  for (let i = 0; i < n; i++)
    parts.push(`    unknown_key_${String(i).padStart(6, '0')}: ${'x'.repeat(80)}\n`);
  return parts.join('');
}

const valid = tables(SIZE);
const files = {
  valid,
  'unclosed flow sequence': `${valid}  - schema: analytics\n    name: broken\n    columns: [ { name: id, type: bigint },\n`,
  '50,000 unknown keys': unknownKeys(50_000),
  'late type error': `${valid}  - schema: analytics\n    name: late\n    columns:\n      - { name: id, type: bigint, nullable: maybe }\n`,
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-bench-validate-'));
const results = [];
try {
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
    fs.writeFileSync(file, text);
    const times = [];
    let last;
    for (let r = 0; r < RUNS; r++) {
      const t0 = performance.now();
      last = spawnSync(process.execPath, [BIN, 'validate', '-f', file], {
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      });
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const ms = times[Math.floor(times.length / 2)];
    const lines = last.stderr.trimEnd().split('\n');
    const expectedCode = name === 'valid' ? 0 : 1;
    if (last.status !== expectedCode)
      throw new Error(
        `${name}: exit ${last.status}, expected ${expectedCode}\n${last.stderr.slice(0, 2000)}`,
      );
    results.push({
      file: name,
      bytes: Buffer.byteLength(text),
      ms: Math.round(ms),
      exit: last.status,
      stderrLines: last.stderr ? lines.length : 0,
      firstLine: (name === 'valid' ? last.stdout : lines[0]).split(file).join('<file>').trim().slice(0, 120),
    });
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

const base = results[0].ms;
console.log(
  `wharf validate on ${(SIZE / 1024 / 1024).toFixed(0)} MB files (median of ${RUNS} runs, fresh process each):\n`,
);
for (const r of results) {
  const ratio = (r.ms / base).toFixed(2);
  const verdict = r.ms < TARGET_MS ? 'ok' : 'OVER TARGET';
  console.log(
    `  ${r.file.padEnd(24)} ${(r.bytes / 1024 / 1024).toFixed(2)} MB  ${String(r.ms).padStart(6)} ms  ${ratio.padStart(5)}x valid  ${String(r.stderrLines).padStart(4)} stderr lines  ${verdict}`,
  );
  console.log(`      ${r.firstLine}`);
}
const outDir = path.join(ROOT, 'bench', 'results');
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(
  path.join(outDir, 'validate-large.json'),
  `${JSON.stringify({ node: process.version, cpus: os.cpus().length, runs: RUNS, targetMs: TARGET_MS, results }, null, 2)}\n`,
);
