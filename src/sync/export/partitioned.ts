// The rows of an export's COPY stream, written into files: one file per period (the stream
// comes ordered by period), a new one after `fileRows` rows, one row group per `rowGroup`
// rows. Used in a worker thread (./export-worker.ts) or, where none can start, in the caller's.
// It knows nothing of buckets: `open` gives a byte sink per file, `closed` hears of each file
// once its bytes are all out.
import { createHash } from 'node:crypto';
import type { ResolvedExport } from './config.js';
import { type FieldValue, rawFields, textFields } from './copy-fields.js';
import { fieldInputs, openRowFile } from './format/index.js';

/** What names and shapes the files: the parts of an ExportShape a worker needs (plain data). */
export interface FileLayout {
  spec: ResolvedExport;
  extension: string;
  columns: { name: string; type: string }[];
  sync: { name: string };
  /** The stream carries the period as one more field after the columns. */
  partitioned: boolean;
}

export interface FileOut {
  write(chunk: Uint8Array): void | Promise<void>;
  /** Every byte written; the object is complete. */
  finish(): Promise<void>;
}

export interface ClosedFile {
  key: string;
  period: string | null;
  rows: number;
  bytes: number;
  md5: string;
}

export function layoutOf(
  shape: Omit<FileLayout, 'partitioned' | 'sync'> & { sync: { name: string }; partition?: unknown },
): FileLayout {
  return {
    spec: shape.spec,
    extension: shape.extension,
    columns: shape.columns,
    sync: { name: shape.sync.name },
    partitioned: shape.partition !== undefined,
  };
}

/** `<prefix><period folder><sync>-r<run6>-<n4><ext>` */
export function fileName(
  layout: Omit<FileLayout, 'partitioned'>,
  run: number,
  period: string | null,
  n: number,
): string {
  const r = String(run).padStart(6, '0');
  const i = String(n).padStart(4, '0');
  return `${layout.spec.prefix}${partitionPath(layout, period)}${layout.sync.name}-r${r}-${i}${layout.extension}`;
}

/** The folder of a period: `2026-03-08/`, `date=2026-03-08/`, `2026-03-08/07/`, …; '' without partitions. */
export function partitionPath(layout: Pick<FileLayout, 'spec'>, period: string | null): string {
  const spec = layout.spec.partition;
  if (!spec) return '';
  const hive = spec.style === 'hive';
  if (period === null)
    return hive
      ? `${spec.granularity === 'month' ? 'month' : 'date'}=__HIVE_DEFAULT_PARTITION__/`
      : '__null__/';
  if (spec.granularity === 'hour') {
    const [d, h] = period.split(' ');
    return hive ? `date=${d}/hour=${h}/` : `${d}/${h}/`;
  }
  return hive ? `${spec.granularity === 'month' ? 'month' : 'date'}=${period}/` : `${period}/`;
}

/** The date of a period (for readiness): its first 10 characters for day and hour. */
export function periodDate(period: string): string {
  return period.slice(0, 10);
}

export class PartitionedFiles {
  readonly files: ClosedFile[] = [];
  /** Rows per date that was already signalled when this run began. */
  readonly late = new Map<string, number>();
  total = 0;
  private readonly inputs;
  private readonly ncols: number;
  private readonly partIndex: number;
  private readonly rowGroup: number;
  private readonly perPeriod = new Map<string | null, number>();
  private pending: FieldValue[][] = [];
  private open:
    | {
        key: string;
        period: string | null;
        out: FileOut;
        writer: ReturnType<typeof openRowFile>;
        hash: ReturnType<typeof createHash>;
        bytes: number;
        rows: number;
      }
    | undefined;

  constructor(
    private readonly layout: FileLayout,
    private readonly run: number,
    private readonly signalledThrough: string | null,
    rowGroup: number,
    private readonly openOut: (key: string) => FileOut,
    private readonly closed: (file: ClosedFile) => void | Promise<void>,
  ) {
    this.inputs = fieldInputs(layout.spec.format, layout.columns);
    this.ncols = layout.columns.length;
    this.partIndex = layout.partitioned ? this.ncols : -1;
    this.rowGroup = Math.min(rowGroup, layout.spec.fileRows);
  }

  /** Writes the rows of `chunk` (whole text-format COPY lines). */
  async add(chunk: Buffer): Promise<void> {
    const lines: FieldValue[][] = [];
    const collect = (fields: FieldValue[]) => {
      lines.push(fields);
    };
    if (this.inputs) rawFields(chunk, this.inputs, collect);
    else textFields(chunk, collect);
    const { fileRows } = this.layout.spec;
    for (const fields of lines) {
      const period = this.partIndex >= 0 ? (fields[this.partIndex] as string) : null;
      const open = this.open;
      if (!open || open.period !== period || open.rows >= fileRows) {
        await this.close();
        this.start(period);
      }
      if (period !== null && this.signalledThrough !== null) {
        const d = periodDate(period);
        if (d <= this.signalledThrough) this.late.set(d, (this.late.get(d) ?? 0) + 1);
      }
      fields.length = this.ncols;
      this.pending.push(fields);
      this.open!.rows++;
      this.total++;
      if (this.pending.length >= this.rowGroup) await this.flush();
    }
  }

  /** Ends the last file. */
  async end(): Promise<void> {
    await this.close();
  }

  private async flush(): Promise<void> {
    if (!this.open || this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    await this.open.writer.write(rows);
  }

  private async close(): Promise<void> {
    const open = this.open;
    if (!open) return;
    await this.flush();
    await open.writer.finish();
    await open.out.finish();
    this.open = undefined;
    const file = {
      key: open.key,
      period: open.period,
      rows: open.rows,
      bytes: open.bytes,
      md5: open.hash.digest('hex'),
    };
    this.files.push(file);
    await this.closed(file);
  }

  private start(period: string | null): void {
    const n = (this.perPeriod.get(period) ?? 0) + 1;
    this.perPeriod.set(period, n);
    const key = fileName(this.layout, this.run, period, n);
    const out = this.openOut(key);
    const hash = createHash('md5');
    const file = {
      key,
      period,
      out,
      hash,
      bytes: 0,
      rows: 0,
      writer: undefined as unknown as ReturnType<typeof openRowFile>,
    };
    file.writer = openRowFile(this.layout.spec.format, this.layout.spec.compression, this.layout.columns, {
      write: (chunk: Uint8Array) => {
        hash.update(chunk);
        file.bytes += chunk.byteLength;
        return out.write(chunk);
      },
    });
    this.open = file;
  }
}
