// Signals, with the real executable and the embedded warehouse (`type: local`): closing the
// terminal while apply waits at its prompt (SIGHUP), and a kill in the middle of apply's
// changes (SIGTERM). Either way the embedded server stops when no other wharf process uses
// it, the lease is let go, the exit code says which signal it was, and nothing is half
// applied: a change either committed whole or left no trace, so a re-plan shows exactly the
// changes that did not run.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.join(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'wharf.js');
// Enough changes for several of apply's batched round trips (at most 500 changes each), so a signal
// can land between two of them.
const TABLES = 1400;
let work: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-signals-'));
  const lines = [
    'version: 1',
    'connections:',
    '  warehouse: { type: local }',
    'schemas:',
    '  - name: analytics',
  ];
  lines.push('tables:');
  for (let i = 0; i < TABLES; i++)
    lines.push(
      `  - { schema: analytics, name: t${i}, columns: [{ name: id, type: bigint }], comment: table ${i} }`,
    );
  fs.writeFileSync(path.join(work, 'wharf.yaml'), `${lines.join('\n')}\n`);
  env = { ...process.env, NO_COLOR: '1', WHARF_LOCAL_PG_BIN: process.env.WHARF_TEST_PG_BIN ?? '' };
});
afterAll(() => {
  // Should a test fail half-way, no server is left behind.
  const pid = postmasterPid();
  if (pid && alive(pid)) process.kill(pid, 'SIGINT');
  fs.rmSync(work, { recursive: true, force: true });
});

const LOCAL = () => path.join(work, '.wharf', 'local');

function postmasterPid(): number | null {
  try {
    return (
      Number(fs.readFileSync(path.join(LOCAL(), 'pgdata', 'postmaster.pid'), 'utf8').split('\n')[0]) || null
    );
  } catch {
    return null;
  }
}

function postmasterPort(): number {
  return Number(fs.readFileSync(path.join(LOCAL(), 'pgdata', 'postmaster.pid'), 'utf8').split('\n')[3]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function leases(): string[] {
  try {
    return fs.readdirSync(path.join(LOCAL(), 'leases'));
  } catch {
    return [];
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/**
 * `wharf apply` in a pseudo-terminal (util-linux script), so that apply asks instead of refusing:
 * at the plain prompt (`--plain`), or on the review screen (`screen`, with CI unset).
 */
function applyOnTerminal(screen = false): Running {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = `${q(process.execPath)} ${q(BIN)} apply${screen ? '' : ' --plain'}`;
  return start('script', ['-qefc', screen ? `env -u CI ${command}` : command, '/dev/null']);
}

interface Running {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

function start(cmd: string, args: string[]): Running {
  const child = spawn(cmd, args, { cwd: work, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, exited };
}

async function until(what: string, cond: () => boolean, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function plannedChanges(): Promise<{ action: string }[]> {
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'plan', '--json'], {
    cwd: work,
    env,
    maxBuffer: 256 * 1024 * 1024,
  });
  return JSON.parse(stdout).changes;
}

describe('signals stop the embedded warehouse', () => {
  it('SIGHUP (the terminal closed) at the apply prompt: server stopped, lease gone, nothing changed, exit 129', async () => {
    const run = applyOnTerminal();
    await until('the prompt', () => run.out().includes('Only "yes" is accepted'));
    const [lease] = leases();
    expect(lease).toBeDefined();
    const wharfPid = Number(lease);
    const server = postmasterPid();
    expect(server && alive(server)).toBe(true);
    const port = postmasterPort();
    expect(await accepts(port)).toBe(true);

    process.kill(wharfPid, 'SIGHUP');
    const code = await run.exited;
    expect(code, run.out()).toBe(129);
    expect(run.out()).toContain('wharf: stopped by SIGHUP; nothing was changed.');
    await until('the server to stop', () => !alive(server!), 20_000);
    expect(await accepts(port)).toBe(false);
    expect(leases()).toEqual([]);

    const changes = await plannedChanges();
    expect(changes).toHaveLength(TABLES + 1);
  }, 180_000);

  /** Ctrl-C once `shown` is on the terminal: exit 130, nothing changed, the server stopped. */
  async function ctrlC(screen: boolean, shown: string): Promise<string> {
    const run = applyOnTerminal(screen);
    await until(shown, () => run.out().includes(shown));
    const server = postmasterPid();
    expect(server && alive(server)).toBe(true);
    run.child.stdin!.write('\x03');
    const code = await run.exited;
    expect(code, run.out()).toBe(130);
    expect(run.out()).toContain('wharf: stopped by SIGINT; nothing was changed.');
    await until('the server to stop', () => !alive(server!), 20_000);
    expect(leases()).toEqual([]);
    return run.out();
  }

  it('Ctrl-C at the apply prompt (a key on a terminal, SIGINT for wharf): server stopped, exit 130', async () => {
    await ctrlC(false, 'Only "yes" is accepted');
  }, 180_000);

  it('Ctrl-C on the review screen: the terminal is given back, server stopped, nothing changed, exit 130', async () => {
    const out = await ctrlC(true, 'review the plan');
    // The alternate screen was left.
    expect(out).toContain('\u001b[?1049l');
    expect(await plannedChanges()).toHaveLength(TABLES + 1);
  }, 180_000);

  it('SIGTERM while apply runs its changes: the change in progress finishes, the rest do not start, exit 143', async () => {
    const run = start(process.execPath, [BIN, 'apply', '--auto-approve']);
    await until('the first change', () => /\[1\/\d+\] /.test(run.out()));
    const server = postmasterPid();
    expect(server && alive(server)).toBe(true);
    const port = postmasterPort();
    run.child.kill('SIGTERM');
    const code = await run.exited;
    const out = run.out();
    expect(code, out).toBe(143);
    const done = [...out.matchAll(/^\[\d+\/\d+\] .*: done$/gm)].length;
    expect(out).toContain(
      `apply stopped by SIGTERM: ${done} of ${TABLES + 1} change(s) done, the rest not run`,
    );
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(TABLES + 1);
    await until('the server to stop', () => !alive(server!), 20_000);
    expect(await accepts(port)).toBe(false);
    expect(leases()).toEqual([]);

    // Nothing half applied: what did not run is still a whole create (a table created without
    // its comment would show as an update).
    const changes = await plannedChanges();
    expect(changes).toHaveLength(TABLES + 1 - done);
    expect(new Set(changes.map((c) => c.action))).toEqual(new Set(['create']));
  }, 180_000);
});
