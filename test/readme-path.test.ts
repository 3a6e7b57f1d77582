// The README's first steps, as a newcomer takes them: in a fresh copy of the repository (the
// tracked files only, with this checkout's node_modules and dist/ linked in, as `npm ci`
// would leave them), the `npx wharf …` commands of "Set up, run, test" run in order with the
// exit codes the README promises; then the test files that read examples/ still pass in that
// copy, with the .wharf/ folder the quickstart left beside the examples.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.join(import.meta.dirname, '..');
const run = promisify(execFile);
let copy: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  copy = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-readme-'));
  const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean);
  for (const f of tracked) {
    const from = path.join(ROOT, f);
    if (!fs.existsSync(from)) continue; // deleted in the working tree, not yet committed
    fs.mkdirSync(path.dirname(path.join(copy, f)), { recursive: true });
    fs.copyFileSync(from, path.join(copy, f));
  }
  fs.symlinkSync(fs.realpathSync(path.join(ROOT, 'node_modules')), path.join(copy, 'node_modules'));
  fs.symlinkSync(path.join(ROOT, 'dist'), path.join(copy, 'dist'));
  // The child vitest must not think it is a worker of this one.
  env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && !k.startsWith('TINYPOOL')),
  );
  env.NO_COLOR = '1';
  env.WHARF_LOCAL_PG_BIN = process.env.WHARF_TEST_PG_BIN ?? '';
}, 120_000);
afterAll(() => {
  fs.rmSync(copy, { recursive: true, force: true });
});

/** The `npx wharf …` lines of the README's first code block, in order. */
function readmeCommands(): string[][] {
  const readme = fs.readFileSync(path.join(copy, 'README.md'), 'utf8');
  const block = /## Set up, run, test[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  return block
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter((l) => l.startsWith('npx wharf '))
    .map((l) => l.slice('npx wharf '.length).split(/\s+/));
}

async function wharf(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/wharf.js', ...args], {
      cwd: copy,
      env,
      timeout: 120_000,
    });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout + err.stderr };
  }
}

describe("the README's path", () => {
  it('apply, plan --detailed-exitcode and sync on the quickstart, then the tests that read examples/', async () => {
    const commands = readmeCommands();
    expect(commands.map((c) => c[0])).toEqual(['apply', 'plan', 'sync']);
    expect(commands[0]).toEqual(['apply', '-f', 'examples/quickstart.yaml', '--auto-approve']);
    expect(commands[1]).toContain('--detailed-exitcode');
    for (const args of commands) {
      const r = await wharf(args);
      expect(r.code, `wharf ${args.join(' ')}\n${r.out}`).toBe(0);
    }
    const state = path.join(copy, 'examples', '.wharf');
    expect(fs.existsSync(path.join(state, 'local', 'pgdata', 'PG_VERSION'))).toBe(true);
    // The quickstart's export left parquet files in its local bucket.
    const files = fs.readdirSync(path.join(state, 'buckets'), { recursive: true }).map(String);
    expect(files.some((f) => f.endsWith('.parquet'))).toBe(true);

    const vitest = path.join(copy, 'node_modules', 'vitest', 'vitest.mjs');
    const tests = await run(
      process.execPath,
      [
        vitest,
        'run',
        'test/invalid-config.test.ts',
        'test/config-parsers.test.ts',
        // The examples' exports and buckets, beside the quickstart's parquet files and bucket.
        'test/export-examples.test.ts',
        'test/bucket-examples-simulator.test.ts',
        'test/cron-drift.test.ts',
      ],
      { cwd: copy, env, timeout: 120_000 },
    ).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );
    expect(tests.code, tests.out).toBe(0);
    expect(tests.out).toMatch(/Test Files +5 passed/);
    expect(fs.existsSync(state)).toBe(true);
  }, 240_000);
});
