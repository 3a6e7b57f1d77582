// The byte-level contract between the file writers and the runner that uploads their bytes.
import type { FieldValue } from '../copy-fields.js';

/** Where bytes go; the runner implements it (S3 multipart upload, or a local file). May be async (backpressure). */
export interface ByteSink {
  write(chunk: Uint8Array): void | Promise<void>;
}

export interface RowFileWriter {
  /** Appends rows; for parquet each call makes (at least) one row group. Values are PostgreSQL TEXT output
   *  (as read by COPY ... TO STDOUT in text format, already unescaped): string, or null for NULL. A
   *  parquet writer also takes text and JSON columns as their UTF-8 bytes (see fieldInputs). */
  write(rows: readonly (readonly FieldValue[])[]): Promise<void>;
  /** Ends the file (parquet footer, gzip trailer), flushes everything to the sink. */
  finish(): Promise<{ rows: number; bytes: number }>;
}
