// Helpers for the sync tests: a source and a destination database on a real server (the same
// database for same-engine runs, two databases for cross-connection runs), a wharf file
// naming them, and table dumps that compare row for row.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { loadConfigText } from '../../src/config/load.js';
import type { LoadedConfig } from '../../src/config/types.js';
import type { TestServer } from './pg.js';
import { DEST_DDL, SOURCE_DDL } from './sync-data.js';

export interface SyncFixture {
  src: pg.Client;
  dst: pg.Client;
  cross: boolean;
  dir: string;
  /** Writes the wharf file (syncs given as YAML list items) and loads it. */
  config(syncsYaml: string): LoadedConfig;
  file: string;
  close(): Promise<void>;
}

export async function syncFixture(server: TestServer, cross: boolean): Promise<SyncFixture> {
  const srcDb = await server.createDatabase('src');
  const dstDb = cross ? await server.createDatabase('dst') : srcDb;
  const src = await server.client(srcDb);
  const dst = cross ? await server.client(dstDb) : src;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-sync-'));
  const file = path.join(dir, 'wharf.yaml');
  return {
    src,
    dst,
    cross,
    dir,
    file,
    config(syncsYaml) {
      const text = `version: 1
connections:
  source: { type: postgres, url: "${server.urlFor(srcDb)}" }
  warehouse: { type: postgres, url: "${server.urlFor(dstDb)}" }
defaultConnection: warehouse
syncs:
${syncsYaml
  .replace(/\$FROM/g, cross ? 'connection: source, ' : '')
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
`;
      fs.writeFileSync(file, text);
      const { loaded, diagnostics } = loadConfigText(text, file);
      if (!loaded || diagnostics.some((d) => d.severity === 'error'))
        throw new Error(`bad test config: ${JSON.stringify(diagnostics)}`);
      return loaded;
    },
    async close() {
      await src.end().catch(() => {});
      if (cross) await dst.end().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every row of a table or query as sorted JSON lines: a multiset, compared exactly. */
export async function dump(client: pg.Client, sql: string): Promise<string[]> {
  const { rows } = await client.query(sql);
  return rows.map((r) => JSON.stringify(r)).sort();
}

/** Runs `fn` on a fresh fixture with the shared source and destination tables (plus `extraDdl` on the destination), then closes it. */
export async function withSyncFixture(
  server: TestServer,
  cross: boolean,
  fn: (f: SyncFixture) => Promise<void>,
  extraDdl?: string,
): Promise<void> {
  const f = await syncFixture(server, cross);
  try {
    await f.src.query(SOURCE_DDL);
    await f.dst.query(DEST_DDL);
    if (extraDdl) await f.dst.query(extraDdl);
    await fn(f);
  } finally {
    await f.close();
  }
}
