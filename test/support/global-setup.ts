// Runs once per `vitest run`, in the main process, before any test file:
// - builds dist/ when it is missing or older than its sources (the tests that spawn
//   bin/wharf.js need it current; `npm test` has built it already in pretest), so that no
//   test file compiles while others run the executable;
// - makes the folder the shared PostgreSQL servers live in (see support/pg.ts: one server per
//   vitest worker, started by the first test file that needs it), and stops them at the end.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Folder of the shared test servers, one `slot-<VITEST_POOL_ID>` folder per worker. */
    wharfTestPgRoot: string;
  }
}

const ROOT = path.join(import.meta.dirname, '..', '..');
/** Written last by `npm run build`: its age is the build's. */
const BUILT = path.join(ROOT, 'dist', 'config', 'schema-validator.cjs');
const SOURCES = [
  'src',
  'schemas',
  'scripts/build-schema-validator.mjs',
  'tsconfig.json',
  'tsconfig.build.json',
];

function newestMtime(p: string): number {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const e of fs.readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, e)));
  return newest;
}

function buildIfStale(): void {
  // A copy of the repository that links another checkout's dist/ (test/readme-path.test.ts
  // makes one) must not rebuild it: that checkout's tests may be running bin/wharf.js.
  const dist = path.join(ROOT, 'dist');
  if (fs.existsSync(dist) && fs.lstatSync(dist).isSymbolicLink()) return;
  const built = fs.existsSync(BUILT) ? fs.statSync(BUILT).mtimeMs : 0;
  const sources = Math.max(...SOURCES.map((s) => newestMtime(path.join(ROOT, s))));
  if (built >= sources) return;
  const run = (args: string[]) => execFileSync(process.execPath, args, { cwd: ROOT, stdio: 'pipe' });
  try {
    run([path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);
    run([path.join(ROOT, 'scripts', 'build-schema-validator.mjs')]);
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`the build before the tests failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

export default function setup(project: TestProject): () => Promise<void> {
  buildIfStale();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-test-pg-'));
  project.provide('wharfTestPgRoot', root);
  return async () => {
    for (const slot of fs.readdirSync(root)) await stopServer(path.join(root, slot, 'pgdata'));
    fs.rmSync(root, { recursive: true, force: true });
  };
}

/** Fast shutdown of the server of `pgdata`, if one runs: the workers that used it have exited. */
async function stopServer(pgdata: string): Promise<void> {
  let pid = 0;
  try {
    pid = Number(fs.readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return; // never started
  }
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!pid || !alive()) return;
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 15_000;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (alive()) process.kill(pid, 'SIGQUIT');
}
