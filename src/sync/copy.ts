// COPY over the PostgreSQL wire protocol on a `pg` client, without another dependency:
// `copyOut` streams the rows of `COPY (…) TO STDOUT` (the server sends one CopyData message
// per row in text format) with backpressure on the socket; `copyIn` sends prepared chunks to
// `COPY … FROM STDIN`. Both are `pg` submittables, so they queue like ordinary queries.
import type pg from 'pg';

interface PgConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(msg: string): void;
  stream: NodeJS.ReadableStream & { pause(): void; resume(): void; writableNeedDrain?: boolean } & {
    once(event: 'drain', fn: () => void): void;
  };
}

/** Base submittable: ignores messages a COPY does not produce. */
abstract class CopySubmittable {
  protected error: Error | undefined;
  protected count = 0;
  protected connection: PgConnection | undefined;
  callback?: (err: Error | null, result?: unknown) => void;
  constructor(readonly text: string) {}
  submit(connection: PgConnection): void {
    this.connection = connection;
    connection.query(this.text);
  }
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(_connection: PgConnection): void {}
  handleCopyData(_msg: { chunk: Buffer }, _connection: PgConnection): void {}
  handleCommandComplete(msg: { text: string }): void {
    const m = /^COPY (\d+)/.exec(msg.text);
    if (m) this.count = Number(m[1]);
  }
  handleError(err: Error): void {
    this.error = err;
  }
  abstract handleReadyForQuery(): void;
}

class CopyInQuery extends CopySubmittable {
  constructor(
    text: string,
    private readonly chunks: readonly Buffer[],
    private readonly done: (err: Error | undefined, count: number) => void,
  ) {
    super(text);
  }
  override handleCopyInResponse(connection: PgConnection): void {
    // Coalesce small chunks into ~256 KB messages: fewer, larger writes. Large chunks (slices
    // of the reader's 1 MB slabs) go as they are: copying them again would only cost CPU the
    // two servers need.
    let pending: Buffer[] = [];
    let size = 0;
    const flush = () => {
      if (size > 0)
        connection.sendCopyFromChunk(pending.length === 1 ? pending[0]! : Buffer.concat(pending, size));
      pending = [];
      size = 0;
    };
    for (const c of this.chunks) {
      if (c.length >= 65_536) {
        flush();
        connection.sendCopyFromChunk(c);
        continue;
      }
      pending.push(c);
      size += c.length;
      if (size >= 262_144) flush();
    }
    flush();
    connection.endCopyFrom();
  }
  // pg clears the active query on an error and does not call handleReadyForQuery after it.
  override handleError(err: Error): void {
    this.done(err, this.count);
  }
  handleReadyForQuery(): void {
    this.done(this.error, this.count);
  }
}

/** Runs `COPY … FROM STDIN` with the given rows (each a complete text-format line). */
export function copyIn(client: pg.Client, sql: string, rows: readonly Buffer[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const q = new CopyInQuery(sql, rows, (err, count) => (err ? reject(err) : resolve(count)));
    // biome-ignore lint/suspicious/noExplicitAny: pg accepts any submittable object.
    client.query(q as any);
  });
}

/** A batch of text-format COPY rows: the bytes in a few large chunks, the count and the last row. */
export interface RowBatch {
  chunks: Buffer[];
  rows: number;
  /** The last row (a complete line), e.g. to read its cursor. */
  last: Buffer;
}

const SLAB = 1 << 20;

class CopyOutQuery extends CopySubmittable {
  private readonly queue: RowBatch[] = [];
  private paused = false;
  private finished = false;
  private wake: (() => void) | undefined;
  // Rows are copied into large slabs (the parser's buffer is reused, and one allocation per
  // row would cost more than the copy): a batch is a list of slices of slabs.
  private slab = Buffer.allocUnsafe(SLAB);
  private offset = 0;
  private start = 0;
  private chunks: Buffer[] = [];
  private rowsInBatch = 0;
  private last: Buffer = Buffer.alloc(0);
  constructor(
    text: string,
    private readonly batchRows: number,
  ) {
    super(text);
  }
  override handleCopyData(msg: { chunk: Buffer }, connection: PgConnection): void {
    const chunk = msg.chunk;
    if (this.offset + chunk.length > this.slab.length) {
      if (this.offset > this.start) this.chunks.push(this.slab.subarray(this.start, this.offset));
      this.slab = Buffer.allocUnsafe(Math.max(SLAB, chunk.length));
      this.offset = 0;
      this.start = 0;
    }
    this.slab.set(chunk, this.offset);
    this.last = this.slab.subarray(this.offset, this.offset + chunk.length);
    this.offset += chunk.length;
    if (++this.rowsInBatch >= this.batchRows) this.endBatch();
    if (!this.paused && this.queue.length >= 2) {
      this.paused = true;
      connection.stream.pause();
    }
  }
  private endBatch() {
    if (this.rowsInBatch === 0) return;
    if (this.offset > this.start) this.chunks.push(this.slab.subarray(this.start, this.offset));
    this.start = this.offset;
    this.queue.push({ chunks: this.chunks, rows: this.rowsInBatch, last: this.last });
    this.chunks = [];
    this.rowsInBatch = 0;
    this.notify();
  }
  override handleError(err: Error): void {
    this.error = err;
    this.finished = true;
    if (this.paused) this.connection?.stream.resume();
    this.notify();
  }
  handleReadyForQuery(): void {
    if (!this.error) this.endBatch();
    this.finished = true;
    this.notify();
  }
  private notify() {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
  async *batches(): AsyncGenerator<RowBatch> {
    try {
      yield* this.drain();
    } finally {
      // Abandoned mid-stream (the consumer failed): the COPY would hold the session forever
      // behind a paused socket, so the session is dropped; the server rolls it back.
      if (!this.finished) (this.connection?.stream as unknown as { destroy?: () => void })?.destroy?.();
    }
  }
  private async *drain(): AsyncGenerator<RowBatch> {
    for (;;) {
      const b = this.queue.shift();
      if (b) {
        if (this.paused && this.queue.length < 2) {
          this.paused = false;
          this.connection?.stream.resume();
        }
        yield b;
        continue;
      }
      if (this.finished) {
        if (this.error) throw this.error;
        return;
      }
      await new Promise<void>((r) => {
        this.wake = r;
      });
    }
  }
}

/**
 * Streams `COPY (query) TO STDOUT` in batches of `batchRows` rows (text format). At most about
 * three batches are held: beyond that the socket is paused until the consumer catches up, so
 * memory stays bounded whatever the table size.
 */
export function copyOut(client: pg.Client, sql: string, batchRows: number): AsyncGenerator<RowBatch> {
  const q = new CopyOutQuery(sql, batchRows);
  // biome-ignore lint/suspicious/noExplicitAny: pg accepts any submittable object.
  client.query(q as any);
  return q.batches();
}

/** The value of field `index` of a text-format COPY line (null for \N). */
export function copyField(line: Buffer, index: number): string | null {
  let start = 0;
  for (let i = 0; i < index; i++) {
    const t = line.indexOf(9, start);
    if (t < 0) return null;
    start = t + 1;
  }
  let end = line.indexOf(9, start);
  if (end < 0) end = line.length;
  if (line[end - 1] === 10) end -= 1;
  const raw = line.toString('utf8', start, end);
  if (raw === '\\N') return null;
  return raw.replace(
    /\\(.)/g,
    (_, c: string) => ({ t: '\t', n: '\n', r: '\r', b: '\b', f: '\f', v: '\v' })[c] ?? c,
  );
}

/** Every field of a text-format COPY line, unescaped (null for \N). */
export function copyFields(line: Buffer): (string | null)[] {
  let end = line.length;
  if (line[end - 1] === 10) end -= 1;
  return line
    .toString('utf8', 0, end)
    .split('\t')
    .map((raw) => (raw === '\\N' ? null : unescapeCopy(raw)));
}

export function unescapeCopy(raw: string): string {
  if (!raw.includes('\\')) return raw;
  return raw.replace(/\\([0-7]{1,3}|x[0-9a-fA-F]{1,2}|.)/g, (_, c: string) => {
    if (/^[0-7]/.test(c)) return String.fromCharCode(Number.parseInt(c, 8));
    if (c[0] === 'x' && c.length > 1) return String.fromCharCode(Number.parseInt(c.slice(1), 16));
    return ({ t: '\t', n: '\n', r: '\r', b: '\b', f: '\f', v: '\v' } as Record<string, string>)[c] ?? c;
  });
}

/** One value as a field of a text-format COPY line (`\N` for null). */
export function copyText(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (v instanceof Uint8Array) return `\\\\x${Buffer.from(v).toString('hex')}`;
  return String(v).replace(
    /[\\\t\n\r]/g,
    (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!,
  );
}
