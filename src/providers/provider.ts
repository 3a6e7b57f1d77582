// The contract between wharf's core and the outside world. A provider reads the live state
// of the scope a file manages in a constant number of round trips, compiles plan changes
// into statements (pure), and executes them. Clients are passed in, never built inside.
// What the core asks of an engine besides its provider (rules, desired state, differs, how
// to open a connection) is the Engine contract in engine.ts.
import type { Capabilities } from '../plan/diff.js';
import type { Resource } from '../plan/model.js';
import type { Change, Diagnostic, Statement } from '../plan/plan.js';

export interface ReadScope {
  /** Schemas the file declares on this connection. */
  schemas: string[];
  /** Roles the file declares on this connection. */
  roles: string[];
  /** Buckets the file declares on this connection (bucket providers). */
  buckets?: string[];
  /** Declared folder markers per bucket: the only folders a bucket provider looks for. */
  folders?: Record<string, string[]>;
}

export interface LiveSnapshot {
  resources: Resource[];
  capabilities: Capabilities;
  /** Round trips the read took; a promise of the design is that it does not grow with size. */
  roundTrips: number;
  /** e.g. `PostgreSQL 18.0`. */
  serverVersion: string;
  /**
   * The roles this session is (its login role and the role it acts as), read in the same
   * round trips: plan refuses any change that takes LOGIN, a membership or a privilege away
   * from them. Absent for providers without roles (buckets).
   */
  connectingRoles?: string[];
}

export interface LockHandle {
  release(): Promise<void>;
}

export interface ExecuteOptions {
  /** Resolves a `${env:NAME}` placeholder; throws when unset. */
  resolveSecret(name: string): string;
  /**
   * executeMany, optional: told after a round trip how many changes of the call, counted from
   * the first, have committed so far, so progress shows while a long run goes on.
   */
  committed?(count: number): void;
  /** executeMany, optional: once aborted (a signal), no further round trip starts. */
  signal?: AbortSignal;
}

export interface WarehouseProvider {
  readonly type: string;
  read(scope: ReadScope): Promise<LiveSnapshot>;
  /** Pure: the statements a change will run. */
  compile(change: Change): Statement[];
  /** Runs one change's statements atomically where the engine allows. */
  execute(change: Change, options: ExecuteOptions): Promise<void>;
  /** Waits up to `timeoutMs` for the warehouse-wide apply lock; throws LockTimeoutError. */
  lock(holder: string, timeoutMs: number): Promise<LockHandle>;
  close(): Promise<void>;
  /**
   * Optional: runs consecutive changes of this connection together (e.g. Redshift packs them
   * into Data API batches, one transaction each; PostgreSQL sends several changes, each its
   * own transaction, in one message). Stops at the first failure; a change rolled back with
   * the failing one's transaction, or never started, is neither done nor failed (not run).
   */
  executeMany?(changes: readonly Change[], options: ExecuteOptions): Promise<BatchOutcome>;
  /**
   * Optional: problems with the live system that the desired state would meet at apply time
   * (e.g. a datashare on a cluster that cannot share), reported during plan.
   */
  prerequisites?(connection: string, desired: readonly Resource[]): Promise<Diagnostic[]>;
}

export interface BatchOutcome {
  /** Per change of the call: committed. */
  done: boolean[];
  /** The change whose statement failed, and the error. */
  failed?: { index: number; error: unknown };
}

/**
 * What every provider implements, warehouse or bucket: the name says what the first ones
 * were; S3 and local-bucket providers implement the same contract with API calls.
 */
export type Provider = WarehouseProvider;

export class LockTimeoutError extends Error {
  constructor(readonly holder: string) {
    super(`another apply holds the lock: ${holder}`);
    this.name = 'LockTimeoutError';
  }
}
