// The sync progress display: the ink component renders the lines it is given (running syncs:
// inside one engine the time they have run, streamed the rows, rows/s and a bar when the
// source estimated the rows; finished ones with their summary), and the plain-text renderers
// print the same figures for logs. Real runs on a real server feed the hooks: a sync inside
// one database is announced as such, one across connections with the source's estimate.
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plainProgress } from '../src/cli/sync-command.js';
import { progressBar, progressLine, resultLine } from '../src/render/sync-text.js';
import { PLAIN } from '../src/render/text.js';
import { runSyncs, type SyncRoute } from '../src/sync/run.js';
import { SyncProgressView } from '../src/ui/sync-progress.js';
import { startTestServer, type TestServer } from './support/pg.js';
import { withSyncFixture } from './support/sync-fixture.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('sync progress', () => {
  it('ink: a running sync shows rows, rows/s and elapsed; a finished one its summary', () => {
    const { lastFrame, rerender } = render(
      createElement(SyncProgressView, {
        lines: [
          { name: 'events', mode: 'append', rows: 12_000, startedAt: 0, summary: undefined },
          {
            name: 'users',
            mode: 'merge',
            rows: 0,
            startedAt: 0,
            summary: 'sync users (merge): ok, 3 inserted',
          },
        ],
        now: 4000,
      }),
    );
    expect(lastFrame()).toContain('sync events: 12,000 rows read, 3,000 rows/s, 4.0 s');
    expect(lastFrame()).toContain('sync users (merge): ok, 3 inserted');
    rerender(
      createElement(SyncProgressView, {
        lines: [
          {
            name: 'events',
            mode: 'append',
            rows: 0,
            startedAt: 0,
            summary: 'sync events (append): failed: boom',
            failed: true,
          },
        ],
        now: 5000,
      }),
    );
    expect(lastFrame()).toContain('failed: boom');
  });

  it('plain: progress and summary lines', () => {
    expect(progressLine('events', 1500, 500)).toBe('sync events: 1,500 rows read, 3,000 rows/s, 500 ms');
    expect(
      resultLine(
        {
          name: 'cart',
          mode: 'cdc',
          status: 'ok',
          rows: { inserted: 2, updated: 1, deleted: 4 },
          read: 9,
          durationMs: 1234,
        },
        PLAIN,
      ),
    ).toBe('sync cart (cdc): ok, 2 inserted, 1 updated, 4 deleted (9 read) in 1.2 s');
  });

  it('a sync inside one engine shows the time it has run, not rows; a streamed one a bar while the estimate holds', () => {
    expect(progressLine('users', 0, 4000, { pushDown: true })).toBe(
      'sync users: running inside the database, 4.0 s',
    );
    expect(progressLine('users', 0, 120)).toBe('sync users: starting, 120 ms');
    expect(progressLine('events', 6000, 2000, { pushDown: false, estimatedRows: 24_000 })).toBe(
      'sync events: [█████░░░░░░░░░░░░░░░] 25% 6,000 of ~24,000 rows, 3,000 rows/s, 2.0 s',
    );
    expect(progressLine('events', 24_000, 2000, { pushDown: false, estimatedRows: 24_000 })).toContain(
      `${progressBar(1)} 100% 24,000 of ~24,000 rows`,
    );
    // An estimate the run has outgrown is dropped rather than shown above 100%.
    expect(progressLine('events', 30_000, 2000, { pushDown: false, estimatedRows: 24_000 })).toBe(
      'sync events: 30,000 rows read, 15,000 rows/s, 2.0 s',
    );
    expect(progressLine('events', 10, 1000, { pushDown: false })).toBe(
      'sync events: 10 rows read, 10 rows/s, 1.0 s',
    );
    const { lastFrame } = render(
      createElement(SyncProgressView, {
        lines: [
          { name: 'users', mode: 'merge', rows: 0, startedAt: 0, route: { pushDown: true } },
          {
            name: 'events',
            mode: 'append',
            rows: 500,
            startedAt: 0,
            route: { pushDown: false, estimatedRows: 1000 },
          },
        ],
        now: 2500,
      }),
    );
    expect(lastFrame()).toContain('sync users: running inside the database, 2.5 s');
    expect(lastFrame()).toContain(
      'sync events: [██████████░░░░░░░░░░] 50% 500 of ~1,000 rows, 200 rows/s, 2.5 s',
    );
    expect(lastFrame()).not.toContain('rows read');
  });
});

/** A stream that keeps what is written to it. */
function sink(): NodeJS.WritableStream & { text: string } {
  const out = {
    text: '',
    write(s: string) {
      out.text += s;
      return true;
    },
  };
  return out as unknown as NodeJS.WritableStream & { text: string };
}

describe('progress from real runs', () => {
  it.each([
    ['inside one database', false],
    ['across connections', true],
  ])('%s', async (_label, cross) => {
    await withSyncFixture(server, cross, async (f) => {
      await f.src.query(
        `INSERT INTO raw.users SELECT g, 'u' || g, 'free', timestamp '2026-01-01' + g * interval '1 second'
           FROM generate_series(1, 3000) g`,
      );
      await f.src.query('ANALYZE raw.users');
      // The source query takes a while, so that the plain output has time to speak.
      const loaded = f.config(`- name: users
  from: { $FROMquery: "SELECT u.* FROM raw.users u CROSS JOIN LATERAL (SELECT pg_sleep(0.4)) z" }
  to: { table: analytics.users }
  mode: merge
  primaryKey: [user_id]
  cursor: { column: updated_at }`);
      const routes: SyncRoute[] = [];
      const progress: number[] = [];
      const out = sink();
      const plain = plainProgress(out, PLAIN, 100);
      try {
        const res = await runSyncs(loaded, {
          batchRows: 1000,
          hooks: {
            ...plain.hooks,
            onRoute(name, route) {
              routes.push(route);
              plain.hooks.onRoute?.(name, route);
            },
            onProgress(name, rows) {
              progress.push(rows);
              plain.hooks.onProgress?.(name, rows);
            },
          },
        });
        expect(res.ok).toBe(true);
      } finally {
        plain.done();
      }
      const lines = out.text.trim().split('\n');
      expect(lines[0]).toBe('sync users (merge): started');
      expect(lines.at(-1)).toMatch(
        /^sync users \(merge\): ok, 3,000 inserted, 0 updated, 0 deleted \(3,000 read\) in /,
      );
      const middle = lines.slice(1, -1);
      expect(middle.length).toBeGreaterThan(0);
      if (!cross) {
        expect(routes).toEqual([{ pushDown: true }]);
        // Describing the source (before the route is known) may take a line of its own.
        const running = middle.filter((l) => !/^sync users: starting, /.test(l));
        expect(running.length).toBeGreaterThan(0);
        for (const l of running) expect(l).toMatch(/^sync users: running inside the database, \d/);
      } else {
        expect(routes).toHaveLength(1);
        expect(routes[0]!.pushDown).toBe(false);
        // The planner's estimate of the rows read: the table's 3,000 (as analyzed).
        expect(routes[0]!.estimatedRows).toBeGreaterThan(1500);
        expect(routes[0]!.estimatedRows).toBeLessThan(6000);
        expect(progress).toEqual([1000, 2000, 3000]);
        const running = middle.filter((l) => !/^sync users: starting, /.test(l));
        for (const l of running)
          expect(l).toMatch(
            /^sync users: (\[[█░]{20}\] \d+% [\d,]+ of ~[\d,]+ rows|[\d,]+ rows read), [\d,]+ rows\/s, /,
          );
        expect(running.some((l) => /\] \d+% [\d,]+ of ~[\d,]+ rows/.test(l))).toBe(true);
      }
    });
  });
});
