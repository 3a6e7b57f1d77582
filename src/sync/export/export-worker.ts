// The worker thread that turns an export's COPY stream into files (PartitionedFiles), so that
// parsing, encoding and compressing run beside the main thread, which receives the stream and
// uploads the bytes. Protocol (src/sync/export/file-writer.ts is the other side):
//   main -> worker: {init}, {chunk, buf} (transferred), {end}, {ack, seq, error?}
//   worker -> main: {open, fid, key}, {data, fid, seq, bytes} (transferred), {finish, fid, seq},
//                   {closed, seq, file}, {done, total} per chunk, {ended, late, total}, {error}
// Every worker -> main message with a seq waits for the main thread's ack: uploads keep their
// backpressure, and a file is reported closed only once its object is complete.
import { parentPort } from 'node:worker_threads';
import { ExportTypeError } from './format/types.js';
import { type ClosedFile, type FileLayout, type FileOut, PartitionedFiles } from './partitioned.js';

export interface WorkerInit {
  type: 'init';
  layout: FileLayout;
  run: number;
  signalledThrough: string | null;
  rowGroup: number;
}

const port = parentPort!;
let seq = 0;
const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
function call(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<void> {
  const s = ++seq;
  return new Promise<void>((resolve, reject) => {
    waiting.set(s, { resolve, reject });
    port.postMessage({ ...msg, seq: s }, transfer);
  });
}

let files: PartitionedFiles | undefined;
let fids = 0;
// Messages are handled one at a time, in order.
let queue: Promise<void> = Promise.resolve();
let failed = false;

function fail(e: unknown): void {
  if (failed) return;
  failed = true;
  const err = e instanceof Error ? e : new Error(String(e));
  port.postMessage({
    type: 'error',
    name: err.name,
    message: err.message,
    ...(err instanceof ExportTypeError ? { column: err.column } : {}),
    stack: err.stack,
  });
}

port.on('message', (msg: { type: string; [k: string]: unknown }) => {
  if (msg.type === 'ack') {
    const w = waiting.get(msg.seq as number);
    waiting.delete(msg.seq as number);
    if (msg.error) w?.reject(new Error(String(msg.error)));
    else w?.resolve();
    return;
  }
  queue = queue.then(async () => {
    if (failed) return;
    try {
      if (msg.type === 'init') {
        const init = msg as unknown as WorkerInit;
        files = new PartitionedFiles(
          init.layout,
          init.run,
          init.signalledThrough,
          init.rowGroup,
          (key): FileOut => {
            const fid = ++fids;
            port.postMessage({ type: 'open', fid, key });
            return {
              write(chunk) {
                // The writer hands over bytes it no longer holds: a copy when they are a view.
                const own =
                  chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength
                    ? chunk
                    : chunk.slice();
                return call({ type: 'data', fid, bytes: own }, [own.buffer as ArrayBuffer]);
              },
              finish: () => call({ type: 'finish', fid }),
            };
          },
          (file: ClosedFile) => call({ type: 'closed', file }),
        );
      } else if (msg.type === 'chunk') {
        await files!.add(Buffer.from(msg.buf as ArrayBuffer));
        port.postMessage({ type: 'done', total: files!.total });
      } else if (msg.type === 'end') {
        await files!.end();
        port.postMessage({ type: 'ended', late: [...files!.late], total: files!.total });
      }
    } catch (e) {
      fail(e);
    }
  });
});
