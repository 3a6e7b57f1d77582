// The embedded warehouse, as a newcomer meets it: the real `wharf` executable in a child
// process, `type: local`, nothing started by hand. Data lands in .wharf/ next to the config
// file, a concurrent process reuses the running server, and the last one out stops it.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLocalServer } from '../src/providers/local/local-server.js';

const run = promisify(execFile);
const ROOT = path.join(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'wharf.js');
let work: string;

// bin/wharf.js runs dist/, which the global setup (or npm test's pretest) has built: no test
// compiles while others run the executable.
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-local-'));
  fs.copyFileSync(path.join(ROOT, 'examples', 'quickstart.yaml'), path.join(work, 'quickstart.yaml'));
});
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

async function wharf(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, NO_COLOR: '1', WHARF_LOCAL_PG_BIN: process.env.WHARF_TEST_PG_BIN ?? '' };
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      cwd: work,
      env,
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

function serverPid(): number | null {
  try {
    const pid = Number(
      fs.readFileSync(path.join(work, '.wharf', 'local', 'pgdata', 'postmaster.pid'), 'utf8').split('\n')[0],
    );
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

describe('embedded warehouse (type: local)', () => {
  it('apply from nothing, then plan --detailed-exitcode exits 0, and the server is stopped after each command', async () => {
    const applied = await wharf('apply', '-f', 'quickstart.yaml', '--auto-approve');
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/Apply complete: \d+ done, 0 failed, 0 not run\./);
    expect(fs.existsSync(path.join(work, '.wharf', 'local', 'pgdata', 'PG_VERSION'))).toBe(true);
    expect(serverPid()).toBeNull();

    const plan = await wharf('plan', '-f', 'quickstart.yaml', '--detailed-exitcode');
    expect(plan.stdout).toContain('No changes');
    expect(plan.code).toBe(0);
    expect(serverPid()).toBeNull();
  });

  it('a concurrent process reuses the running server, and the last one out stops it', async () => {
    // This test holds a lease as a "first process" would.
    const held = await acquireLocalServer({
      dir: path.join(work, '.wharf', 'local'),
      binDir: process.env.WHARF_TEST_PG_BIN || undefined,
    });
    const pid = serverPid();
    expect(pid).not.toBeNull();
    const [a, b] = await Promise.all([
      wharf('plan', '-f', 'quickstart.yaml', '--json'),
      wharf('drift', '-f', 'quickstart.yaml'),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(JSON.parse(a.stdout).changes).toEqual([]);
    expect(serverPid()).toBe(pid); // same server, still up: we still hold our lease
    await held.release();
    expect(serverPid()).toBeNull();
  });

  it('validate of the quickstart needs no server at all', async () => {
    const r = await wharf('validate', '-f', 'quickstart.yaml');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('is valid');
    expect(serverPid()).toBeNull();
  });
});
