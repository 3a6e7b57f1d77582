// Connection config -> a ready provider, opened by the engine serving the connection type
// (src/providers/engine.ts): each engine's connect.ts is where its clients are constructed and
// environment references resolved, at connect time; everything below receives them.
import type pg from 'pg';
import type { ConnectionConfig } from '../config/types.js';
import { engineFor } from './engine.js';
import type { ObjectStore } from './object-store.js';
import type { WarehouseProvider } from './provider.js';
import type { DataApiTransport } from './redshift/data-api-transport.js';

export interface OpenedConnection {
  name: string;
  config: ConnectionConfig;
  provider: WarehouseProvider;
  /** e.g. `local (embedded PostgreSQL on 127.0.0.1:54012)`; never contains a password. */
  description: string;
  /** PostgreSQL engines: opens another session (the sync runner's sessions); the caller ends it. */
  connectSql?: () => Promise<pg.Client>;
  /** Redshift: the Data API transport statements run through (the sync runner's push-down). */
  dataApi?: DataApiTransport;
  /**
   * PostgreSQL engines: hands the session opened with the connection over to the caller, once
   * (later calls return undefined), so a caller that never uses `provider` (the sync runner)
   * does not pay for a second login. The caller ends it; `provider` is unusable afterwards.
   */
  takeSession?: () => pg.Client | undefined;
  /** Bucket engines: the objects in its buckets (bucket exports write through it). */
  objects?: ObjectStore;
  close(): Promise<void>;
}

export class ConnectError extends Error {
  constructor(
    readonly connection: string,
    message: string,
  ) {
    super(`connection ${connection}: ${message}`);
    this.name = 'ConnectError';
  }
}

export async function openConnection(
  name: string,
  config: ConnectionConfig,
  baseDir: string,
): Promise<OpenedConnection> {
  const engine = engineFor(config.type);
  if (!engine)
    throw new ConnectError(name, `unsupported connection type ${(config as { type: string }).type}`);
  return engine.open(name, config, baseDir);
}
