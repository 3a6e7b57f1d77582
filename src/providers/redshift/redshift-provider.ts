// Redshift provider: reads with one catalog batch (plus the control plane for datashare
// consumers), compiles with redshift-sql, and executes a plan's changes in Data API batches.
//
// Execution: consecutive changes' statements are packed into BatchExecuteStatement calls of
// at most 40 statements; each batch is one transaction, and a change is never split between
// two batches unless it alone holds more than 40 statements. A statement Redshift refuses in a
// transaction block (ALTER COLUMN ... TYPE) and control-plane calls run alone, between
// batches. When a batch fails, every change in it is rolled back: the failing change is
// reported failed, the others in the batch not run.
//
// Lock: Redshift has no advisory locks. wharf keeps one row in `wharf_meta.apply_lock`
// (holder, expiry), taken in a transaction that LOCKs the table, deletes an expired row and
// inserts its own only if the table is empty. The row expires after LOCK_LEASE_MINUTES, so a
// crashed apply blocks others for at most that long; a running apply renews it every third of
// that; release deletes the row by holder token, and reports a release that fails or finds the
// lease taken over (never silently).
import { randomUUID } from 'node:crypto';
import { ENV_REF_RE } from '../../config/env.js';
import { killPoint } from '../../kill-point.js';
import type { Resource } from '../../plan/model.js';
import type { Change, Diagnostic, Statement } from '../../plan/plan.js';
import { redshiftMd5Password } from '../password-verifier.js';
import {
  type BatchOutcome,
  type ExecuteOptions,
  type LiveSnapshot,
  type LockHandle,
  LockTimeoutError,
  type ReadScope,
  type WarehouseProvider,
} from '../provider.js';
import { quoteRedshiftLiteral } from '../sql-quote.js';
import { DataApiStatementError } from './data-api-errors.js';
import { type DataApiTarget, type DataApiTransport, MAX_BATCH_STATEMENTS } from './data-api-transport.js';
import {
  type ClusterFacts,
  prerequisiteDiagnostics,
  type RedshiftControlPlane,
} from './redshift-control-plane.js';
import {
  assembleRedshift,
  type CatalogFacts,
  type ConsumerStatuses,
  catalogFacts,
  catalogStatements,
  REDSHIFT_CAPABILITIES,
} from './redshift-introspector.js';
import { superuserDiagnostics } from './redshift-session.js';
import { compileRedshift } from './redshift-sql.js';

export const LOCK_SCHEMA = 'wharf_meta';
export const LOCK_LEASE_MINUTES = 30;

export interface RedshiftProviderOptions {
  /** Region of the control-plane client: part of ARNs built for serverless producers. */
  region?: string;
  sleep?: (ms: number) => Promise<void>;
  /** Seconds an apply lock's lease lasts (LOCK_LEASE_MINUTES by default); renewed every third of it. */
  leaseSeconds?: number;
  /** Runs `fn` every `ms` until the returned function is called (setInterval by default). */
  every?: (ms: number, fn: () => Promise<void>) => () => void;
}

/** The apply lock could not be released, or was found taken over when the apply ended. */
export class LockReleaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LockReleaseError';
  }
}

const everyInterval = (ms: number, fn: () => Promise<void>): (() => void) => {
  const timer = setInterval(() => void fn(), ms);
  timer.unref();
  return () => clearInterval(timer);
};

export class RedshiftProvider implements WarehouseProvider {
  readonly type = 'redshift';
  private namespaceArn: string | null = null;
  /** Users, groups and RBAC roles, live and declared: membership SQL depends on the kind. */
  private readonly roleKinds = new Map<string, 'user' | 'group' | 'role'>();
  private cluster: ClusterFacts | null | undefined;
  /** What the last read() told: the session user, whether a superuser, and the live state. */
  private session: { user: string; superuser: boolean | null; live: readonly Resource[] } | null = null;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly leaseSeconds: number;
  private readonly every: (ms: number, fn: () => Promise<void>) => () => void;

  constructor(
    private readonly transport: DataApiTransport,
    private readonly controlPlane: RedshiftControlPlane,
    private readonly target: DataApiTarget,
    private readonly options: RedshiftProviderOptions = {},
  ) {
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.leaseSeconds = options.leaseSeconds ?? LOCK_LEASE_MINUTES * 60;
    this.every = options.every ?? everyInterval;
  }

  async read(scope: ReadScope): Promise<LiveSnapshot> {
    const before = this.transport.roundTrips + this.controlPlane.calls;
    const results = await this.transport.batchQuery(catalogStatements(scope));
    const facts = catalogFacts(results);
    this.namespaceArn = await this.producerNamespaceArn(facts);
    let statuses: ConsumerStatuses = new Map();
    if (facts.sharesWithAccounts.length > 0 && this.namespaceArn)
      statuses = await this.controlPlane.consumerStatuses(this.namespaceArn);
    const resources = assembleRedshift(results, statuses, this.namespaceArn);
    this.learnRoleKinds(resources);
    this.session = { user: facts.user, superuser: facts.superuser, live: resources };
    return {
      resources,
      capabilities: REDSHIFT_CAPABILITIES,
      roundTrips: this.transport.roundTrips + this.controlPlane.calls - before,
      serverVersion: redshiftVersion(facts.version),
      // current_user comes with the first statement of the catalog batch.
      ...(facts.user ? { connectingRoles: [facts.user] } : {}),
    };
  }

  /** Datashare prerequisites, checked during plan before anything runs. */
  async prerequisites(connection: string, desired: readonly Resource[]): Promise<Diagnostic[]> {
    this.learnRoleKinds(desired);
    const session = this.session
      ? superuserDiagnostics(
          connection,
          this.session.user,
          this.session.superuser,
          desired,
          this.session.live,
        )
      : [];
    const shares = desired.filter((r) => r.kind === 'datashare');
    if (shares.length === 0 || !this.target.clusterIdentifier) return session;
    const crossAccount = shares.some(
      (d) => d.kind === 'datashare' && d.consumers.some((c) => c.type === 'account'),
    );
    const cluster = await this.clusterFacts();
    this.namespaceArn ??= cluster?.namespaceArn ?? null;
    return [
      ...session,
      ...prerequisiteDiagnostics(connection, cluster, this.target.clusterIdentifier, crossAccount),
    ];
  }

  compile(change: Change): Statement[] {
    return compileRedshift(change, { namespaceArn: this.namespaceArn, roleKinds: this.roleKinds });
  }

  async execute(change: Change, options: ExecuteOptions): Promise<void> {
    const outcome = await this.executeMany([change], options);
    if (outcome.failed) throw outcome.failed.error;
  }

  async executeMany(changes: readonly Change[], options: ExecuteOptions): Promise<BatchOutcome> {
    const done: boolean[] = changes.map(() => false);
    // `sql` is what runs (secrets filled in); `planned` is what errors show.
    let batch: { sql: string; planned: string; change: number }[] = [];
    const flush = async (): Promise<BatchOutcome | null> => {
      if (batch.length === 0) return null;
      const current = batch;
      batch = [];
      try {
        await this.transport.batch(current.map((b) => b.sql));
      } catch (e) {
        const at = e instanceof DataApiStatementError ? current.findIndex((b) => b.sql === e.sql) : -1;
        const failed = current[Math.max(0, at)]!;
        const error =
          e instanceof DataApiStatementError && at >= 0
            ? new DataApiStatementError(e.reason, e.message, failed.planned, e.detail, e.statementId)
            : e;
        return { done, failed: { index: failed.change, error } };
      }
      for (const b of current) done[b.change] = true;
      killPoint('after-batch');
      return null;
    };
    for (const [i, change] of changes.entries()) {
      const sqlCount = change.statements.filter((s) => !s.api && s.transactional !== false).length;
      if (batch.length > 0 && batch.length + sqlCount > MAX_BATCH_STATEMENTS) {
        const r = await flush();
        if (r) return r;
      }
      for (const [j, st] of change.statements.entries()) {
        if (st.api || st.transactional === false) {
          const r = await flush();
          if (r) return r;
          try {
            if (st.api) {
              killPoint('between-sql-and-control-plane');
              await this.runApi(st);
            } else await this.transport.query(fill(st, change, options));
          } catch (e) {
            return { done, failed: { index: i, error: partlyApplied(change, j, e) } };
          }
          continue;
        }
        if (batch.length >= MAX_BATCH_STATEMENTS) {
          const r = await flush();
          if (r) return r;
        }
        batch.push({ sql: fill(st, change, options), planned: st.sql, change: i });
      }
      if (!batch.some((b) => b.change === i)) done[i] = true;
    }
    const r = await flush();
    return r ?? { done };
  }

  async lock(holder: string, timeoutMs: number): Promise<LockHandle> {
    const token = `${holder.slice(0, 200)} [${randomUUID().slice(0, 8)}]`;
    const table = `${LOCK_SCHEMA}.apply_lock`;
    const mine = quoteRedshiftLiteral(token);
    const lease = `INTERVAL '${this.leaseSeconds} seconds'`;
    const deadline = Date.now() + timeoutMs;
    let raced = false;
    for (let delay = 500; ; delay = Math.min(delay * 2, 5000)) {
      const attempt = this.transport.batchQuery([
        `CREATE SCHEMA IF NOT EXISTS ${LOCK_SCHEMA}`,
        `CREATE TABLE IF NOT EXISTS ${table} (holder VARCHAR(256) NOT NULL, expires_at TIMESTAMP NOT NULL)`,
        `LOCK ${table}`,
        // An expired lease is taken over: its apply crashed or lost its connection.
        `DELETE FROM ${table} WHERE expires_at < GETDATE()`,
        `INSERT INTO ${table} SELECT ${mine}, GETDATE() + ${lease} WHERE NOT EXISTS (SELECT 1 FROM ${table})`,
        `SELECT holder FROM ${table}`,
      ]);
      let results: Awaited<typeof attempt>;
      try {
        results = await attempt;
      } catch (e) {
        // Two first applies creating the schema and table at the same moment: the catalog
        // refuses one (or Redshift aborts it, error 1023); the objects exist when it tries again.
        if (raced || !(e instanceof DataApiStatementError)) throw e;
        if (!e.sql.startsWith('CREATE ') && !/\b1023\b/.test(e.message)) throw e;
        raced = true;
        continue;
      }
      const current = String(results[5]?.rows[0]?.holder ?? '');
      if (current === token) break;
      if (Date.now() >= deadline) throw new LockTimeoutError(current || 'an unknown apply');
      await this.sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
    }
    // A long apply renews its lease, so the row never expires while it still runs. A renewal
    // that fails is kept to explain a lease found lost at release.
    let renewFailure: string | undefined;
    const stop = this.every((this.leaseSeconds / 3) * 1000, async () => {
      try {
        await this.transport.query(
          `UPDATE ${table} SET expires_at = GETDATE() + ${lease} WHERE holder = ${mine}`,
        );
      } catch (e) {
        renewFailure = e instanceof Error ? e.message : String(e);
      }
    });
    return {
      release: async () => {
        stop();
        let held: number;
        try {
          const [count] = await this.transport.batchQuery([
            `SELECT COUNT(*) AS n FROM ${table} WHERE holder = ${mine}`,
            `DELETE FROM ${table} WHERE holder = ${mine}`,
          ]);
          held = Number(count?.rows[0]?.n ?? 0);
        } catch (e) {
          throw new LockReleaseError(
            `the apply lock (${table}, holder ${token}) could not be released: ${e instanceof Error ? e.message : String(e)}; other applies wait until it expires, at most ${this.leaseMinutes()} after its last renewal`,
          );
        }
        if (held === 0)
          throw new LockReleaseError(
            `the apply lock (${table}, holder ${token}) was no longer held when this apply ended: its lease expired${renewFailure ? ` (renewing it failed: ${renewFailure})` : ''} and another apply may have run at the same time`,
          );
      },
    };
  }

  private leaseMinutes(): string {
    return this.leaseSeconds % 60 === 0
      ? `${this.leaseSeconds / 60} minutes`
      : `${this.leaseSeconds} seconds`;
  }

  async close(): Promise<void> {}

  private learnRoleKinds(resources: readonly Resource[]): void {
    for (const r of resources)
      if (r.kind === 'role') this.roleKinds.set(r.name, r.login ? 'user' : (r.roleKind ?? 'group'));
  }

  private async clusterFacts(): Promise<ClusterFacts | null> {
    if (this.cluster === undefined)
      this.cluster = this.target.clusterIdentifier
        ? await this.controlPlane.describeCluster(this.target.clusterIdentifier)
        : null;
    return this.cluster;
  }

  /** Provisioned: the cluster's namespace ARN; serverless: built from the SQL-side facts. */
  private async producerNamespaceArn(facts: CatalogFacts): Promise<string | null> {
    if (this.target.clusterIdentifier) {
      // DescribeClusters only when a share exists; prerequisites() reads it for new shares.
      if (facts.outboundShares === 0 && this.cluster === undefined) return null;
      return (await this.clusterFacts())?.namespaceArn ?? null;
    }
    const account =
      facts.producerAccount ?? /^arn:[^:]+:[^:]+:[^:]*:(\d{12}):/.exec(this.target.secretArn ?? '')?.[1];
    if (!account || !facts.namespace || !this.options.region) return null;
    return `arn:aws:redshift:${this.options.region}:${account}:namespace:${facts.namespace}`;
  }

  private async runApi(st: Statement): Promise<void> {
    const call = st.api!;
    const arn = call.input.DataShareArn;
    const consumer = String(call.input.ConsumerIdentifier);
    if (typeof arn !== 'string' || arn === '')
      throw new Error(
        `${call.operation} for ${consumer}: the producer namespace ARN is unknown; plan again once the cluster is reachable`,
      );
    if (call.operation === 'AuthorizeDataShare') await this.controlPlane.authorize(arn, consumer);
    else if (call.operation === 'DeauthorizeDataShare') await this.controlPlane.deauthorize(arn, consumer);
    else throw new Error(`unknown Redshift control-plane operation ${call.operation}`);
  }
}

/**
 * A statement that runs alone (a control-plane call, or SQL outside a transaction block)
 * failed after earlier statements of its change were committed: the error says which part is
 * in place and which is not, since a failed change is otherwise read as not applied at all.
 */
function partlyApplied(change: Change, failedAt: number, e: unknown): unknown {
  const st = change.statements[failedAt]!;
  const before = change.statements.slice(0, failedAt);
  const after = change.statements.slice(failedAt + 1);
  if (before.length === 0) return e;
  const sql = before.filter((s) => !s.api).length;
  const api = before.filter((s) => s.api).map(describeApi);
  const committed = [
    ...(sql > 0 ? [`${sql} SQL statement${sql === 1 ? ' is' : 's are'} committed`] : []),
    ...(api.length > 0 ? [`${api.join(', ')} succeeded`] : []),
  ].join('; ');
  const failed = st.api ? describeApi(st) : 'the statement below';
  const rest = after.length > 0 ? ` and the ${after.length} after it did not run` : '';
  const err = e as Error & { detail?: string };
  const out = new Error(err.message ?? String(e), { cause: e }) as Error & { sql: string; detail: string };
  out.name = err.name ?? 'Error';
  out.sql = st.sql;
  out.detail = `partly applied: ${committed}; ${failed} did not${st.api ? ' happen' : ' run'}${rest}${err.detail ? ` (${err.detail})` : ''}`;
  return out;
}

/** `AuthorizeDataShare` for consumer 388856629077 -> `the authorization of 388856629077`. */
function describeApi(st: Statement): string {
  const consumer = String(st.api!.input.ConsumerIdentifier);
  switch (st.api!.operation) {
    case 'AuthorizeDataShare':
      return `the authorization of ${consumer} (AuthorizeDataShare)`;
    case 'DeauthorizeDataShare':
      return `the deauthorization of ${consumer} (DeauthorizeDataShare)`;
    default:
      return st.api!.operation;
  }
}

/** `PostgreSQL 8.0.2 on i686-pc-linux-gnu, ... Redshift 1.0.77467` -> `Redshift 1.0.77467`. */
function redshiftVersion(v: string): string {
  const m = /Redshift\s+([\d.]+)/i.exec(v);
  return m ? `Redshift ${m[1]}` : v;
}

/**
 * The statement as it runs. Placeholders are user passwords (CREATE USER … PASSWORD): each
 * becomes the `md5…` hash Redshift accepts instead of clear text, salted with the user's name.
 */
function fill(st: Statement, change: Change, options: ExecuteOptions): string {
  if (!st.secrets) return st.sql;
  const user = change.after?.kind === 'role' ? change.after.name : undefined;
  if (!user) throw new Error(`${change.address}: a password placeholder outside a user's change`);
  return st.sql.replace(ENV_REF_RE, (_, name: string) =>
    quoteRedshiftLiteral(redshiftMd5Password(options.resolveSecret(name), user)),
  );
}
