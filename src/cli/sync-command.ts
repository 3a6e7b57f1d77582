// `wharf sync`: flags -> runSyncs -> progress (ink on a terminal, periodic lines otherwise)
// -> summary or JSON -> exit code (0 every sync ok, 1 any failed).
import type { LoadedConfig } from '../config/types.js';
import { progressLine, renderDryRun, renderSyncSummary, resultLine, syncJson } from '../render/sync-text.js';
import type { Style } from '../render/text.js';
import type { SyncHooks, SyncRoute } from '../sync/run.js';
import { UsageError } from './errors.js';

export interface SyncCommandInput {
  load(): LoadedConfig | undefined;
  names: string[];
  json: boolean;
  dryRun: boolean;
  fullRefresh: boolean;
  failFast: boolean;
  lockTimeoutMs: number;
  batchRows?: string;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  style: Style;
  /** Milliseconds between plain progress lines (default 2000). */
  progressEveryMs?: number;
}

export async function cmdSync(input: SyncCommandInput): Promise<number> {
  const loaded = input.load();
  if (!loaded) return 1;
  let batchRows: number | undefined;
  if (input.batchRows !== undefined) {
    batchRows = Number(input.batchRows);
    if (!Number.isInteger(batchRows) || batchRows < 1)
      throw new UsageError(`--batch-rows must be a positive integer, got "${input.batchRows}"`);
  }
  const { runSyncs } = await import('../sync/run.js');
  const out = input.stdout;
  let hooks: SyncHooks = {};
  let finish: () => void = () => {};
  if (!input.json && !input.dryRun) {
    if (out.isTTY && !process.env.CI) {
      const { inkSyncProgress } = await import('../ui/sync-progress.js');
      const ui = inkSyncProgress(out, input.style);
      hooks = ui.hooks;
      finish = ui.done;
    } else {
      const plain = plainProgress(out, input.style, input.progressEveryMs ?? 2000);
      hooks = plain.hooks;
      finish = plain.done;
    }
  }
  let res: Awaited<ReturnType<typeof runSyncs>>;
  try {
    res = await runSyncs(loaded, {
      names: input.names,
      dryRun: input.dryRun,
      fullRefresh: input.fullRefresh,
      failFast: input.failFast,
      lockTimeoutMs: input.lockTimeoutMs,
      ...(batchRows ? { batchRows } : {}),
      hooks,
    });
  } finally {
    finish();
  }
  if (input.json) out.write(`${JSON.stringify(syncJson(res), null, 2)}\n`);
  else {
    if (input.dryRun) {
      for (const r of res.syncs) out.write(r.dryRun ? renderDryRun(r) : `${resultLine(r, input.style)}\n`);
    }
    out.write(renderSyncSummary(res, input.style));
  }
  return res.ok ? 0 : 1;
}

/**
 * Plain progress for logs: a line at start, then one at most every `everyMs` while the sync
 * runs (also when no batch arrived: a sync inside one engine says how long it has run), then
 * its summary.
 */
export function plainProgress(
  out: NodeJS.WritableStream,
  style: Style,
  everyMs: number,
): { hooks: SyncHooks; done: () => void } {
  let running: { name: string; started: number; rows: number; route?: SyncRoute } | undefined;
  let last = 0;
  const print = (now: number) => {
    if (!running) return;
    last = now;
    out.write(`${progressLine(running.name, running.rows, now - running.started, running.route)}\n`);
  };
  const timer = setInterval(
    () => {
      const now = performance.now();
      if (running && now - last >= everyMs) print(now);
    },
    Math.max(10, Math.floor(everyMs / 4)),
  );
  timer.unref();
  return {
    hooks: {
      onStart(name, mode) {
        const now = performance.now();
        running = { name, started: now, rows: 0 };
        last = now;
        out.write(`sync ${name} (${mode}): started\n`);
      },
      onRoute(name, route) {
        if (running?.name === name) running.route = route;
      },
      onProgress(name, rows) {
        if (running?.name !== name) return;
        running.rows = rows;
        const now = performance.now();
        if (now - last >= everyMs) print(now);
      },
      onEnd(r) {
        if (running?.name === r.name) running = undefined;
        out.write(`${resultLine(r, style)}\n`);
      },
    },
    done: () => clearInterval(timer),
  };
}
