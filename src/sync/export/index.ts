// `wharf sync` for a bucket export: finds the bucket's connection and the source's, and runs the
// export on the source engine's path (PostgreSQL sessions here; an engine with an export path
// of its own, such as Redshift's UNLOAD, through the engine contract).
import type { LoadedConfig } from '../../config/types.js';
import type { OpenedConnection } from '../../providers/connect.js';
import { engineFor } from '../../providers/engine.js';
import type { ExportSyncConfig } from '../config.js';
import { SyncError, type SyncResult, type SyncRunOptions } from '../types.js';
import { bucketsByName } from './buckets.js';
import { runExportOnPostgres } from './run.js';

export async function runExport(
  sync: ExportSyncConfig,
  loaded: LoadedConfig,
  connection: (name: string) => Promise<OpenedConnection>,
  options: SyncRunOptions,
): Promise<SyncResult> {
  const b = bucketsByName(loaded.config.buckets, loaded.connections).get(sync.to.bucket);
  if (!b?.connection)
    throw new SyncError(
      `sync ${sync.name}: bucket ${sync.to.bucket} has no connection: set "connection" on it`,
    );
  const dst = await connection(b.connection);
  if (!dst.objects)
    throw new SyncError(
      `sync ${sync.name}: connection ${b.connection} does not hold buckets (its type is ${dst.config.type})`,
    );
  const srcName = sync.from.connection ?? loaded.defaultConnection;
  const src = await connection(srcName);
  const own = engineFor(src.config.type)?.sync?.exportFrom;
  if (own) return own(sync, src, { store: dst.objects, bucket: sync.to.bucket }, options);
  if (!src.connectSql)
    throw new SyncError(
      `sync ${sync.name}: connection ${srcName} (${src.config.type}) cannot be exported from`,
    );
  const client = src.takeSession?.() ?? (await src.connectSql());
  try {
    return await runExportOnPostgres(sync, client, { store: dst.objects, bucket: sync.to.bucket }, options);
  } finally {
    await client.end().catch(() => {});
  }
}
