// Engine-neutral file writers for bucket exports: parquet, csv and jsonl from PostgreSQL text
// output, streamed to a ByteSink. The mapping of column types is in docs/export-formats.md.
import type { FieldInput } from '../copy-fields.js';
import { openParquet, parquetInputs } from './parquet.js';
import { openText } from './text.js';
import { type ExportColumn, type ExportCompression, type ExportFormat, kindsOf } from './types.js';
import type { ByteSink, RowFileWriter } from './writer.js';

export type { ExportColumn, ExportCompression, ExportFormat } from './types.js';
export { ExportTypeError, fileTypes } from './types.js';
export type { ByteSink, RowFileWriter } from './writer.js';

/** Which compressions a format takes, and its default (parquet: zstd|snappy|none, default zstd;
 *  csv/jsonl: gzip|none, default none). */
export const FORMAT_COMPRESSIONS: Record<
  ExportFormat,
  { allowed: readonly ExportCompression[]; default: ExportCompression }
> = {
  parquet: { allowed: ['zstd', 'snappy', 'none'], default: 'zstd' },
  csv: { allowed: ['gzip', 'none'], default: 'none' },
  jsonl: { allowed: ['gzip', 'none'], default: 'none' },
};

function checkCompression(format: ExportFormat, compression: ExportCompression): void {
  if (!FORMAT_COMPRESSIONS[format].allowed.includes(compression)) {
    throw new Error(
      `${format} files take compression ${FORMAT_COMPRESSIONS[format].allowed.join(', ')}, not ${compression}`,
    );
  }
}

/** Opens a file of `format` on `sink`. Throws ExportTypeError (before writing a byte) for a column type it cannot write. */
export function openRowFile(
  format: ExportFormat,
  compression: ExportCompression,
  columns: readonly ExportColumn[],
  sink: ByteSink,
): RowFileWriter {
  checkCompression(format, compression);
  const kinds = kindsOf(columns);
  return format === 'parquet'
    ? openParquet(compression, columns, kinds, sink)
    : openText(format, compression, columns, kinds, sink);
}

/** How the runner should hand each column to a writer of `format`: undefined means every
 *  field as a UTF-8 string (csv, jsonl). */
export function fieldInputs(
  format: ExportFormat,
  columns: readonly ExportColumn[],
): FieldInput[] | undefined {
  return format === 'parquet' ? parquetInputs(kindsOf(columns)) : undefined;
}

/** '.parquet', '.csv', '.csv.gz', '.jsonl', '.jsonl.gz' */
export function fileExtension(format: ExportFormat, compression: ExportCompression): string {
  checkCompression(format, compression);
  return `.${format}${compression === 'gzip' ? '.gz' : ''}`;
}
