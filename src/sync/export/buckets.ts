// Which connection holds a bucket an export writes to: the bucket's own `connection`, else the
// file's only connection whose engine holds buckets (the rule buckets themselves follow).
import type { BucketConfig, ConnectionConfig } from '../../config/types.js';
import { engineFor } from '../../providers/engine.js';

export function bucketConnection(
  bucket: Pick<BucketConfig, 'connection'>,
  connections: Record<string, ConnectionConfig>,
): string | undefined {
  if (bucket.connection !== undefined) return bucket.connection;
  const names = Object.entries(connections)
    .filter(([, c]) => engineFor(c.type)?.holds === 'buckets')
    .map(([n]) => n);
  return names.length === 1 ? names[0] : undefined;
}

/** The file's buckets by name, with the connection type each lives on when it is known. */
export function bucketsByName(
  buckets: readonly BucketConfig[] | undefined,
  connections: Record<string, ConnectionConfig>,
): Map<string, { index: number; bucket: BucketConfig; connection?: string; connectionType?: string }> {
  const out = new Map<
    string,
    { index: number; bucket: BucketConfig; connection?: string; connectionType?: string }
  >();
  (buckets ?? []).forEach((bucket, index) => {
    if (out.has(bucket.name)) return;
    const connection = bucketConnection(bucket, connections);
    const type = connection !== undefined ? connections[connection]?.type : undefined;
    out.set(bucket.name, {
      index,
      bucket,
      ...(connection !== undefined ? { connection } : {}),
      ...(type ? { connectionType: type } : {}),
    });
  });
  return out;
}
