// PostgreSQL provider: reads with one catalog query, compiles with postgres-sql, executes
// each change as one implicit transaction (a single multi-statement round trip), and
// serializes applies with an advisory lock whose holder is named via application_name.
import type pg from 'pg';
import { ENV_REF_RE } from '../../config/env.js';
import type { Change, Statement } from '../../plan/plan.js';
import { scramSha256Verifier } from '../password-verifier.js';
import {
  type ExecuteOptions,
  type LiveSnapshot,
  type LockHandle,
  LockTimeoutError,
  type ReadScope,
  type WarehouseProvider,
} from '../provider.js';
import { quoteLiteral } from '../sql-quote.js';
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
  /** `client` is connected by the caller; `connectLock` opens a second session for the lock. */
  constructor(
    private readonly client: pg.Client,
    private readonly connectLock: () => Promise<pg.Client>,
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

  async execute(change: Change, options: ExecuteOptions): Promise<void> {
    // All of a change's statements commit together or not at all; each statement is its own
    // round trip so a failure names the exact statement that failed.
    await this.client.query('BEGIN');
    try {
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
      await this.client.query('COMMIT');
    } catch (e) {
      await this.client.query('ROLLBACK').catch(() => {});
      throw e;
    }
  }

  async lock(holder: string, timeoutMs: number): Promise<LockHandle> {
    const c = await this.connectLock();
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
        await c.end().catch(() => {});
        throw new LockTimeoutError(who.rows[0]?.holder ?? 'an unknown session');
      }
      await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
    }
    return {
      release: async () => {
        await c.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_CLASS, LOCK_OBJ]).catch(() => {});
        await c.end().catch(() => {});
      },
    };
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}

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
