// What the plan says about a bucket export, before any file is written: where the files go and
// in which format and layout, each column's type in the files, roughly how many rows the next
// run writes (the planner's estimate for a table source: nothing is run), the readiness signal, and who the
// bucket's policy lets read the prefix. An export nobody but the owner can read is a warning.
import type pg from 'pg';
import type { LoadedConfig } from '../../config/types.js';
import { engineFor } from '../../providers/engine.js';
import type { RelationInfo } from '../catalog.js';
import { estimateRows } from '../catalog.js';
import type { SyncIssue } from '../check.js';
import type { ExportSyncConfig } from '../config.js';
import { bucketsByName } from './buckets.js';
import { exportSelect, exportShape } from './shape.js';
import { readExportState } from './state.js';

const UNKNOWN: RelationInfo = { exists: true, columns: [], indexLeads: [], primaryKey: [], estimatedRows: 0 };

/** One export in the plan contract (`plan.exports`). */
export interface ExportPlan {
  sync: string;
  /** The source connection and table or `query`. */
  source: string;
  connection: string;
  bucket: string;
  prefix: string;
  format: string;
  compression: string;
  /** e.g. `day of "timestamp" in America/Los_Angeles: events/2026-11-30/`; absent when not partitioned. */
  partition?: string;
  /** Empty when the columns are known only when the sync runs (see `note`). */
  columns: { name: string; type: string; fileType: string }[];
  note?: string;
  mode: string;
  /** The stored watermark (null before the first run). */
  watermark?: string | null;
  /** The planner's estimate of the rows the next run writes, when the source could say. */
  estimatedRows?: number;
  /** e.g. `signals/ (finished_date), 2h after a day ends`. */
  ready?: string;
  /** Who the bucket's policy lets read the prefix (s3:GetObject), as the file declares it. */
  readers?: string[];
}

export async function planExport(
  loaded: LoadedConfig,
  sync: ExportSyncConfig,
  /** The source's columns; null when they are known only at sync time (a query on Redshift). */
  info: RelationInfo | null,
  sourceConnection: string,
  session: pg.Client | null,
): Promise<{ entry: ExportPlan; issues: SyncIssue[] }> {
  const shape = exportShape(sync, info ?? UNKNOWN);
  if (!info) shape.issues.length = 0;
  const spec = shape.spec;
  const bucket = bucketsByName(loaded.config.buckets, loaded.connections).get(spec.bucket);
  const issues = [...shape.issues];
  const entry: ExportPlan = {
    sync: sync.name,
    source: `${sourceConnection}: ${sync.from.table ?? 'query'}`,
    connection: bucket?.connection ?? '',
    bucket: spec.bucket,
    prefix: spec.prefix,
    format: spec.format,
    compression: spec.compression,
    mode: sync.mode,
    columns: shape.columns.map((c) => ({
      name: c.name,
      type: c.type,
      fileType: shape.fileTypes.find((t) => t.column === c.name)?.type ?? '?',
    })),
  };
  if (!info)
    entry.note =
      'the source query is not sent to this engine at plan time: its columns and file types are checked when the sync runs';
  if (spec.partition)
    entry.partition = `${spec.partition.granularity} of ${spec.partition.by} in ${spec.partition.timeZone}: ${spec.prefix}${examplePath(spec.partition)}`;
  if (spec.ready)
    entry.ready = `${spec.ready.prefix} (${spec.ready.column}), ${spec.ready.afterSeconds ? `${spec.ready.afterSeconds / 3600}h` : 'as soon as'} after a day ends`;
  const type = bucket?.connectionType;
  const engine = type ? engineFor(type) : undefined;
  const readers = engine?.exportReaders?.(loaded, spec.bucket, spec.prefix);
  if (readers) {
    entry.readers = readers;
    if (readers.length === 0)
      issues.push({
        severity: 'warning',
        message: `no principal in bucket ${spec.bucket}'s policy may read ${spec.prefix} (s3:GetObject on ${spec.prefix}*): the vendor cannot read these files; add an Allow statement for the vendor's role`,
      });
  }
  if (session && !issues.some((i) => i.severity === 'error')) {
    const state = await readExportState(session, shape.target, sync.name).catch(() => undefined);
    if (state) {
      if (shape.cursor) entry.watermark = state.watermark;
      // Only a table source is estimated (EXPLAIN of the SELECT wharf builds over it): a
      // query from the file is described at plan time, never planned or run (docs/plan.md).
      if (sync.from.table) {
        const select = exportSelect(shape, sync.mode === 'full' ? null : state.watermark);
        const n = await estimateRows(session, select);
        if (n !== undefined) entry.estimatedRows = n;
      }
    }
  }
  return { entry, issues };
}

function examplePath(p: { granularity: string; style: string }): string {
  const date = p.granularity === 'month' ? 'YYYY-MM' : 'YYYY-MM-DD';
  const hive = p.style === 'hive';
  const head = hive ? `${p.granularity === 'month' ? 'month' : 'date'}=${date}/` : `${date}/`;
  return p.granularity === 'hour' ? `${head}${hive ? 'hour=HH/' : 'HH/'}` : head;
}
