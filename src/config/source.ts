// The bytes of a wharf file before YAML sees them: strict UTF-8 (an invalid byte is an error
// at its offset, never a silent U+FFFD), the characters YAML forbids (NUL and the other
// control characters), line ends (LF, CRLF and CR alone) and offset -> line:col.
import { escapeControl } from '../render/safe-text.js';

export interface SourceProblem {
  message: string;
  offset: number;
}

/** Line starts for LF, CRLF and CR-only line ends; `at` is a binary search. */
export class LinePositions {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) this.starts.push(i + 1);
      else if (c === 13) {
        if (text.charCodeAt(i + 1) === 10) i++;
        this.starts.push(i + 1);
      }
    }
  }

  /** 1-based line and column (in UTF-16 code units, as editors count) of a 0-based offset. */
  at(offset: number): { line: number; col: number } {
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - s[lo]! + 1 };
  }
}

/**
 * A lone CR is a line break in YAML, but the exact parser only knows LF and CRLF. Turning a
 * lone CR into LF keeps every offset, so positions stay those of the file.
 */
export function normalizeLineEnds(text: string): string {
  return text.includes('\r') ? text.replace(/\r(?!\n)/g, '\n') : text;
}

const FATAL_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The file's text, or where its first invalid UTF-8 byte is. A leading BOM is dropped. */
export function decodeUtf8(buf: Uint8Array): { text: string } | { problem: SourceProblem; prefix: string } {
  try {
    return { text: FATAL_UTF8.decode(buf) };
  } catch {
    const at = firstInvalidUtf8(buf);
    const prefix = Buffer.from(buf.buffer, buf.byteOffset, at).toString('utf8');
    const hex = buf[at]!.toString(16).padStart(2, '0');
    return {
      problem: {
        message: `invalid UTF-8 at byte offset ${at} (byte 0x${hex}): the file must be UTF-8 text`,
        offset: prefix.length,
      },
      prefix,
    };
  }
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  const n = b.length;
  const cont = (k: number) => k < n && (b[k]! & 0xc0) === 0x80;
  while (i < n) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let len: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      min = 0x10000;
    } else return i;
    let cp = c & (0xff >> (len + 1));
    for (let k = 1; k < len; k++) {
      if (!cont(i + k)) return i;
      cp = (cp << 6) | (b[i + k]! & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += len;
  }
  return -1;
}

// YAML 1.2 allows TAB, LF, CR, the printable ASCII range, NEL and the rest of Unicode except
// the C1 controls, surrogates and U+FFFE/U+FFFF.
const FORBIDDEN =
  /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The first character YAML does not allow anywhere in a file (comments included). */
export function forbiddenCharacter(text: string): SourceProblem | undefined {
  const m = FORBIDDEN.exec(text);
  if (!m) return undefined;
  return {
    message: `the file holds the control character ${escapeControl(m[0])}, which YAML does not allow anywhere (write it as an escape inside a double-quoted string if you mean it)`,
    offset: m.index,
  };
}
