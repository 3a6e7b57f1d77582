// The local bucket store's objects: files under `<dir>/<bucket>/`. An upload goes to a hidden
// temporary file next to its target and is renamed into place when finished, so a reader
// never sees half a file, and a process killed mid-upload leaves only a temporary file (the
// next upload of the same key replaces it; list() does not show it).
import { createHash } from 'node:crypto';
import { existsSync, promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import {
  checkObjectKey,
  type ObjectStore,
  ObjectStoreError,
  type ObjectUpload,
  type StoredObject,
} from '../object-store.js';

const TEMP = '.wharf-upload-';

export class LocalObjectStore implements ObjectStore {
  constructor(private readonly dir: string) {}

  private bucketDir(bucket: string): string {
    const d = path.join(this.dir, bucket);
    if (!existsSync(d) || !statSync(d).isDirectory())
      throw new ObjectStoreError(`bucket ${bucket} does not exist in ${this.dir}: run wharf apply first`);
    return d;
  }

  private file(bucket: string, key: string): string {
    checkObjectKey(key);
    const root = this.bucketDir(bucket);
    const target = path.resolve(root, key);
    if (!target.startsWith(root + path.sep))
      throw new ObjectStoreError(`refusing object key ${JSON.stringify(key)}: it leaves the bucket folder`);
    return target;
  }

  upload(bucket: string, key: string): ObjectUpload {
    const target = this.file(bucket, key);
    const tag = createHash('sha1').update(key).digest('hex').slice(0, 12);
    const temp = path.join(path.dirname(target), `${TEMP}${tag}`);
    let handle: Promise<fs.FileHandle> | undefined;
    const open = async () => {
      handle ??= fs.mkdir(path.dirname(target), { recursive: true }).then(() => fs.open(temp, 'w'));
      return handle;
    };
    return {
      async write(chunk) {
        const h = await open();
        await h.write(chunk);
      },
      async finish() {
        const h = await open();
        await h.sync();
        await h.close();
        await fs.rename(temp, target);
      },
      async abort() {
        if (!handle) return;
        await (await handle).close().catch(() => {});
        await fs.rm(temp, { force: true });
      },
    };
  }

  async put(bucket: string, key: string, body: Uint8Array | string): Promise<void> {
    const up = this.upload(bucket, key);
    await up.write(typeof body === 'string' ? Buffer.from(body) : body);
    await up.finish();
  }

  async get(bucket: string, key: string): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(this.file(bucket, key));
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT' || (e as { code?: string }).code === 'EISDIR')
        return undefined;
      throw e;
    }
  }

  async list(bucket: string, prefix: string): Promise<StoredObject[]> {
    const root = this.bucketDir(bucket);
    const out: StoredObject[] = [];
    const walk = async (rel: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await fs.readdir(path.join(root, rel), { withFileTypes: true });
      } catch (e) {
        if ((e as { code?: string }).code === 'ENOENT') return;
        throw e;
      }
      for (const e of entries) {
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(key);
        } else if (e.isFile() && !e.name.startsWith(TEMP) && key.startsWith(prefix)) {
          out.push({ key, size: (await fs.stat(path.join(root, key))).size });
        }
      }
    };
    await walk('');
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async remove(bucket: string, keys: readonly string[]): Promise<void> {
    for (const key of keys) await fs.rm(this.file(bucket, key), { force: true });
  }

  async copy(bucket: string, from: string, to: string): Promise<void> {
    const target = this.file(bucket, to);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const temp = path.join(path.dirname(target), `${TEMP}copy`);
    await fs.copyFile(this.file(bucket, from), temp);
    await fs.rename(temp, target);
  }

  describe(bucket: string, key = ''): string {
    return path.join(path.relative(process.cwd(), this.dir) || '.', bucket, key);
  }
}
