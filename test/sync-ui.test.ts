// The sync progress display: the ink component renders the lines it is given (running syncs
// with rows, rows/s and elapsed time; finished ones with their summary), and the plain-text
// renderers print the same figures for logs.
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { describe, expect, it } from 'vitest';
import { progressLine, resultLine } from '../src/render/sync-text.js';
import { PLAIN } from '../src/render/text.js';
import { SyncProgressView } from '../src/ui/sync-progress.js';

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
});
