// Where an export's files are made: in a worker thread (./export-worker.ts) when one can start,
// so that parsing, encoding and compressing (most of an export's work) run beside the main
// thread, which receives the COPY stream and uploads; otherwise in this thread. Either way the
// same PartitionedFiles does the work, and a file is reported (`closed`) only once its object
// is complete. WHARF_EXPORT_THREADS=0 keeps everything in this thread.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ObjectStore, ObjectUpload } from '../../providers/object-store.js';
import type { WorkerInit } from './export-worker.js';
import { ExportTypeError } from './format/types.js';
import { type ClosedFile, type FileLayout, PartitionedFiles } from './partitioned.js';

export interface ExportFilesOptions {
  layout: FileLayout;
  run: number;
  signalledThrough: string | null;
  rowGroup: number;
  store: ObjectStore;
  bucket: string;
  contentType: string;
  /** Hears of each complete file, in order. */
  closed(file: ClosedFile): void;
}

export interface ExportFiles {
  /** Writes the rows of whole text-format COPY lines. */
  add(chunk: Buffer): Promise<void>;
  /** Ends the last file: the rows written, and the rows per date signalled before the run. */
  end(): Promise<{ total: number; late: Map<string, number> }>;
  /** Stops; the objects not complete are abandoned (multipart uploads aborted). */
  abort(): Promise<void>;
}

// Chunks (about 1 MB of COPY lines each) handed to the worker before waiting for one to be done:
// enough that it never waits for the next, few enough to bound memory.
const IN_FLIGHT = 2;

const WORKER_JS = new URL('./export-worker.js', import.meta.url);

function workerAvailable(): boolean {
  if (process.env.WHARF_EXPORT_THREADS === '0') return false;
  try {
    return WORKER_JS.protocol === 'file:' && fs.existsSync(fileURLToPath(WORKER_JS));
  } catch {
    return false;
  }
}

export function openExportFiles(o: ExportFilesOptions): ExportFiles {
  return workerAvailable() ? inWorker(o) : inThread(o);
}

function inThread(o: ExportFilesOptions): ExportFiles {
  const open = new Set<ObjectUpload>();
  const files = new PartitionedFiles(
    o.layout,
    o.run,
    o.signalledThrough,
    o.rowGroup,
    (key) => {
      const up = o.store.upload(o.bucket, key, o.contentType);
      open.add(up);
      return {
        write: (chunk) => up.write(chunk),
        async finish() {
          await up.finish();
          open.delete(up);
        },
      };
    },
    o.closed,
  );
  return {
    add: (chunk) => files.add(chunk),
    async end() {
      await files.end();
      return { total: files.total, late: files.late };
    },
    async abort() {
      for (const up of open) await up.abort().catch(() => {});
      open.clear();
    },
  };
}

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: Error): void;
}

/** The worker's error, as the class the caller would have seen from this thread. */
function rebuild(msg: { name?: string; message?: string; column?: string }): Error {
  if (msg.name === 'ExportTypeError' && msg.column !== undefined)
    return new ExportTypeError(msg.column, String(msg.message));
  const e = new Error(String(msg.message ?? 'the export worker failed'));
  if (msg.name) e.name = msg.name;
  return e;
}

function inWorker(o: ExportFilesOptions): ExportFiles {
  const worker = new Worker(WORKER_JS, {
    // A small young generation: the rows of a row group are short-lived, and a large one only
    // grows the resident memory.
    resourceLimits: { maxYoungGenerationSizeMb: 8 },
    // Not the parent's flags: some (--input-type, --eval) refuse a worker started from a file.
    execArgv: [],
    stdout: false,
    stderr: false,
  });
  const uploads = new Map<number, ObjectUpload>();
  const chunks: Waiter<void>[] = [];
  const inflight: Promise<void>[] = [];
  let ended: Waiter<{ total: number; late: Map<string, number> }> | undefined;
  let failure: Error | undefined;
  let finished = false;
  let serial: Promise<void> = Promise.resolve();

  const failAll = (e: Error) => {
    if (failure) return;
    failure = e;
    for (const w of chunks.splice(0)) w.reject(e);
    ended?.reject(e);
  };
  const ack = (seq: number, error?: string) =>
    worker.postMessage({ type: 'ack', seq, ...(error ? { error } : {}) });

  const handle = async (msg: { type: string; [k: string]: unknown }) => {
    if (failure) return;
    const seq = msg.seq as number;
    switch (msg.type) {
      case 'open':
        uploads.set(msg.fid as number, o.store.upload(o.bucket, msg.key as string, o.contentType));
        return;
      case 'data':
        await uploads.get(msg.fid as number)!.write(msg.bytes as Uint8Array);
        ack(seq);
        return;
      case 'finish': {
        const up = uploads.get(msg.fid as number)!;
        await up.finish();
        uploads.delete(msg.fid as number);
        ack(seq);
        return;
      }
      case 'closed':
        o.closed(msg.file as ClosedFile);
        ack(seq);
        return;
      case 'done':
        chunks.shift()?.resolve();
        return;
      case 'ended':
        finished = true;
        ended?.resolve({ total: msg.total as number, late: new Map(msg.late as [string, number][]) });
        return;
      case 'error':
        failAll(rebuild(msg as { name?: string; message?: string; column?: string }));
        return;
    }
  };
  worker.on('message', (msg) => {
    serial = serial.then(() =>
      handle(msg).catch((e) => {
        const err = e instanceof Error ? e : new Error(String(e));
        failAll(err);
        if (typeof msg.seq === 'number') ack(msg.seq, err.message);
      }),
    );
  });
  worker.on('error', (e) => failAll(e instanceof Error ? e : new Error(String(e))));
  worker.on('exit', (code) => {
    if (!finished) failAll(new Error(`the export worker stopped (exit code ${code})`));
  });
  const init: WorkerInit = {
    type: 'init',
    layout: o.layout,
    run: o.run,
    signalledThrough: o.signalledThrough,
    rowGroup: o.rowGroup,
  };
  worker.postMessage(init);

  return {
    async add(chunk) {
      if (failure) throw failure;
      const buf = new ArrayBuffer(chunk.length);
      new Uint8Array(buf).set(chunk);
      const done = new Promise<void>((resolve, reject) => chunks.push({ resolve, reject }));
      // A chunk that fails is reported by this or a later add(), or by end(); never unhandled.
      done.catch(() => {});
      inflight.push(done);
      worker.postMessage({ type: 'chunk', buf }, [buf]);
      if (inflight.length >= IN_FLIGHT) await inflight.shift();
      if (failure) throw failure;
    },
    async end() {
      if (failure) throw failure;
      const result = new Promise<{ total: number; late: Map<string, number> }>((resolve, reject) => {
        ended = { resolve, reject };
      });
      worker.postMessage({ type: 'end' });
      try {
        return await result;
      } finally {
        await serial;
        await worker.terminate();
      }
    },
    async abort() {
      finished = true;
      await worker.terminate().catch(() => 0);
      await serial.catch(() => {});
      for (const up of uploads.values()) await up.abort().catch(() => {});
      uploads.clear();
    },
  };
}
