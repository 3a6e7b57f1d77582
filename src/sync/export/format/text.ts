// csv and jsonl: each write() renders its rows to one buffer, which goes to the sink as is or
// through a streaming gzip (node:zlib), so memory holds one batch and zlib's window.
//
// csv (RFC 4180): a header row of the column names, CRLF line ends, a field quoted ("…", with
// "" for a quote) when it holds a comma, a quote, CR or LF, or is empty. NULL is an empty
// unquoted field and an empty string is "", so a reader can tell them apart.
// jsonl: one JSON object per line, keys in column order.
import zlib from 'node:zlib';
import { assertNever, type ExportColumn, type ExportCompression, type Kind } from './types.js';
import {
  arrayToJson,
  isoDate,
  isoTime,
  isoTimestamp,
  jsonFloat,
  oneLineJson,
  readBoolean,
  readBytes,
  readDate,
  readTime,
  readTimestamp,
} from './values.js';
import type { ByteSink, RowFileWriter } from './writer.js';

const NUMBER = /^-?\d+(?:\.\d+)?$/;

/** How one column's text values are written: the csv field (before quoting) or the JSON value. */
function renderer(column: ExportColumn, k: Kind, json: boolean): (v: string) => string {
  switch (k.kind) {
    case 'int16':
    case 'int32':
    case 'int64':
      return (v) => v;
    case 'decimal':
      // Exact as printed; NaN / ±Infinity are not JSON numbers, so jsonl writes them as strings.
      return json ? (v) => (NUMBER.test(v) ? v : JSON.stringify(v)) : (v) => v;
    case 'float32':
    case 'float64':
      return json ? jsonFloat : (v) => v;
    case 'boolean':
      return (v) => (readBoolean(column, v) ? 'true' : 'false');
    case 'string':
      return json ? (v) => JSON.stringify(v) : (v) => v;
    case 'json':
      return json ? oneLineJson : (v) => v;
    case 'array':
      return (v) => arrayToJson(column, k.element, v);
    case 'bytes':
      // Checked, and written as PostgreSQL prints it (\x + hex).
      return (v) => {
        readBytes(column, v);
        return json ? JSON.stringify(v) : v;
      };
    case 'date':
      return quoteIf(json, (v) => isoDate(readDate(column, v)));
    case 'time':
      return quoteIf(json, (v) => isoTime(readTime(column, v)));
    case 'timestamp':
      return quoteIf(json, (v) => isoTimestamp(readTimestamp(column, v, k.utc), k.utc));
    default:
      return assertNever(k);
  }
}

const quoteIf = (json: boolean, f: (v: string) => string) => (json ? (v: string) => `"${f(v)}"` : f);

const NEEDS_QUOTES = /[",\r\n]/;

/** An RFC 4180 field: quoted when it holds a comma, quote, CR or LF, or is empty (NULL is the bare empty field). */
export function csvField(v: string): string {
  if (v !== '' && !NEEDS_QUOTES.test(v)) return v;
  return `"${v.replaceAll('"', '""')}"`;
}

export function openText(
  format: 'csv' | 'jsonl',
  compression: ExportCompression,
  columns: readonly ExportColumn[],
  kinds: readonly Kind[],
  sink: ByteSink,
): RowFileWriter {
  if (compression !== 'gzip' && compression !== 'none') {
    throw new Error(`${format} takes gzip or none, not ${compression}`);
  }
  const json = format === 'jsonl';
  const render = columns.map((c, i) => renderer(c, kinds[i]!, json));
  const keys = columns.map((c) => `${JSON.stringify(c.name)}:`);
  let rows = 0;
  let bytes = 0;
  let done = false;

  // Output in order: straight to the sink, or through gzip whose output is queued and drained.
  const gzip = compression === 'gzip' ? zlib.createGzip() : undefined;
  const queued: Buffer[] = [];
  let failed: Error | undefined;
  gzip?.on('data', (c: Buffer) => queued.push(c));
  gzip?.on('error', (e) => {
    failed = e;
  });
  const drain = async () => {
    for (let c = queued.shift(); c; c = queued.shift()) {
      bytes += c.length;
      await sink.write(c);
    }
    if (failed) throw failed;
  };
  const emit = async (text: string) => {
    const buf = Buffer.from(text, 'utf8');
    if (!gzip) {
      bytes += buf.length;
      await sink.write(buf);
      return;
    }
    await new Promise<void>((resolve, reject) => gzip.write(buf, (e) => (e ? reject(e) : resolve())));
    await drain();
  };
  let header = format === 'csv' ? `${columns.map((c) => csvField(c.name)).join(',')}\r\n` : '';

  return {
    async write(batch) {
      if (done) throw new Error(`${format} file already finished`);
      let text = header;
      header = '';
      for (let i = 0; i < batch.length; i++) {
        const row = batch[i]!;
        if (row.length !== columns.length) {
          throw new Error(`row ${rows + i + 1} has ${row.length} values for ${columns.length} columns`);
        }
        const fields = new Array<string>(row.length);
        for (let j = 0; j < row.length; j++) {
          const f = row[j];
          // The runner hands text formats PostgreSQL's text (fieldInputs): strings, or bytes of it.
          if (typeof f === 'bigint' || typeof f === 'number')
            throw new Error(`${format} files take PostgreSQL's text of each value, not a ${typeof f}`);
          const v =
            f instanceof Uint8Array ? Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('utf8') : f;
          if (json) fields[j] = keys[j]! + (v === null || v === undefined ? 'null' : render[j]!(v));
          else fields[j] = v === null || v === undefined ? '' : csvField(render[j]!(v));
        }
        text += json ? `{${fields.join(',')}}\n` : `${fields.join(',')}\r\n`;
      }
      if (text !== '') await emit(text);
      rows += batch.length;
    },
    async finish() {
      if (done) throw new Error(`${format} file already finished`);
      done = true;
      if (header !== '') await emit(header);
      if (gzip) {
        await new Promise<void>((resolve, reject) => {
          gzip.once('end', resolve);
          gzip.once('error', reject);
          gzip.end();
        });
        await drain();
      }
      return { rows, bytes };
    },
  };
}
