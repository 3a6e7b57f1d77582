// What a bucket export asks of a bucket connection: write an object as its bytes arrive, list a
// prefix, read and delete objects. Each bucket engine implements it (S3 with multipart uploads,
// the local bucket store with files renamed into place); the export runner (src/sync/export)
// speaks only this. A reader never sees a partly written object: S3 publishes an object when
// its upload completes, the local store renames a finished temporary file.

export interface StoredObject {
  key: string;
  size: number;
}

/** An object being written; `finish` publishes it, `abort` discards it. */
export interface ObjectUpload {
  write(chunk: Uint8Array): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

export interface ObjectStore {
  /** Starts writing `key`; the object appears only when `finish` resolves. */
  upload(bucket: string, key: string, contentType?: string): ObjectUpload;
  /** Writes a small object whole. */
  put(bucket: string, key: string, body: Uint8Array | string, contentType?: string): Promise<void>;
  /** The object's bytes, or undefined when there is none. */
  get(bucket: string, key: string): Promise<Buffer | undefined>;
  /** Every object under `prefix` (recursively), in key order. */
  list(bucket: string, prefix: string): Promise<StoredObject[]>;
  /** Deletes the objects (missing ones are not an error). */
  remove(bucket: string, keys: readonly string[]): Promise<void>;
  /** Copies an object inside the bucket, server-side (no bytes pass through wharf). */
  copy(bucket: string, from: string, to: string): Promise<void>;
  /** Where the objects live, for messages: `s3://bucket/` or a folder. */
  describe(bucket: string, key?: string): string;
}

export class ObjectStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ObjectStoreError';
  }
}

/** Refuses a key that could leave its prefix or confuse a store (`..`, `//`, control characters). */
export function checkObjectKey(key: string): void {
  if (
    key === '' ||
    key.length > 1024 ||
    key.startsWith('/') ||
    key.split('/').some((seg, i, all) => seg === '..' || seg === '.' || (seg === '' && i < all.length - 1)) ||
    /[\u0000-\u001f\u007f\\]/.test(key)
  )
    throw new ObjectStoreError(`refusing object key ${JSON.stringify(key)}`);
}
