// `wharf sync` on Redshift through the real executable: the AWS SDK client inside it talks to
// the loopback fake Data API (statements on a real PostgreSQL behind the Redshift emulator).
// The executable is killed with SIGKILL at random moments; a batch already submitted runs to
// its end on the warehouse (as on Redshift), one not yet submitted never starts, and either
// way the next run ends exactly at the reference: nothing lost, nothing doubled.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
