// PostgreSQL provider: reads with one catalog query, compiles with postgres-sql, and applies
// consecutive changes in few round trips: up to 500 changes (1 MiB of SQL) go to the server as
// one message, each change still its own transaction (postgres-batch.ts), and a failure stops
// the run with every change done, failed or not run. Applies are serialized by a session-level
// advisory lock on the same session (no second login: a login costs more than the stale check),
// whose holder is named via application_name.
import type pg from 'pg';
import { ENV_REF_RE } from '../../config/env.js';
import { killPoint } from '../../kill-point.js';
import type { Change, Statement } from '../../plan/plan.js';
import { scramSha256Verifier } from '../password-verifier.js';
import {
  type BatchOutcome,
  type ExecuteOptions,
  type LiveSnapshot,
  type LockHandle,
  LockTimeoutError,
  type ReadScope,
  type WarehouseProvider,
} from '../provider.js';
import { quoteLiteral } from '../sql-quote.js';
import {
  type BatchChange,
  MAX_BATCH_BYTES,
  MAX_BATCH_CHANGES,
  RESTORE_AFTER_FAILURE,
  runBatch,
} from './postgres-batch.js';
import { readPostgres } from './postgres-introspector.js';
import { compilePostgres } from './postgres-sql.js';

/** Advisory lock key (two int4): "wharf" apply lock. Same for every wharf version. */
const LOCK_CLASS = 0x77686172; // 'whar'
const LOCK_OBJ = 1;

export class StatementError extends Error {
  constructor(
    message: string,
    /** The statement as planned (placeholders, never resolved secrets). */
    readonly sql: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'StatementError';
  }
}

export class PostgresProvider implements WarehouseProvider {
  /** `client` is connected by the caller, and closed by close(). */
  constructor(
    private readonly client: pg.Client,
    readonly type: 'postgres' | 'local' = 'postgres',
  ) {}

  /** The database this session is connected to (roles are marked with it). */
  get database(): string {
    return this.client.database ?? 'postgres';
  }

  read(scope: ReadScope): Promise<LiveSnapshot> {
    return readPostgres(this.client, this.database, scope);
  }

  compile(change: Change): Statement[] {
    return compilePostgres(change, { database: this.database });
  }

  /** One change, one round trip. */
  async execute(change: Change, options: ExecuteOptions): Promise<void> {
    const outcome = await this.executeMany([change], options);
    if (outcome.failed) throw outcome.failed.error;
  }

  async executeMany(changes: readonly Change[], options: ExecuteOptions): Promise<BatchOutcome> {
    const done = changes.map(() => false);
    const commit = (count: number) => {
      for (let k = 0; k < count; k++) done[k] = true;
      options.committed?.(count);
    };
    // After a message the server refused as a whole, its changes go one per message, so the
    // failure lands on the change it belongs to.
    let alone = 0;
    for (let i = 0; i < changes.length; ) {
      // A signal stops the run between round trips: what committed is reported, the rest not run.
      if (options.signal?.aborted) return { done };
      if (!changes[i]!.statements.every(inTransaction)) {
        try {
          await this.runOutsideTransaction(changes[i]!, options);
        } catch (e) {
          return { done, failed: { index: i, error: e } };
        }
        commit(++i);
        continue;
      }
      const batch: BatchChange[] = [];
      let bytes = 0;
      for (let k = i; k < changes.length && batch.length < (alone > 0 ? 1 : MAX_BATCH_CHANGES); k++) {
        const c = changes[k]!;
        if (!c.statements.every(inTransaction)) break;
        let run: string[];
        try {
          run = c.statements.map((st) => (st.secrets ? fillSecrets(st.sql, options) : st.sql));
        } catch (e) {
          // A secret that cannot be filled fails its change, once the ones before it ran.
          if (batch.length === 0) return { done, failed: { index: i, error: e } };
          break;
        }
        const size = run.reduce((n, sql) => n + sql.length, 0);
        if (batch.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
        bytes += size;
        batch.push({ run, planned: c.statements.map((st) => st.sql) });
      }
      const r = await runBatch(this.client, batch);
      if (alone > 0) alone--;
      if (r.committed > 0) commit(i + r.committed);
      if (!r.failed) {
        killPoint('after-batch');
        i += batch.length;
        continue;
      }
      await this.client.query(RESTORE_AFTER_FAILURE).catch(() => {});
      if (r.failed.ranNothing && r.failed.fromServer && batch.length > 1) {
        alone = batch.length;
        continue;
      }
      // The changes before the failure committed without waiting for their flush.
      if (r.committed > 0) await this.awaitFlush();
      const err = r.failed.error as Error & { detail?: string; hint?: string };
      return {
        done,
        failed: {
          index: i + r.failed.change,
          error: new StatementError(
            err.message,
            r.failed.sql ?? '',
            [err.detail, err.hint].filter(Boolean).join(' ') || undefined,
          ),
        },
      };
    }
    return { done };
  }

  /**
   * A change holding a statement the engine refuses inside a transaction block (wharf compiles
   * none for PostgreSQL today; a plan file may say so): sent on its own, one statement per
   * round trip, each committing as it runs.
   */
  private async runOutsideTransaction(change: Change, options: ExecuteOptions): Promise<void> {
    for (const st of change.statements) {
      try {
        await this.client.query(st.secrets ? fillSecrets(st.sql, options) : st.sql);
      } catch (e) {
        const err = e as Error & { detail?: string; hint?: string };
        throw new StatementError(
          err.message,
          st.sql,
          [err.detail, err.hint].filter(Boolean).join(' ') || undefined,
        );
      }
    }
  }

  /**
   * Waits (a few hundred ms at most: the server's WAL writer flushes on its own) until the WAL
   * written so far is on disk, so changes committed asynchronously before a failure are
   * durable before they are reported done. Best effort: a server that cannot say (a session
   * lost, functions out of reach) leaves them to that writer.
   */
  private async awaitFlush(): Promise<void> {
    try {
      const { rows } = await this.client.query<{ lsn: string }>(
        'SELECT pg_current_wal_insert_lsn()::text AS lsn',
      );
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const r = await this.client.query<{ ok: boolean }>(
          'SELECT pg_current_wal_flush_lsn() >= $1::pg_lsn AS ok',
          [rows[0]!.lsn],
        );
        if (r.rows[0]?.ok) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } catch {
      // best effort, see above
    }
  }

  /**
   * The apply lock: a session-level advisory lock on wharf's own session, so it outlives the
   * changes' transactions and goes with the session if wharf dies. While it waits, the holder
   * is named from its application_name.
   */
  async lock(holder: string, timeoutMs: number): Promise<LockHandle> {
    const c = this.client;
    await c.query('SELECT set_config($1, $2, false)', ['application_name', holder.slice(0, 63)]);
    const deadline = Date.now() + timeoutMs;
    for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
      const { rows } = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
        LOCK_CLASS,
        LOCK_OBJ,
      ]);
      if (rows[0]?.ok) break;
      if (Date.now() >= deadline) {
        const who = await c.query<{ holder: string }>(
          `SELECT format('%s (pid %s, user %s, since %s)', a.application_name, a.pid, a.usename,
                  to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')) AS holder
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.granted`,
          [LOCK_CLASS, LOCK_OBJ],
        );
        throw new LockTimeoutError(who.rows[0]?.holder ?? 'an unknown session');
      }
      await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
    }
    return {
      release: async () => {
        await c.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_CLASS, LOCK_OBJ]).catch(() => {});
      },
    };
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}

const inTransaction = (st: Statement) => st.transactional !== false;

/**
 * The statement as it runs. Placeholders are role passwords (CREATE ROLE … PASSWORD): each
 * becomes a SCRAM-SHA-256 verifier computed here, which PostgreSQL stores as it is, so the
 * clear text never reaches the server, its statement log or pg_stat_statements.
 */
function fillSecrets(sql: string, options: ExecuteOptions): string {
  return sql.replace(ENV_REF_RE, (_, name: string) =>
    quoteLiteral(scramSha256Verifier(options.resolveSecret(name))),
  );
}
