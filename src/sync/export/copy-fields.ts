// The fields of text-format COPY lines, as the file writers take them. Two readers:
//
// - `textFields`: every field a string, decoded as UTF-8 (csv and jsonl render strings);
// - `rawFields`: for parquet, which stores text as UTF-8 bytes. The slab is read as latin1,
//   where one character is one byte, so a line splits into fields by V8 with the byte offset
//   of every field known; a JSON field is then handed over as the bytes it has in the slab (no
//   UTF-8 decoding into a string and encoding back), a number, date or timestamp as the ASCII
//   string it is, and text as a string, decoded from UTF-8 only when it is not ASCII.
//
// `\N` is NULL; a field with a backslash is unescaped (COPY TO writes `\\`, `\t`, `\n`, `\r`,
// `\b`, `\f`, `\v`; all ASCII, so unescaping the latin1 string and taking its bytes is exact).
import { unescapeCopy } from '../copy.js';

const NON_ASCII = /[\x80-\xff]/;

export type FieldValue = string | Uint8Array | null;

/** How a column's field reaches the writer: its bytes, an ASCII string, or a decoded string. */
export type FieldInput = 'bytes' | 'ascii' | 'utf8';

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
 * past `inputs`, such as the period column, as ASCII strings). Byte fields are views of the
 * chunk, which the caller must not reuse while it holds the rows.
 */
export function rawFields(
  chunk: Buffer,
  inputs: readonly FieldInput[],
  row: (fields: FieldValue[]) => void,
): void {
  const text = chunk.toString('latin1');
  const lines = text.split('\n');
  const n = lines.length - (lines[lines.length - 1] === '' ? 1 : 0);
  let lineAt = 0;
  for (let li = 0; li < n; li++) {
    const line = lines[li]!;
    const fields: FieldValue[] = line.split('\t');
    let at = lineAt;
    for (let k = 0; k < fields.length; k++) {
      const raw = fields[k] as string;
      const len = raw.length;
      const input = inputs[k] ?? 'ascii';
      if (len === 2 && raw === '\\N') fields[k] = null;
      else if (input === 'bytes') {
        fields[k] = raw.includes('\\')
          ? Buffer.from(unescapeCopy(raw), 'latin1')
          : chunk.subarray(at, at + len);
      } else if (input === 'utf8') {
        const v = raw.includes('\\') ? unescapeCopy(raw) : raw;
        fields[k] = NON_ASCII.test(v) ? Buffer.from(v, 'latin1').toString('utf8') : v;
      } else if (raw.includes('\\')) fields[k] = unescapeCopy(raw);
      at += len + 1;
    }
    lineAt += line.length + 1;
    row(fields);
  }
}
