// The fields of text-format COPY lines, as the file writers take them. Two readers:
//
// - `textFields`: every field a string, decoded as UTF-8 (csv and jsonl render strings);
// - `rawFields`: for parquet, which stores text as UTF-8 bytes. It scans the bytes once, in
//   place (splitting a slab decoded into one string cost six times as much): a JSON field is
//   handed over as the bytes it has in the slab (no UTF-8 decoding into a string and encoding
//   back), a number, date or timestamp as the ASCII string it is, and text as a string,
//   decoded as UTF-8 only when it holds a byte above 0x7f.
//
// `\N` is NULL; a field with a backslash is unescaped (COPY TO writes `\\`, `\t`, `\n`, `\r`,
// `\b`, `\f`, `\v`; all ASCII, so they are undone after decoding).
import { unescapeCopy } from '../copy.js';
import { fastTimestampBytes } from './format/values.js';

export type FieldValue = string | Uint8Array | bigint | number | null;

/**
 * How a column's field reaches the writer: its bytes, an ASCII string, a decoded string, or
 * read straight from the bytes: an integer (a bigint for int64, a number for int32), a
 * timestamp as microseconds since the epoch (a bigint). A field the direct readers do not
 * know (an unusual shape) comes as its string, for the writer's general reader.
 */
export type FieldInput = 'bytes' | 'ascii' | 'utf8' | 'int64' | 'int32' | 'timestamp' | 'timestamptz';

/** Calls `row` with the fields of every line of `chunk` (whole lines), each a UTF-8 string or null. */
export function textFields(chunk: Buffer, row: (fields: FieldValue[]) => void): void {
  // One string per chunk (a slab of whole lines), split by V8: far cheaper than a string per
  // field cut from the bytes.
  const lines = chunk.toString('utf8').split('\n');
  const n = lines.length - (lines[lines.length - 1] === '' ? 1 : 0);
  for (let li = 0; li < n; li++) {
    const fields: FieldValue[] = lines[li]!.split('\t');
    for (let k = 0; k < fields.length; k++) {
      const raw = fields[k] as string;
      if (raw.length > 0 && raw.charCodeAt(0) === 92 && raw === '\\N') fields[k] = null;
      else if (raw.includes('\\')) fields[k] = unescapeCopy(raw);
    }
    row(fields);
  }
}

/**
 * Calls `row` with the fields of every line of `chunk`: column k as `inputs[k]` says (fields
 * past `inputs`, such as the period column, as ASCII strings). The bytes are scanned once, in
 * place: no string is made of the whole chunk or of a line, only of the fields that are read
 * as strings. Byte fields are views of the chunk, which the caller must not reuse while it
 * holds the rows.
 */
export function rawFields(
  chunk: Buffer,
  inputs: readonly FieldInput[],
  row: (fields: FieldValue[]) => void,
): void {
  const n = chunk.length;
  // Delimiters are found by Buffer.indexOf (memchr), not a JavaScript loop over every byte;
  // backslashes, rare, are found once per chunk and followed with a pointer.
  let backslash = chunk.indexOf(92);
  let i = 0;
  while (i < n) {
    let lineEnd = chunk.indexOf(10, i);
    if (lineEnd < 0) lineEnd = n;
    const fields: FieldValue[] = [];
    let k = 0;
    for (;;) {
      let end = chunk.indexOf(9, i);
      if (end < 0 || end > lineEnd) end = lineEnd;
      while (backslash !== -1 && backslash < i) backslash = chunk.indexOf(92, backslash + 1);
      const input = inputs[k] ?? 'ascii';
      let flags = backslash !== -1 && backslash < end ? 1 : 0;
      // Text is decoded as UTF-8 only when it holds a byte above 0x7f.
      if (input === 'utf8' || flags) {
        for (let j = i; j < end; j++)
          if (chunk[j]! > 127) {
            flags |= 2;
            break;
          }
      }
      fields.push(field(chunk, i, end, flags, input));
      k++;
      i = end + 1;
      if (end === lineEnd) break;
    }
    row(fields);
  }
}

function field(chunk: Buffer, start: number, end: number, flags: number, input: FieldInput): FieldValue {
  if (flags & 1) {
    if (end - start === 2 && chunk[start + 1] === 78) return null;
    // Escapes are ASCII, so they are undone after decoding (a UTF-8 sequence holds no byte < 0x80).
    const text = unescapeCopy(chunk.toString(flags & 2 ? 'utf8' : 'latin1', start, end));
    return input === 'bytes' ? Buffer.from(text, 'utf8') : text;
  }
  switch (input) {
    case 'bytes':
      return chunk.subarray(start, end);
    case 'int64':
    case 'int32': {
      const v = readInteger(chunk, start, end);
      if (v !== undefined) return input === 'int64' ? BigInt(v) : v;
      break;
    }
    case 'timestamp':
    case 'timestamptz': {
      const us = fastTimestampBytes(chunk, start, end, input === 'timestamptz');
      if (us !== undefined) return BigInt(us);
      break;
    }
  }
  return chunk.toString(flags & 2 ? 'utf8' : 'latin1', start, end);
}

/** `-?[0-9]{1,15}` as a Number (exact), or undefined. */
function readInteger(b: Buffer, start: number, end: number): number | undefined {
  let i = start;
  const negative = b[i] === 45;
  if (negative) i++;
  if (i === end || end - i > 15) return undefined;
  let v = 0;
  for (; i < end; i++) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
  }
  return negative ? -v : v;
}
