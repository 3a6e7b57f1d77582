// Crash safety: the real `wharf sync` executable is killed with SIGKILL while it runs all four
// modes, same engine and across connections: first at deterministic kill points
// (WHARF_TEST_KILL_AT, see src/kill-point.ts), then at random moments. After a kill the
// committed batches and their state agree, a dry run predicts exactly what the completing run
// writes, and the destination then equals the reference computed from the source: no row
// lost, none doubled, deletes applied.
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

/** Runs `wharf sync` with a kill point set; resolves to the signal it ended with. */
function runToKillPoint(file: string, killAt: string): Promise<NodeJS.Signals | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [BIN, 'sync', '-f', file, '--batch-rows', '40', '--lock-timeout', '20s'],
      { stdio: 'ignore', env: { ...process.env, NO_COLOR: '1', WHARF_TEST_KILL_AT: killAt } },
    );
    child.on('error', reject);
    child.on('exit', (_code, signal) => resolve(signal));
  });
}

describe.each([
  // Same engine: each sync is one transaction, so the kill comes after whole syncs.
  ['same engine', false, 'after-commit-before-state:1', ['events']],
  ['same engine', false, 'after-batch:2', ['events', 'users']],
  // Across connections: batches of about 40 rows, each committed with its watermark.
  ['across connections', true, 'after-commit-before-state:3', ['events']],
  ['across connections', true, 'after-batch:2', ['events']],
] as const)('SIGKILL at a kill point (%s, %s)', (_label, cross, killAt, committed) => {
  it('the committed batches and their state agree; a dry run says exactly what the next run writes', async () => {
    const f = await syncFixture(server, cross);
    try {
      await f.src.query(SOURCE_DDL);
      await f.dst.query(DEST_DDL);
      const loaded = f.config(ALL_SYNCS);
      const w = new SourceWriter(f.src, rng(cross ? 303 : 404));
      await w.round(300);
      await w.flush();
      expect(await runToKillPoint(f.file, killAt)).toBe('SIGKILL');
      // What committed: the syncs before the kill point, each with its state row.
      const state = await f.dst.query<{ name: string; rows_loaded: string }>(
        'SELECT name, rows_loaded FROM wharf_state.sync_state ORDER BY name',
      );
      expect(state.rows.map((r) => r.name)).toEqual([...committed].sort());
      // An append writes only inserts: the rows in the destination are the rows the state counts.
      const events = Number((await f.dst.query('SELECT count(*) AS n FROM analytics.events')).rows[0].n);
      expect(events).toBe(Number(state.rows.find((r) => r.name === 'events')!.rows_loaded));
      const sourceEvents = Number((await f.src.query('SELECT count(*) AS n FROM raw.events')).rows[0].n);
      if (cross) expect(events).toBeLessThan(sourceEvents);
      else expect(events).toBe(sourceEvents);
      // What remains: a dry run's counts are exactly what the completing run writes.
      const dry = await runSyncs(loaded, { batchRows: 40, dryRun: true });
      const done = await runSyncs(loaded, { batchRows: 40, lockTimeoutMs: 20_000 });
      expect(done.syncs.map((s) => [s.name, s.status, s.error])).toEqual(
        ['events', 'users', 'cart', 'users_full'].map((n) => [n, 'ok', undefined]),
      );
      expect(done.syncs.map((s) => [s.name, s.rows])).toEqual(dry.syncs.map((s) => [s.name, s.rows]));
      expect(done.syncs.find((s) => s.name === 'cart')!.rows.inserted).toBeGreaterThan(0);
      for (const n of ['events', 'users', 'cart', 'users_full'] as const)
        expect({ n, rows: await rowsOf(f.dst, DESTINATION[n]) }).toEqual({
          n,
          rows: await rowsOf(f.src, REFERENCE[n]),
        });
    } finally {
      await f.close();
    }
  }, 60_000);
});

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
