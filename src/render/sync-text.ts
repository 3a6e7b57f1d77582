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
      if (r.export) return exportLine(r, style);
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

/** A bucket export's result: files and rows written, signals, late rows, clean-up. */
function exportLine(r: SyncResult, style: Style): string {
  const e = r.export!;
  const files = e.files.length;
  const bytes = e.files.reduce((n, f) => n + f.bytes, 0);
  const lines = [
    `sync ${r.name} (${r.mode}): ${style.green('ok')}, ${fmt(r.rows.inserted)} rows in ${fmt(files)} ${e.format} file${files === 1 ? '' : 's'} (${formatBytes(bytes)}) under ${e.bucket}/${e.prefix} in ${formatDuration(r.durationMs)}`,
  ];
  if (e.signalled?.length)
    lines.push(
      `  signalled ${e.signalled.length === 1 ? e.signalled[0] : `${e.signalled[0]} to ${e.signalled.at(-1)} (${e.signalled.length} days)`} as finished`,
    );
  if (e.late)
    lines.push(
      `  ${style.yellow('warning')}: ${fmt(e.late.rows)} late row${e.late.rows === 1 ? '' : 's'} for day${e.late.days.length === 1 ? '' : 's'} already signalled (${e.late.days.join(', ')}): written as new files in ${e.late.days.length === 1 ? 'that day' : 'those days'}; a vendor that loaded ${e.late.days.length === 1 ? 'it' : 'them'} must load the new files too`,
    );
  if (e.removed)
    lines.push(`  removed ${fmt(e.removed)} file${e.removed === 1 ? '' : 's'} of the previous snapshot`);
  if (e.cleaned)
    lines.push(`  deleted ${fmt(e.cleaned)} file${e.cleaned === 1 ? '' : 's'} an interrupted run had left`);
  for (const i of r.issues ?? []) lines.push(`  ${style.yellow(i.severity)}: ${i.message}`);
  return lines.join('\n');
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** What a dry run found: `would insert 10, update 3, delete 0 (reads 14 rows)`. */
export function wouldLine(r: SyncResult): string {
  if (r.export) {
    const n = r.export.files.length;
    return `would write ${fmt(r.rows.inserted)} rows in ${fmt(n)} file${n === 1 ? '' : 's'} under ${r.export.bucket}/${r.export.prefix}`;
  }
  const { inserted, updated, deleted } = r.rows;
  if (r.dryRun?.counted === false)
    return `would read ${fmt(r.read)} rows (what it would write is counted only as it runs)`;
  return `would insert ${fmt(inserted)}, update ${fmt(updated)}, delete ${fmt(deleted)} (reads ${fmt(r.read)} rows)`;
}

export function renderDryRun(r: SyncResult): string {
  if (!r.dryRun) return '';
  const head = `-- sync ${r.name} (${r.mode}), watermark ${r.watermark ?? '(none: first run)'}; ${wouldLine(r)}`;
  const files = r.export ? r.export.files.map((f) => `--   ${f.key} (${fmt(f.rows)} rows)\n`).join('') : '';
  return `${head}\n${files}${r.dryRun.statements.map((s) => (s.startsWith('--') ? s : `${s};`)).join('\n\n')}\n\n`;
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
      ...(s.export ? { export: s.export } : {}),
      ...(s.issues?.length && s.status === 'ok' ? { warnings: s.issues.map((i) => i.message) } : {}),
    })),
  };
}
