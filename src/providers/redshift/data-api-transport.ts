// Runs SQL on Redshift through the Data API: submit, poll until the statement settles, page
// through the result. The Data API is asynchronous and rate limited, so this is where
// polling backoff, throttling retries (idempotent through ClientToken), the total timeout and
// the round-trip count live; providers above it only see rows or a StatementError.
//
// The client is built by the caller. Give it `maxAttempts: 1` if this transport's retries
// should be the only ones; otherwise the SDK retries first and this transport on top of it.
import { randomUUID } from 'node:crypto';
import {
  BatchExecuteStatementCommand,
  CancelStatementCommand,
  type ColumnMetadata,
  DescribeStatementCommand,
  type DescribeStatementCommandOutput,
  ExecuteStatementCommand,
  type Field,
  GetStatementResultCommand,
  type RedshiftDataClient,
  type SubStatementData,
} from '@aws-sdk/client-redshift-data';
import { killPoint } from '../../kill-point.js';
import { AwsError, awsErrorKind } from '../aws-errors.js';
import { DataApiStatementError, DataApiThrottledError } from './data-api-errors.js';

/** Redshift's limit on the statements of one BatchExecuteStatement call. */
export const MAX_BATCH_STATEMENTS = 40;

/** Where statements run. Exactly one of cluster and workgroup; dbUser only with a cluster. */
export interface DataApiTarget {
  clusterIdentifier?: string;
  workgroupName?: string;
  database: string;
  /** Secrets Manager secret holding the database credentials. */
  secretArn?: string;
  /** Temporary credentials for this database user (provisioned clusters only). */
  dbUser?: string;
}

export interface DataApiTransportOptions {
  sleep?: (ms: number) => Promise<void>;
  /** Uniform in [0, 1): the jitter of throttling backoff. */
  random?: () => number;
  /** Milliseconds; measures the total timeout. */
  now?: () => number;
  /** First wait before DescribeStatement; each later wait is `pollFactor` times longer, up to `pollMaxMs`. */
  pollStartMs?: number;
  pollFactor?: number;
  pollMaxMs?: number;
  /** Retries of one call refused for throttling, after the first attempt. */
  maxThrottleRetries?: number;
  throttleBaseMs?: number;
  throttleMaxMs?: number;
  /** A statement that has not settled this long after submission is cancelled. */
  timeoutMs?: number;
  /** Idempotency token of one logical submission (every retry of it reuses the same one). */
  clientToken?: () => string;
  /** Called once per SDK call, with the operation name. */
  onRoundTrip?: (operation: DataApiOperation) => void;
}

export type DataApiOperation =
  | 'ExecuteStatement'
  | 'BatchExecuteStatement'
  | 'DescribeStatement'
  | 'GetStatementResult'
  | 'CancelStatement';

export interface DataApiColumn {
  name: string;
  typeName: string;
}

export interface DataApiResult {
  columns: DataApiColumn[];
  /** Keyed by column name exactly as the service returns it (Redshift lower-cases). */
  rows: Record<string, unknown>[];
}

export interface SqlParameter {
  /** Referenced in the SQL as `:name`. */
  name: string;
  value: string;
}

/** The service (or the SDK, after its own retries) said "slow down" rather than "wrong". */
export function isThrottling(e: unknown): boolean {
  return awsErrorKind(e) === 'throttling';
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class DataApiTransport {
  private trips = 0;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly pollStartMs: number;
  private readonly pollFactor: number;
  private readonly pollMaxMs: number;
  private readonly maxThrottleRetries: number;
  private readonly throttleBaseMs: number;
  private readonly throttleMaxMs: number;
  private readonly timeoutMs: number;
  private readonly clientToken: () => string;
  private readonly onRoundTrip: ((operation: DataApiOperation) => void) | undefined;

  constructor(
    private readonly client: RedshiftDataClient,
    private readonly target: DataApiTarget,
    options: DataApiTransportOptions = {},
  ) {
    checkTarget(target);
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.pollStartMs = options.pollStartMs ?? 50;
    this.pollFactor = options.pollFactor ?? 1.5;
    this.pollMaxMs = options.pollMaxMs ?? 2000;
    this.maxThrottleRetries = options.maxThrottleRetries ?? 8;
    this.throttleBaseMs = options.throttleBaseMs ?? 200;
    this.throttleMaxMs = options.throttleMaxMs ?? 10_000;
    this.timeoutMs = options.timeoutMs ?? 15 * 60_000;
    this.clientToken = options.clientToken ?? randomUUID;
    this.onRoundTrip = options.onRoundTrip;
  }

  /** SDK calls made so far, retries included. */
  get roundTrips(): number {
    return this.trips;
  }

  async query(sql: string, parameters: SqlParameter[] = []): Promise<DataApiResult> {
    const submittedAt = this.now();
    const token = this.clientToken();
    const out = await this.withRetry('ExecuteStatement', () =>
      this.client.send(
        new ExecuteStatementCommand({
          ...this.targetInput(),
          Sql: sql,
          // The API refuses an empty parameter list; omit it instead.
          ...(parameters.length > 0 ? { Parameters: parameters } : {}),
          ClientToken: token,
        }),
      ),
    );
    const id = requireId(out.Id, 'ExecuteStatement');
    const done = await this.settle(id, [sql], submittedAt);
    if (!done.HasResultSet) return { columns: [], rows: [] };
    return this.fetchResult(id);
  }

  /**
   * Runs one statement and yields its result page by page (as the service pages it), so a
   * large result is never held whole. The statement runs once, in one snapshot.
   */
  async *stream(sql: string): AsyncGenerator<DataApiResult> {
    const submittedAt = this.now();
    const token = this.clientToken();
    const out = await this.withRetry('ExecuteStatement', () =>
      this.client.send(new ExecuteStatementCommand({ ...this.targetInput(), Sql: sql, ClientToken: token })),
    );
    const id = requireId(out.Id, 'ExecuteStatement');
    const done = await this.settle(id, [sql], submittedAt);
    if (!done.HasResultSet) return;
    let columns: DataApiColumn[] = [];
    let nextToken: string | undefined;
    do {
      const pageToken = nextToken;
      const page = await this.withRetry('GetStatementResult', () =>
        this.client.send(
          new GetStatementResultCommand({ Id: id, ...(pageToken ? { NextToken: pageToken } : {}) }),
        ),
      );
      if (columns.length === 0 && page.ColumnMetadata) columns = page.ColumnMetadata.map(toColumn);
      const rows = (page.Records ?? []).map((record) => {
        const row: Record<string, unknown> = {};
        record.forEach((field, i) => {
          row[columns[i]?.name ?? `column${i + 1}`] = fieldValue(field);
        });
        return row;
      });
      yield { columns, rows };
      nextToken = page.NextToken || undefined;
    } while (nextToken);
  }

  /** Runs the statements as one transaction (Redshift's semantics for a batch). */
  async batch(sqls: string[]): Promise<void> {
    await this.submitBatch(sqls);
  }

  /** Like `batch`, and returns each statement's result set, in order (empty for statements without one). */
  async batchQuery(sqls: string[]): Promise<DataApiResult[]> {
    const settled = await this.submitBatch(sqls);
    if (!settled) return [];
    const results: DataApiResult[] = [];
    for (const [i, sub] of subStatementsInOrder(settled.id, settled.done, sqls.length).entries()) {
      results[i] = sub.HasResultSet ? await this.fetchResult(sub.Id!) : { columns: [], rows: [] };
    }
    return results;
  }

  private async submitBatch(
    sqls: string[],
  ): Promise<{ id: string; done: DescribeStatementCommandOutput } | null> {
    if (sqls.length > MAX_BATCH_STATEMENTS) {
      throw new Error(
        `a Data API batch holds at most ${MAX_BATCH_STATEMENTS} statements; got ${sqls.length}. ` +
          'Split it, knowing each batch is its own transaction.',
      );
    }
    if (sqls.length === 0) return null;
    const submittedAt = this.now();
    const token = this.clientToken();
    const out = await this.withRetry('BatchExecuteStatement', () =>
      this.client.send(
        new BatchExecuteStatementCommand({ ...this.targetInput(), Sqls: sqls, ClientToken: token }),
      ),
    );
    const id = requireId(out.Id, 'BatchExecuteStatement');
    killPoint('after-submit');
    return { id, done: await this.settle(id, sqls, submittedAt) };
  }

  /** Polls until the statement is FINISHED; FAILED, ABORTED and the timeout throw. */
  private async settle(
    id: string,
    sqls: string[],
    submittedAt: number,
  ): Promise<DescribeStatementCommandOutput> {
    for (let delay = this.pollStartMs; ; delay = Math.min(delay * this.pollFactor, this.pollMaxMs)) {
      const remaining = submittedAt + this.timeoutMs - this.now();
      await this.sleep(Math.max(0, Math.min(delay, remaining)));
      const d = await this.withRetry('DescribeStatement', () =>
        this.client.send(new DescribeStatementCommand({ Id: id })),
      );
      const status = d.Status;
      switch (status) {
        case 'FINISHED':
          return d;
        case 'FAILED':
          throw failure(id, d, sqls);
        case 'ABORTED':
          throw new DataApiStatementError(
            'aborted',
            'the statement was aborted before it finished (cancelled, or stopped by the warehouse)',
            sqls.join(';\n'),
            `statement ${id}`,
            id,
          );
        case 'SUBMITTED':
        case 'PICKED':
        case 'STARTED':
        // 'ALL' is a filter value of ListStatements, never a statement's status; an absent
        // status is treated as still running, bounded by the timeout like any other.
        case 'ALL':
        case undefined:
          break;
        default: {
          const unknown: never = status;
          throw new Error(`unexpected Data API statement status ${String(unknown)}`);
        }
      }
      if (this.now() - submittedAt >= this.timeoutMs) throw await this.timeout(id, sqls);
    }
  }

  private async timeout(id: string, sqls: string[]): Promise<DataApiStatementError> {
    let cancelled = 'cancelled';
    try {
      await this.call('CancelStatement', () => this.client.send(new CancelStatementCommand({ Id: id })));
    } catch (e) {
      // It may have settled in the meantime; the timeout is still what the caller must hear.
      cancelled = `cancel failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    const minutes = this.timeoutMs / 60_000;
    const limit = minutes >= 1 ? `${minutes} min` : `${this.timeoutMs} ms`;
    return new DataApiStatementError(
      'timeout',
      `the statement did not finish within ${limit} and was cancelled`,
      sqls.join(';\n'),
      `statement ${id}; ${cancelled}`,
      id,
    );
  }

  private async fetchResult(id: string): Promise<DataApiResult> {
    let columns: DataApiColumn[] = [];
    const rows: Record<string, unknown>[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await this.withRetry('GetStatementResult', () =>
        this.client.send(new GetStatementResultCommand({ Id: id, ...(token ? { NextToken: token } : {}) })),
      );
      if (columns.length === 0 && page.ColumnMetadata) columns = page.ColumnMetadata.map(toColumn);
      for (const record of page.Records ?? []) {
        const row: Record<string, unknown> = {};
        record.forEach((field, i) => {
          row[columns[i]?.name ?? `column${i + 1}`] = fieldValue(field);
        });
        rows.push(row);
      }
      nextToken = page.NextToken || undefined;
    } while (nextToken);
    return { columns, rows };
  }

  /** One SDK call, retried with full-jitter exponential backoff while the service throttles. */
  private async withRetry<T>(operation: DataApiOperation, send: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.call(operation, send);
      } catch (e) {
        if (!isThrottling(e)) throw e;
        if (attempt >= this.maxThrottleRetries) {
          // Already worded for its connection (see aws-errors.ts), the same as any AWS throttling.
          if (e instanceof AwsError) throw e;
          throw new DataApiThrottledError(operation, attempt + 1, e);
        }
        const cap = Math.min(this.throttleMaxMs, this.throttleBaseMs * 2 ** attempt);
        await this.sleep(this.random() * cap);
      }
    }
  }

  private call<T>(operation: DataApiOperation, send: () => Promise<T>): Promise<T> {
    this.trips++;
    this.onRoundTrip?.(operation);
    return send();
  }

  private targetInput() {
    const t = this.target;
    return {
      Database: t.database,
      ...(t.clusterIdentifier ? { ClusterIdentifier: t.clusterIdentifier } : {}),
      ...(t.workgroupName ? { WorkgroupName: t.workgroupName } : {}),
      ...(t.secretArn ? { SecretArn: t.secretArn } : {}),
      ...(t.dbUser ? { DbUser: t.dbUser } : {}),
    };
  }
}

function checkTarget(t: DataApiTarget): void {
  if (!t.database) throw new Error('a Data API target needs a database');
  if (Boolean(t.clusterIdentifier) === Boolean(t.workgroupName)) {
    throw new Error('a Data API target names exactly one of clusterIdentifier and workgroupName');
  }
  if (t.dbUser && !t.clusterIdentifier) {
    throw new Error('dbUser (temporary credentials) applies to a provisioned cluster, not a workgroup');
  }
  if (t.dbUser && t.secretArn) {
    throw new Error('give either secretArn or dbUser, not both: they are two ways to authenticate');
  }
}

function requireId(id: string | undefined, operation: DataApiOperation): string {
  if (!id) throw new Error(`${operation} answered without a statement Id`);
  return id;
}

/** The FAILED statement as an error; for a batch, the sub-statement that failed. */
function failure(id: string, d: DescribeStatementCommandOutput, sqls: string[]): DataApiStatementError {
  const subs = d.SubStatements ?? [];
  const failed = subs.find((s) => s.Status === 'FAILED');
  if (!failed) {
    return new DataApiStatementError(
      'failed',
      d.Error || 'the statement failed without an error message',
      d.QueryString ?? sqls.join(';\n'),
      `statement ${id}`,
      id,
    );
  }
  const n = subStatementNumber(failed) ?? subs.indexOf(failed) + 1;
  return new DataApiStatementError(
    'failed',
    failed.Error || d.Error || 'the statement failed without an error message',
    failed.QueryString ?? sqls[n - 1] ?? '',
    `statement ${n} of ${sqls.length} in batch ${id} failed; the batch ran as one transaction, so none of it was kept`,
    id,
  );
}

function subStatementNumber(s: SubStatementData): number | undefined {
  const m = /:(\d+)$/.exec(s.Id ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Sub-statements by position; ids follow the documented `<batch id>:<n>` form when absent. */
function subStatementsInOrder(
  id: string,
  d: DescribeStatementCommandOutput,
  count: number,
): (SubStatementData & { Id: string })[] {
  const byNumber = new Map<number, SubStatementData>();
  for (const s of d.SubStatements ?? []) {
    const n = subStatementNumber(s);
    if (n !== undefined) byNumber.set(n, s);
  }
  return Array.from({ length: count }, (_, i) => {
    const s = byNumber.get(i + 1);
    return { ...s, Id: s?.Id ?? `${id}:${i + 1}`, HasResultSet: s ? s.HasResultSet : d.HasResultSet };
  });
}

function toColumn(c: ColumnMetadata, i: number): DataApiColumn {
  return { name: c.name ?? c.label ?? `column${i + 1}`, typeName: c.typeName ?? '' };
}

function fieldValue(f: Field): unknown {
  if (f.isNull) return null;
  if (f.stringValue !== undefined) return f.stringValue;
  if (f.longValue !== undefined) return f.longValue;
  if (f.doubleValue !== undefined) return f.doubleValue;
  if (f.booleanValue !== undefined) return f.booleanValue;
  if (f.blobValue !== undefined) return f.blobValue;
  // A member a newer service added that this SDK does not model: pass its raw value on.
  if (f.$unknown !== undefined) return f.$unknown[1];
  return null;
}
