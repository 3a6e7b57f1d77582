// Parquet through hyparquet-writer: each write() is one row group, encoded into a ByteWriter
// whose flush() (called by ParquetWriter after every row group) hands the bytes to the sink and
// empties the buffer, so memory holds one row group, never the file.
//
// JSON columns: with converted_type JSON, hyparquet-writer JSON.stringify()s every value, which
// would store JSON text as a JSON string of it. So pages are encoded with the column typed as a
// plain UTF-8 string (the bytes are the JSON text as PostgreSQL printed it), and the footer,
// written by finish(), carries the JSON type: readers see a JSON column holding the text as is.
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { FieldInput } from '../copy-fields.js';
import {
  assertNever,
  type ExportColumn,
  type ExportCompression,
  ExportTypeError,
  type Kind,
  parquetDecimal,
} from './types.js';
import {
  arrayToJson,
  readBoolean,
  readBytes,
  readDate,
  readDecimal,
  readTime,
  readTimestamp,
} from './values.js';
import type { ByteSink, RowFileWriter } from './writer.js';

// hyparquet-writer's own types (its hyparquet, not another copy's).
type WriterOptions = ConstructorParameters<typeof ParquetWriter>[0];
type SchemaElement = WriterOptions['schema'][number];
type CompressionCodec = NonNullable<WriterOptions['codec']>;

/** Bytes of a FIXED_LEN_BYTE_ARRAY that hold every unscaled value of `precision` digits (two's complement). */
function decimalBytes(precision: number): number {
  const max = 10n ** BigInt(precision);
  let n = 1;
  while (2n ** BigInt(8 * n - 1) < max) n++;
  return n;
}

const utf8: Pick<SchemaElement, 'type' | 'converted_type' | 'logical_type'> = {
  type: 'BYTE_ARRAY',
  converted_type: 'UTF8',
  logical_type: { type: 'STRING' },
};

/** The schema element of a column: as encoded (`pages`) and as the footer declares it (`footer`). */
function element(column: ExportColumn, k: Kind): { pages: SchemaElement; footer: SchemaElement } {
  const base = { name: column.name, repetition_type: 'OPTIONAL' as const };
  const same = (e: Omit<SchemaElement, 'name'>) => {
    const el = { ...base, ...e };
    return { pages: el, footer: el };
  };
  switch (k.kind) {
    case 'int16':
      // The converted type alone: hyparquet-writer's INTEGER logical type is unreadable to DuckDB.
      return same({ type: 'INT32', converted_type: 'INT_16' });
    case 'int32':
      return same({ type: 'INT32' });
    case 'int64':
      return same({ type: 'INT64' });
    case 'float32':
      return same({ type: 'FLOAT' });
    case 'float64':
      return same({ type: 'DOUBLE' });
    case 'boolean':
      return same({ type: 'BOOLEAN' });
    case 'string':
      return same(utf8);
    case 'json':
    case 'array':
      return {
        pages: { ...base, ...utf8 },
        footer: { ...base, type: 'BYTE_ARRAY', converted_type: 'JSON', logical_type: { type: 'JSON' } },
      };
    case 'bytes':
      return same({ type: 'BYTE_ARRAY' });
    case 'date':
      return same({ type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } });
    case 'time':
      // No converted_type: TIME_MICROS means adjusted to UTC, and a `time` is a wall-clock time.
      return same({ type: 'INT64', logical_type: { type: 'TIME', isAdjustedToUTC: false, unit: 'MICROS' } });
    case 'timestamp':
      // TIMESTAMP_MICROS (the legacy converted type) likewise means UTC: only timestamptz gets it.
      return same({
        type: 'INT64',
        ...(k.utc ? { converted_type: 'TIMESTAMP_MICROS' as const } : {}),
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: k.utc, unit: 'MICROS' },
      });
    case 'decimal': {
      const { precision, scale } = parquetDecimal(column, k);
      const physical =
        precision <= 9
          ? { type: 'INT32' as const }
          : precision <= 18
            ? { type: 'INT64' as const }
            : { type: 'FIXED_LEN_BYTE_ARRAY' as const, type_length: decimalBytes(precision) };
      return same({
        ...physical,
        converted_type: 'DECIMAL',
        precision,
        scale,
        logical_type: { type: 'DECIMAL', precision, scale },
      });
    }
    default:
      return assertNever(k);
  }
}

/**
 * How the runner hands each column to the parquet writer (see ../copy-fields.ts): JSON as its
 * UTF-8 bytes, which a BYTE_ARRAY page stores as they are (JSON values are long and seldom
 * repeat); text and arrays as strings (text is often short and repeated, and a dictionary of
 * strings is built several times faster than one of byte arrays); everything else is ASCII.
 */
export function parquetInputs(kinds: readonly Kind[]): FieldInput[] {
  return kinds.map((k): FieldInput => {
    switch (k.kind) {
      case 'json':
        return 'bytes';
      case 'string':
      case 'array':
        return 'utf8';
      case 'int64':
        return 'int64';
      case 'int16':
      case 'int32':
        return 'int32';
      case 'timestamp':
        return k.utc ? 'timestamptz' : 'timestamp';
      default:
        return 'ascii';
    }
  });
}

/** Reads one column's text values into what hyparquet-writer encodes for its schema element.
 *  Text and JSON may come as strings or as their UTF-8 bytes; every other kind as a string. */
function converter(column: ExportColumn, k: Kind): (v: string) => unknown {
  switch (k.kind) {
    case 'int16':
    case 'int32':
      return (v: string | number) => {
        if (typeof v === 'number') return v;
        const n = Number(v);
        if (!Number.isInteger(n))
          throw new ExportTypeError(
            column.name,
            `column ${JSON.stringify(column.name)}: ${JSON.stringify(v)} is not an integer`,
          );
        return n;
      };
    case 'int64':
      return (v: string | bigint) => (typeof v === 'bigint' ? v : BigInt(v));
    case 'float32':
    case 'float64':
      // extra_float_digits = 1 prints the shortest text that reads back to the same float.
      return (v) => Number(v);
    case 'boolean':
      return (v) => readBoolean(column, v);
    case 'string':
    case 'json':
      return (v) => v;
    case 'array':
      return (v) => arrayToJson(column, k.element, v);
    case 'bytes':
      return (v) => readBytes(column, v);
    case 'date':
      return (v) => readDate(column, v);
    case 'time':
      return (v) => readTime(column, v);
    case 'timestamp':
      return (v: string | bigint) => (typeof v === 'bigint' ? v : readTimestamp(column, v, k.utc));
    case 'decimal': {
      const { precision, scale } = parquetDecimal(column, k);
      return (v) => readDecimal(column, v, precision, scale);
    }
    default:
      return assertNever(k);
  }
}

/** A ByteWriter whose flush() sends what it holds to the sink and starts over. */
class SinkWriter extends ByteWriter {
  bytes = 0;
  constructor(private readonly sink: ByteSink) {
    super(1 << 16);
  }
  flush(): void | Promise<void> {
    if (this.index === 0) return;
    const chunk = new Uint8Array(this.buffer.slice(0, this.index));
    this.index = 0;
    // Give back a buffer grown for one large row group.
    if (this.buffer.byteLength > 16 << 20) {
      this.buffer = new ArrayBuffer(1 << 16);
      this.view = new DataView(this.buffer);
    }
    this.bytes += chunk.length;
    return this.sink.write(chunk);
  }
  /** ParquetWriter.finish() calls this after the footer; the caller then awaits flush(). */
  override finish(): void {}
}

let zstd: Promise<(input: Uint8Array) => Uint8Array> | undefined;
/** The zstd compressor (WASM, loaded once). */
function zstdCompressor(): Promise<(input: Uint8Array) => Uint8Array> {
  zstd ??= import('@bokuweb/zstd-wasm').then(async (z) => {
    await z.init();
    return (input: Uint8Array) => z.compress(input, 3);
  });
  return zstd;
}

const CODECS: Partial<Record<ExportCompression, CompressionCodec>> = {
  zstd: 'ZSTD',
  snappy: 'SNAPPY',
  none: 'UNCOMPRESSED',
};

export function openParquet(
  compression: ExportCompression,
  columns: readonly ExportColumn[],
  kinds: readonly Kind[],
  sink: ByteSink,
): RowFileWriter {
  const codec = CODECS[compression];
  if (!codec) throw new Error(`parquet takes zstd, snappy or none, not ${compression}`);
  const elements = columns.map((c, i) => element(c, kinds[i]!));
  const converters = columns.map((c, i) => converter(c, kinds[i]!));
  const root: SchemaElement = { name: 'root', num_children: columns.length };
  const out = new SinkWriter(sink);
  let rows = 0;
  let writer: ParquetWriter | undefined;
  const open = async () => {
    const compressors = codec === 'ZSTD' ? { ZSTD: await zstdCompressor() } : {};
    writer = new ParquetWriter({
      writer: out,
      schema: [root, ...elements.map((e) => e.pages)],
      codec,
      compressors,
      createdBy: 'wharf',
    });
    return writer;
  };
  let done = false;
  return {
    async write(batch) {
      if (done) throw new Error('parquet file already finished');
      if (batch.length === 0) return;
      const w = writer ?? (await open());
      const columnData = columns.map((c, j) => {
        const convert = converters[j]!;
        const data = new Array<unknown>(batch.length);
        for (let i = 0; i < batch.length; i++) {
          const row = batch[i]!;
          if (row.length !== columns.length) {
            throw new Error(`row ${rows + i + 1} has ${row.length} values for ${columns.length} columns`);
          }
          const v = row[j];
          data[i] = v === null || v === undefined ? null : convert(v as string);
        }
        // JSON bounds are not truncatable and not ordered as text: no statistics for them. JSON
        // values seldom repeat, so they are written plain, without trying a dictionary on each
        // row group (zstd still folds whatever repeats).
        const k = kinds[j]!.kind;
        const json = k === 'json' || k === 'array';
        return { name: c.name, data, statistics: !json, ...(json ? { encoding: 'PLAIN' as const } : {}) };
      });
      await w.write({ columnData, rowGroupSize: batch.length });
      rows += batch.length;
    },
    async finish() {
      if (done) throw new Error('parquet file already finished');
      done = true;
      const w = writer ?? (await open());
      // The footer declares the columns' real types (see the header on JSON).
      w.schema = [root, ...elements.map((e) => e.footer)];
      w.finish();
      await out.flush();
      return { rows, bytes: out.bytes };
    },
  };
}
