// `wharf sync` on Redshift through the real executable: the AWS SDK client inside it talks to
// the loopback fake Data API (statements on a real PostgreSQL behind the Redshift emulator).
// The executable is killed with SIGKILL at random moments and at deterministic kill points; a
// batch already submitted runs to its end on the warehouse (as on Redshift), one not yet
// submitted never starts, and either way the next run ends exactly at the reference: nothing
// lost, nothing doubled.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DescribeStatementCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../src/config/load.js';
import type { LoadedConfig } from '../src/config/types.js';
import { runSyncs } from '../src/sync/run.js';
import { startTestServer, type TestServer } from './support/pg.js';
import { type RedshiftHarness, startRedshiftHarness } from './support/redshift-harness.js';
import {
  ALL_SYNCS,
  DEST_DDL,
  DESTINATION,
  REFERENCE,
  rng,
  rowsOf,
  SOURCE_DDL,
  SourceWriter,
} from './support/sync-data.js';

const BIN = path.join(import.meta.dirname, '..', 'bin', 'wharf.js');
const TRIALS = 8;
// The fake answers any credentials; the SDK only needs some to sign with.
const ENV = {
  NO_COLOR: '1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_REGION: 'us-east-1',
};

/** The test runner turns the AWS SDK's Node-version notice off; the executable must do it itself. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...ENV };
  delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
  return env;
}

let server: TestServer;
let harness: RedshiftHarness;
let db: pg.Client;
let data: pg.Client;
let dir: string;
let file: string;
let crossFile: string;
let pgSrc: pg.Client;

beforeAll(async () => {
  server = await startTestServer();
  const name = await server.createDatabase('rscli');
  db = await server.client(name);
  data = await server.client(name);
  harness = await startRedshiftHarness(db);
  await data.query(SOURCE_DDL);
  await data.query(DEST_DDL);
  const srcDb = await server.createDatabase('pgsrc');
  pgSrc = await server.client(srcDb);
  await pgSrc.query(SOURCE_DDL);
  await data.query(
    DEST_DDL.replace(/analytics\./g, 'analytics2.').replace(
      'SCHEMA IF NOT EXISTS analytics',
      'SCHEMA analytics2',
    ),
  );
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-rscli-'));
  crossFile = path.join(dir, 'cross.yaml');
  fs.writeFileSync(
    crossFile,
    `version: 1
connections:
  app: { type: postgres, url: "${server.urlFor(srcDb)}" }
  warehouse: { type: redshift, cluster: analytics, database: dev, dbUser: wharf, endpoint: "${harness.fake.endpoint}" }
defaultConnection: warehouse
syncs:
${ALL_SYNCS.replace(/\$FROM/g, 'connection: app, ')
  .replace(/analytics\./g, 'analytics2.')
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
`,
  );
  file = path.join(dir, 'wharf.yaml');
  fs.writeFileSync(
    file,
    `version: 1
connections:
  warehouse: { type: redshift, cluster: analytics, database: dev, dbUser: wharf, endpoint: "${harness.fake.endpoint}" }
syncs:
${ALL_SYNCS.replace(/\$FROM/g, '')
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
`,
  );
});
afterAll(async () => {
  await harness?.close();
  await data?.end();
  await pgSrc?.end();
  await db?.end();
  await server?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function wharf(
  args: string[],
  killAfterMs?: number,
): Promise<{ code: number | null; killed: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: childEnv(),
    });
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (killAfterMs !== undefined && !timer && stdout.includes('started'))
        timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, killed: signal === 'SIGKILL', stdout, stderr });
    });
  });
}

async function expectReference() {
  for (const n of ['events', 'users', 'cart', 'users_full'] as const)
    expect({ n, rows: await rowsOf(data, DESTINATION[n]) }).toEqual({
      n,
      rows: await rowsOf(data, REFERENCE[n]),
    });
}

describe('wharf sync on Redshift (the real executable, emulated Data API)', () => {
  it(`${TRIALS} killed runs, each followed by a complete run, leave the destination equal to the reference`, async () => {
    const rand = rng(31);
    const w = new SourceWriter(data, rand);
    let killed = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      await w.round(30);
      const r = await wharf(['sync', '-f', file], Math.floor(rand() * 400));
      if (r.killed) killed++;
      else expect(r.code, r.stderr).toBe(0);
      await w.round(10);
      if (trial === TRIALS - 1) await w.flush();
      const done = await wharf(['sync', '-f', file, '--json']);
      expect(done.code, done.stderr).toBe(0);
      // Nothing on stderr: not even the AWS SDK's notice about future Node versions.
      expect(done.stderr).toBe('');
      const json = JSON.parse(done.stdout);
      expect(json.syncs.map((s: { name: string; status: string }) => [s.name, s.status])).toEqual([
        ['events', 'ok'],
        ['users', 'ok'],
        ['cart', 'ok'],
        ['users_full', 'ok'],
      ]);
      for (const s of json.syncs)
        expect(Object.keys(s.rows).sort()).toEqual(['deleted', 'inserted', 'updated']);
      if (trial === TRIALS - 1) await expectReference();
      else
        for (const n of ['events', 'users', 'users_full'] as const)
          expect({ trial, n, rows: await rowsOf(data, DESTINATION[n]) }).toEqual({
            trial,
            n,
            rows: await rowsOf(data, REFERENCE[n]),
          });
    }
    // Most trials must have been cut short, or the test proves little.
    expect(killed).toBeGreaterThanOrEqual(TRIALS / 2);
  });

  it('from PostgreSQL into Redshift, 5 runs killed between batches leave nothing lost or doubled', async () => {
    const rand = rng(37);
    const w = new SourceWriter(pgSrc, rand);
    const dest = (n: keyof typeof DESTINATION) => DESTINATION[n].replace(/analytics\./g, 'analytics2.');
    let killed = 0;
    for (let trial = 0; trial < 5; trial++) {
      await w.round(40);
      const r = await wharf(['sync', '-f', crossFile, '--batch-rows', '12'], Math.floor(rand() * 600));
      if (r.killed) killed++;
      else expect(r.code, r.stdout + r.stderr).toBe(0);
      await w.round(10);
      if (trial === 4) await w.flush();
      const done = await wharf(['sync', '-f', crossFile, '--batch-rows', '12']);
      expect(done.code, done.stderr).toBe(0);
      const names =
        trial === 4
          ? (['events', 'users', 'cart', 'users_full'] as const)
          : (['events', 'users', 'users_full'] as const);
      for (const n of names)
        expect({ trial, n, rows: await rowsOf(data, dest(n)) }).toEqual({
          trial,
          n,
          rows: await rowsOf(pgSrc, REFERENCE[n]),
        });
    }
    expect(killed).toBeGreaterThanOrEqual(3);
  });
});

// Deterministic kill points (WHARF_TEST_KILL_AT, src/kill-point.ts) on a database of their own.
describe('wharf sync on Redshift killed at a kill point', () => {
  let kdb: pg.Client;
  let kdata: pg.Client;
  let kh: RedshiftHarness;
  let kfile: string;
  beforeAll(async () => {
    const name = await server.createDatabase('rskill');
    kdb = await server.client(name);
    kdata = await server.client(name);
    kh = await startRedshiftHarness(kdb);
    await kdata.query(SOURCE_DDL);
    await kdata.query(DEST_DDL);
    kfile = path.join(dir, 'kill.yaml');
    fs.writeFileSync(kfile, fs.readFileSync(file, 'utf8').replace(harness.fake.endpoint, kh.fake.endpoint));
  });
  afterAll(async () => {
    await kh?.close();
    await kdata?.end();
    await kdb?.end();
  });

  function killedAt(killAt: string): Promise<NodeJS.Signals | null> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, 'sync', '-f', kfile], {
        stdio: 'ignore',
        env: { ...childEnv(), WHARF_TEST_KILL_AT: killAt },
      });
      child.on('error', reject);
      child.on('exit', (_code, signal) => resolve(signal));
    });
  }

  const stateOf = async (name: string) =>
    (
      await kdata.query<{ run_id: string; rows_loaded: string }>(
        "SELECT run_id, rows_loaded FROM wharf_state.sync_state WHERE name = $1 AND to_regclass('wharf_state.sync_state') IS NOT NULL",
        [name],
      )
    ).rows[0];

  /** A dry run's counts are exactly what the completing run writes; then the reference holds. */
  async function completes(loaded: LoadedConfig) {
    const dry = await runSyncs(loaded, { open: kh.open, dryRun: true });
    const done = await runSyncs(loaded, { open: kh.open });
    expect(done.syncs.map((s) => [s.name, s.status, s.error])).toEqual(
      ['events', 'users', 'cart', 'users_full'].map((n) => [n, 'ok', undefined]),
    );
    expect(done.syncs.map((s) => [s.name, s.rows])).toEqual(dry.syncs.map((s) => [s.name, s.rows]));
    for (const n of ['events', 'users', 'users_full'] as const)
      expect({ n, rows: await rowsOf(kdata, DESTINATION[n]) }).toEqual({
        n,
        rows: await rowsOf(kdata, REFERENCE[n]),
      });
  }

  it('killed right after submitting a run, the batch still commits on the warehouse; killed after a batch, nothing is lost', async () => {
    const loaded = loadConfigText(fs.readFileSync(kfile, 'utf8'), kfile).loaded!;
    const w = new SourceWriter(kdata, rng(41));
    await w.round(30);
    // The first run makes the state table; the kill points below then count from a known start.
    expect((await runSyncs(loaded, { open: kh.open })).ok).toBe(true);
    await w.round(30);

    // Batches of a run: the catalog read (1), then the run of `events` (2), which the warehouse
    // holds open before its commit; wharf is killed as soon as it has submitted it.
    const running = kh.fake.pauseBeforeCommit(/^LOCK wharf_state\.sync_state$/);
    const before = await stateOf('events');
    expect(await killedAt('after-submit:2')).toBe('SIGKILL');
    const id = await running.reached;
    // Its client is gone and it still runs (holding the state table's lock, so nobody reads
    // the state meanwhile); it then commits.
    const sdk = new RedshiftDataClient({
      endpoint: kh.fake.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const polled = await sdk.send(new DescribeStatementCommand({ Id: id }));
    sdk.destroy();
    expect(polled.Status).toBe('STARTED');
    expect(polled.SubStatements?.[0]?.QueryString).toBe('LOCK wharf_state.sync_state');
    running.release();
    await kh.fake.settled();
    const after = await stateOf('events');
    expect(after!.run_id).not.toBe(before!.run_id);
    expect(Number(after!.rows_loaded)).toBeGreaterThan(Number(before!.rows_loaded));
    await completes(loaded);

    // Killed once the second sync's run committed: those two are done, the others are not.
    await w.round(30);
    await w.flush();
    const users = await stateOf('users');
    const cart = await stateOf('cart');
    expect(await killedAt('after-batch:2')).toBe('SIGKILL');
    expect((await stateOf('users'))!.run_id).not.toBe(users!.run_id);
    expect(await stateOf('cart')).toEqual(cart);
    await completes(loaded);
  });
});
