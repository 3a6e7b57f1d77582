// `wharf sync`: flags -> runSyncs -> progress (ink on a terminal, periodic lines otherwise)
// -> summary or JSON -> exit code (0 every sync ok, 1 any failed).
import type { LoadedConfig } from '../config/types.js';
import { progressLine, renderDryRun, renderSyncSummary, resultLine, syncJson } from '../render/sync-text.js';
import type { Style } from '../render/text.js';
import type { SyncHooks } from '../sync/run.js';
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
      hooks = plainProgress(out, input.style, input.progressEveryMs ?? 2000);
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

function plainProgress(out: NodeJS.WritableStream, style: Style, everyMs: number): SyncHooks {
  let started = 0;
  let last = 0;
  return {
    onStart(name, mode) {
      started = performance.now();
      last = started;
      out.write(`sync ${name} (${mode}): started\n`);
    },
    onProgress(name, rows) {
      const now = performance.now();
      if (now - last < everyMs) return;
      last = now;
      out.write(`${progressLine(name, rows, now - started)}\n`);
    },
    onEnd(r) {
      out.write(`${resultLine(r, style)}\n`);
    },
  };
}
