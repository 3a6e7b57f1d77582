// Plain-text output of `wharf sync`: periodic progress lines (for logs and CI, where there is
// no terminal to redraw) and the summary per sync; and the --json document for schedulers.
import type { SyncResult, SyncRoute, SyncRunResult } from '../sync/run.js';
import type { Style } from './text.js';

const fmt = (n: number) => n.toLocaleString('en-US');

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * A running sync: inside one engine, only the time it has run (no rows pass through wharf to
 * count; the counts come with its result); streamed, the rows read and rows/s, with a bar and
 * a percentage when the source estimated the rows to read (and the estimate still holds).
 */
export function progressLine(name: string, rows: number, elapsedMs: number, route?: SyncRoute): string {
  const time = formatDuration(Math.round(elapsedMs));
  if (route?.pushDown) return `sync ${name}: running inside the database, ${time}`;
  if (!route && rows === 0) return `sync ${name}: starting, ${time}`;
  const rate = elapsedMs > 0 ? Math.round((rows * 1000) / elapsedMs) : 0;
  const est = route?.estimatedRows;
  if (est !== undefined && est >= 1 && rows <= est) {
    const pct = Math.floor((rows * 100) / est);
    return `sync ${name}: ${progressBar(rows / est)} ${pct}% ${fmt(rows)} of ~${fmt(est)} rows, ${fmt(rate)} rows/s, ${time}`;
  }
  return `sync ${name}: ${fmt(rows)} rows read, ${fmt(rate)} rows/s, ${time}`;
}

const BAR_WIDTH = 20;

/** `[██████░░░░░░░░░░░░░░]` for a fraction between 0 and 1. */
export function progressBar(fraction: number): string {
  const full = Math.max(0, Math.min(BAR_WIDTH, Math.floor(fraction * BAR_WIDTH)));
  return `[${'█'.repeat(full)}${'░'.repeat(BAR_WIDTH - full)}]`;
}

export function resultLine(r: SyncResult, style: Style): string {
  switch (r.status) {
    case 'ok': {
      if (r.dryRun) return `sync ${r.name} (${r.mode}): dry run, ${wouldLine(r)}`;
      const { inserted, updated, deleted } = r.rows;
      return `sync ${r.name} (${r.mode}): ${style.green('ok')}, ${fmt(inserted)} inserted, ${fmt(updated)} updated, ${fmt(deleted)} deleted (${fmt(r.read)} read) in ${formatDuration(r.durationMs)}${keptLine(r, style)}`;
    }
    case 'failed': {
      const issues = (r.issues ?? []).map((i) => `\n  ${i.severity}: ${i.message}`).join('');
      return `sync ${r.name} (${r.mode}): ${style.red('failed')}: ${issues || r.error}`;
    }
    case 'skipped':
      return `sync ${r.name} (${r.mode}): skipped (an earlier sync failed and --fail-fast is set)`;
    default: {
      const never: never = r.status;
      return String(never);
    }
  }
}

/**
 * merge kept destination rows because the source's copies have older cursors: said on a line
 * of its own, with a few keys, since those rows will not change until the source's do.
 */
function keptLine(r: SyncResult, style: Style): string {
  if (!r.kept) return '';
  const n = r.kept.rows;
  const keys = r.kept.keys.length
    ? ` (key${n === 1 ? '' : 's'} ${r.kept.keys.join(', ')}${n > r.kept.keys.length ? ', …' : ''})`
    : '';
  return `\n  ${style.yellow('warning')}: kept ${fmt(n)} destination row${n === 1 ? '' : 's'} whose source cop${n === 1 ? 'y has' : 'ies have'} an older cursor than the destination's${keys}: the source's cursor went backwards for ${n === 1 ? 'it' : 'them'} (a late commit?); see "Rows kept" in the README (lookback, --full-refresh)`;
}

/** What a dry run found: `would insert 10, update 3, delete 0 (reads 14 rows)`. */
export function wouldLine(r: SyncResult): string {
  const { inserted, updated, deleted } = r.rows;
  if (r.dryRun?.counted === false)
    return `would read ${fmt(r.read)} rows (what it would write is counted only as it runs)`;
  return `would insert ${fmt(inserted)}, update ${fmt(updated)}, delete ${fmt(deleted)} (reads ${fmt(r.read)} rows)`;
}

export function renderDryRun(r: SyncResult): string {
  if (!r.dryRun) return '';
  const head = `-- sync ${r.name} (${r.mode}), watermark ${r.watermark ?? '(none: first run)'}; ${wouldLine(r)}`;
  return `${head}\n${r.dryRun.statements.map((s) => (s.startsWith('--') ? s : `${s};`)).join('\n\n')}\n\n`;
}

export function renderSyncSummary(res: SyncRunResult, style: Style): string {
  const ok = res.syncs.filter((s) => s.status === 'ok').length;
  const failed = res.syncs.filter((s) => s.status === 'failed').length;
  const skipped = res.syncs.filter((s) => s.status === 'skipped').length;
  return `Sync complete: ${ok} ok, ${failed === 0 ? '0 failed' : style.red(`${failed} failed`)}${skipped ? `, ${skipped} skipped` : ''}.\n`;
}

/** The scheduler contract: `{"ok", "syncs": [{"name", "status", "rows", "durationMs", "kept"?, …}]}`. */
export function syncJson(res: SyncRunResult): unknown {
  return {
    ok: res.ok,
    syncs: res.syncs.map((s) => ({
      name: s.name,
      mode: s.mode,
      status: s.status,
      rows: s.rows,
      read: s.read,
      durationMs: s.durationMs,
      ...(s.watermark !== undefined ? { watermark: s.watermark } : {}),
      ...(s.kept ? { kept: s.kept } : {}),
      ...(s.error ? { error: s.error } : {}),
      ...(s.dryRun ? { dryRun: s.dryRun } : {}),
    })),
  };
}
