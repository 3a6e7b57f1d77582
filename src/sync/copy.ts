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
    // Coalesce rows into ~256 KB messages: fewer, larger writes.
    let pending: Buffer[] = [];
    let size = 0;
    for (const c of this.chunks) {
      pending.push(c);
      size += c.length;
      if (size >= 262_144) {
        connection.sendCopyFromChunk(Buffer.concat(pending, size));
        pending = [];
        size = 0;
      }
    }
    if (size > 0) connection.sendCopyFromChunk(Buffer.concat(pending, size));
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

class CopyOutQuery extends CopySubmittable {
  private readonly queue: Buffer[] = [];
  private paused = false;
  private finished = false;
  private wake: (() => void) | undefined;
  constructor(
    text: string,
    private readonly highWater: number,
  ) {
    super(text);
  }
  override handleCopyData(msg: { chunk: Buffer }, connection: PgConnection): void {
    // The chunk is a view into the parser's read buffer, which is reused: keep a copy.
    this.queue.push(Buffer.from(msg.chunk));
    if (!this.paused && this.queue.length >= this.highWater) {
      this.paused = true;
      connection.stream.pause();
    }
    this.notify();
  }
  override handleError(err: Error): void {
    this.error = err;
    this.finished = true;
    if (this.paused) this.connection?.stream.resume();
    this.notify();
  }
  handleReadyForQuery(): void {
    this.finished = true;
    this.notify();
  }
  private notify() {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
  async *rows(): AsyncGenerator<Buffer[]> {
    try {
      yield* this.drain();
    } finally {
      // Abandoned mid-stream (the consumer failed): the COPY would hold the session forever
      // behind a paused socket, so the session is dropped; the server rolls it back.
      if (!this.finished) (this.connection?.stream as unknown as { destroy?: () => void })?.destroy?.();
    }
  }
  private async *drain(): AsyncGenerator<Buffer[]> {
    for (;;) {
      if (this.queue.length > 0) {
        const out = this.queue.splice(0, this.queue.length);
        if (this.paused) {
          this.paused = false;
          this.connection?.stream.resume();
        }
        yield out;
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
 * Streams `COPY (query) TO STDOUT` as arrays of rows (text format, one line each). At most
 * about `highWater` rows are buffered: beyond that the socket is paused until the consumer
 * catches up, so memory stays bounded whatever the table size.
 */
export function copyOut(client: pg.Client, sql: string, highWater: number): AsyncGenerator<Buffer[]> {
  const q = new CopyOutQuery(sql, highWater);
  // biome-ignore lint/suspicious/noExplicitAny: pg accepts any submittable object.
  client.query(q as any);
  return q.rows();
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
