// Crash safety: the real `wharf sync` executable is killed with SIGKILL at random moments
// while it runs all four modes, same engine and across connections. After each kill the
// source changes again and a run to completion follows; the destination must then equal the
// reference computed from the source: no row lost, none doubled, deletes applied.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSyncs } from '../src/sync/run.js';
import { startTestServer, type TestServer } from './support/pg.js';
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
import { syncFixture } from './support/sync-fixture.js';

const BIN = path.join(import.meta.dirname, '..', 'bin', 'wharf.js');
const TRIALS = 12; // per topology: 24 in all

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

/**
 * Starts `wharf sync` and kills it with SIGKILL `afterMs` after it reports its first sync as
 * started (node's start-up is not the interesting part); resolves to how it ended.
 */
function killedRun(file: string, afterMs: number): Promise<'killed' | 'finished'> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [BIN, 'sync', '-f', file, '--batch-rows', '40', '--lock-timeout', '20s'],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => {
      if (!timer && d.toString().includes('started'))
        timer = setTimeout(() => child.kill('SIGKILL'), afterMs);
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      resolve(signal === 'SIGKILL' ? 'killed' : 'finished');
    });
  });
}

describe.each([
  ['same engine', false],
  ['across connections', true],
])('SIGKILL at random moments (%s)', (_label, cross) => {
  it(`${TRIALS} killed runs, each followed by a complete run, leave the destination equal to the reference`, async () => {
    const f = await syncFixture(server, cross);
    try {
      await f.src.query(SOURCE_DDL);
      await f.dst.query(DEST_DDL);
      const loaded = f.config(ALL_SYNCS);
      const rand = rng(cross ? 101 : 202);
      const w = new SourceWriter(f.src, rand);
      let killed = 0;
      let killedMidway = 0; // killed after the run had committed something
      const loadedSoFar = async () =>
        Number(
          (
            await f.dst
              .query<{ n: string }>(
                "SELECT coalesce(sum(rows_loaded), 0) AS n FROM wharf_state.sync_state WHERE to_regclass('wharf_state.sync_state') IS NOT NULL",
              )
              .catch(() => ({ rows: [{ n: '0' }] }))
          ).rows[0]!.n,
        );
      for (let trial = 0; trial < TRIALS; trial++) {
        await w.round(300);
        await w.flush();
        const delay = Math.floor(rand() * (cross ? 900 : 500));
        const before = await loadedSoFar();
        if ((await killedRun(f.file, delay)) === 'killed') {
          killed++;
          if ((await loadedSoFar()) > before) killedMidway++;
        }
        await w.round(40);
        await w.flush();
        const res = await runSyncs(loaded, { batchRows: 40, lockTimeoutMs: 20_000 });
        expect(res.syncs.filter((s) => s.status !== 'ok').map((s) => s.error)).toEqual([]);
        for (const n of ['events', 'users', 'cart', 'users_full'] as const) {
          const want = await rowsOf(f.src, REFERENCE[n]);
          const got = await rowsOf(f.dst, DESTINATION[n]);
          expect({
            trial,
            n,
            delay,
            missing: want.filter((r) => !got.includes(r)).length,
            count: got.length,
          }).toEqual({
            trial,
            n,
            delay,
            missing: 0,
            count: want.length,
          });
          expect(got).toEqual(want);
        }
      }
      // Most trials must really have been killed mid-run for this to prove anything.
      expect(killed).toBeGreaterThanOrEqual(TRIALS / 2);
      expect(killedMidway).toBeGreaterThanOrEqual(3);
    } finally {
      await f.close();
    }
  }, 180_000);
});
