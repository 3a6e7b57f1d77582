// The contract between wharf's engine-neutral core (src/config, src/plan, src/sync, src/apply)
// and an engine (a folder under src/providers/): what the core asks of the engine that serves a
// connection type or owns a resource kind, and the list the core looks engines up in. The core
// imports this file, never an engine folder; src/engines.ts, the one file that names every
// engine, hands the list over with `registerEngines` before the core runs.
import type { Locator, YamlPath } from '../config/load.js';
import type { ConnectionConfig, LoadedConfig, WharfConfig } from '../config/types.js';
import type { TableDiff } from '../plan/diff.js';
import type { Resource, ResourceKind, TableResource } from '../plan/model.js';
import type { Change, Diagnostic, UnmanagedObject } from '../plan/plan.js';
import type { RelationInfo } from '../sync/catalog.js';
import type { ExportSyncConfig, SyncConfig } from '../sync/config.js';
import type { ExportDestination } from '../sync/export/run.js';
import type { SyncResult, SyncRunOptions } from '../sync/types.js';
import type { OpenedConnection } from './connect.js';

/** The privileges a grant may name, per object type. */
export interface GrantPrivileges {
  schema: ReadonlySet<string>;
  table: ReadonlySet<string>;
  defaultTable: ReadonlySet<string>;
}

/** What a differ of an engine-owned resource kind returns for one connection. */
export interface KindDiffResult {
  changes: Change[];
  unmanaged: UnmanagedObject[];
  diagnostics: Diagnostic[];
}

/**
 * Diffs the resources of one kind on one connection. `desired` and `live` are every resource
 * of the connection (a datashare reads the tables to expand `schema.*`); the differ picks its kind.
 */
export type KindDiffer = (
  connection: string,
  desired: readonly Resource[],
  live: readonly Resource[],
) => KindDiffResult;

export interface Engine {
  /** For messages and listings, e.g. `Redshift`. */
  readonly name: string;
  /** The longest name its connections keep, in UTF-8 bytes, when not PostgreSQL's 63. */
  readonly identifierBytes?: number;
  /** The connection types (`connections.<name>.type`) this engine serves. */
  readonly connectionTypes: readonly string[];
  /** What its connections hold: warehouse objects (schemas, tables, roles) or buckets. */
  readonly holds: 'warehouse' | 'buckets';
  /** Opens a connection of one of its types: the provider, and what a sync runner needs. */
  open(name: string, config: ConnectionConfig, baseDir: string): Promise<OpenedConnection>;
  /**
   * The privileges a grant may name on its connections, when they are not PostgreSQL's, and
   * the words that end a message about them (e.g. ` on Redshift`).
   */
  readonly grantPrivileges?: { engine: string; allowed: GrantPrivileges };
  /** Its config rules, over the whole file (its connections, its keys and sections). */
  checkRules?(
    config: WharfConfig,
    connections: Record<string, ConnectionConfig>,
    defaultConnection: string,
    loc: Locator,
  ): Diagnostic[];
  /** Words for a JSON Schema `pattern` error at `path`, when the key is its own; else undefined. */
  patternMessage?(path: YamlPath, value: unknown): string | undefined;
  /**
   * Its part of the desired state: adds the resources of the kinds it owns to their
   * connections, and sets its own parts of core resources on its connections (in place).
   */
  toDesired?(loaded: LoadedConfig, byConn: Map<string, Resource[]>): void;
  /** A differ per resource kind it owns; the core's differ leaves those kinds to it. */
  readonly differs?: Partial<Record<ResourceKind, KindDiffer>>;
  /**
   * Extends the core diff of a table (`base`) when the table is one of its own (e.g. carries
   * its physical layout); undefined when the table is not its concern.
   */
  diffTable?(have: TableResource, want: TableResource, base: TableDiff): TableDiff | undefined;
  /**
   * Bucket engines: who the file's policy of `bucket` lets read every object under `prefix`
   * (principals, with their conditions), for the plan of an export; undefined for an unknown bucket.
   */
  exportReaders?(loaded: LoadedConfig, bucket: string, prefix: string): string[] | undefined;
  /** Points the plan diagnostics it raised once live state was read at their place in the file. */
  locate?(loaded: LoadedConfig, diagnostics: Diagnostic[]): Diagnostic[];
  /**
   * The syncs it runs on paths of its own. An engine without them is reached through SQL
   * sessions (`OpenedConnection.connectSql`), and src/sync runs its syncs as PostgreSQL.
   */
  readonly sync?: EngineSync;
  /** `wharf inspect`: how the engine turns what it read back into the file (see InspectHooks). */
  readonly inspect?: InspectHooks;
}

// `wharf inspect` (src/commands/inspect.ts): the inverse of an engine's toDesired.

/** A live resource as an entry of the file, and what the file could not say about it. */
export interface InspectEntry {
  entry: Record<string, unknown>;
  notes: { object: string; reason: string }[];
}

export interface InspectHooks {
  /** The section of the file its resources of `kind` go to, e.g. `buckets`. */
  readonly sections?: Partial<Record<ResourceKind, string>>;
  /** A live resource of a kind it owns as a file entry (buckets). */
  resource?(r: Resource): InspectEntry | undefined;
  /** Column types as its connections read them back from a type the file writes (Redshift's defaults). */
  normalizeType?(fileType: string): string;
}

/** An engine's own sync paths: each runs one sync to its end (state, batches, counts). */
export interface EngineSync {
  /** Both sides on the same one of its connections. */
  runInside(sync: SyncConfig, conn: OpenedConnection, options: SyncRunOptions): Promise<SyncResult>;
  /** From a connection with SQL sessions (`src`) into one of its connections (`dst`). */
  loadInto(
    sync: SyncConfig,
    src: OpenedConnection,
    dst: OpenedConnection,
    options: SyncRunOptions,
    batchRows: number,
  ): Promise<SyncResult>;
  /** From one of its connections (`src`) into a connection with SQL sessions (`dst`). */
  extractFrom(
    sync: SyncConfig,
    src: OpenedConnection,
    dst: OpenedConnection,
    options: SyncRunOptions,
  ): Promise<SyncResult>;
  /** A table's columns on one of its connections, for the plan's sync checks. */
  describeTable(conn: OpenedConnection, qualified: string): Promise<RelationInfo>;
  /** A bucket export from one of its connections, on its own path (e.g. Redshift's UNLOAD). */
  exportFrom?(
    sync: ExportSyncConfig,
    src: OpenedConnection,
    out: ExportDestination,
    options: SyncRunOptions,
  ): Promise<SyncResult>;
}

let registered: readonly Engine[] | undefined;

/** Hands the core the engines this build knows (src/engines.ts), in the order they are asked. */
export function registerEngines(list: readonly Engine[]): void {
  registered = list;
}

/** Every engine, in src/engines.ts's order (rules, desired state and diffs follow it). */
export function engines(): readonly Engine[] {
  if (!registered) throw new Error('no engines registered: import src/engines.ts before using the core');
  return registered;
}

/** The engine serving a connection type, or undefined for an unknown type. */
export function engineFor(connectionType: string): Engine | undefined {
  return engines().find((e) => e.connectionTypes.includes(connectionType));
}
