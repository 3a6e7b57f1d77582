// The ink progress display of `wharf sync` on a terminal: one line per sync, redrawn in place
// while it runs (inside one engine: the time it has run; streamed: rows read, rows/s and, when
// the source estimated the rows, a bar with a percentage), then its summary with the counts. The component only
// renders the data it is given; `inkSyncProgress` feeds it from the runner's hooks.
import { Box, render, Text } from 'ink';
import { createElement as h, type ReactElement } from 'react';
import { progressLine, resultLine } from '../render/sync-text.js';
import type { Style } from '../render/text.js';
import type { SyncHooks, SyncRoute } from '../sync/run.js';

export interface SyncLine {
  name: string;
  mode: string;
  /** Set when the sync has ended: its summary line. */
  summary?: string;
  failed?: boolean;
  rows: number;
  startedAt: number;
  /** How the rows move, once the runner knows. */
  route?: SyncRoute;
}

export function SyncProgressView(props: { lines: SyncLine[]; now: number }): ReactElement {
  return h(
    Box,
    { flexDirection: 'column' },
    ...props.lines.map((l) =>
      l.summary !== undefined
        ? h(Text, { key: l.name, color: l.failed ? 'red' : undefined }, l.summary)
        : h(
            Text,
            { key: l.name },
            h(Text, { color: 'cyan' }, '⠿ '),
            progressLine(l.name, l.rows, props.now - l.startedAt, l.route),
          ),
    ),
  );
}

export function inkSyncProgress(
  stdout: NodeJS.WritableStream,
  style: Style,
): { hooks: SyncHooks; done: () => void } {
  const lines: SyncLine[] = [];
  const view = () => h(SyncProgressView, { lines: lines.map((l) => ({ ...l })), now: performance.now() });
  const instance = render(view(), {
    stdout: stdout as NodeJS.WriteStream,
    patchConsole: false,
    exitOnCtrlC: false,
  });
  const timer = setInterval(() => instance.rerender(view()), 200);
  const find = (name: string) => lines.find((l) => l.name === name);
  return {
    hooks: {
      onStart(name, mode) {
        lines.push({ name, mode, rows: 0, startedAt: performance.now() });
        instance.rerender(view());
      },
      onRoute(name, route) {
        const l = find(name);
        if (l) l.route = route;
      },
      onProgress(name, rows) {
        const l = find(name);
        if (l) l.rows = rows;
      },
      onEnd(r) {
        let l = find(r.name);
        if (!l) {
          l = { name: r.name, mode: r.mode, rows: 0, startedAt: performance.now() };
          lines.push(l);
        }
        // ink draws its own colours; the summary text stays plain.
        l.summary = resultLine(r, { ...style, green: (s: string) => s, red: (s: string) => s });
        l.failed = r.status === 'failed';
        instance.rerender(view());
      },
    },
    done() {
      clearInterval(timer);
      instance.rerender(view());
      instance.unmount();
    },
  };
}
