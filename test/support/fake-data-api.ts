// A loopback stand-in for the Redshift Data API: a node:http server on 127.0.0.1 speaking
// AWS JSON 1.1 the way the real SDK does (POST /, `x-amz-target: RedshiftData.<Operation>`,
// errors as HTTP 400 with `x-amzn-errortype` and a `__type` body), so tests drive the real
// RedshiftDataClient. Statements run on a real PostgreSQL, behaving like the service:
//
// - a session per statement: each ExecuteStatement and each BatchExecuteStatement runs on a
//   session of its own (from a pool, reset with DISCARD ALL between uses, so no temporary
//   table or setting outlives its statement), started with the settings the `pg` client had
//   when the fake started (the emulator's search_path and string settings);
// - asynchronous: a submission is answered at once and the statement runs in the background,
//   to its end even when nobody polls it again (a killed client does not stop it);
//   DescribeStatement reports SUBMITTED, PICKED, STARTED until it settles;
// - serializable: every transaction runs at SERIALIZABLE, a batch as one transaction (rolled
//   back when a sub-statement fails), and PostgreSQL's serialization failures are reported as
//   Redshift's error 1023
//   (https://docs.aws.amazon.com/redshift/latest/dg/c_serial_isolation-serializable-isolation-troubleshooting.html);
// - the documented limits: 1 to 40 statements per batch, 100 KB of SQL per statement, 64 KB
//   per result row and a bounded result size
//   (https://docs.aws.amazon.com/redshift/latest/mgmt/data-api-troubleshooting.html).
//
// Queries matching an `answer` fixture are answered from its rows instead, which is how
// Redshift-only catalog views (SVV_DATASHARES, ...) are served.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { isUnload, runUnload } from './fake-unload.js';

/** A Field of GetStatementResult, as it travels in JSON (blobs are base64). */
export type WireField =
  | { isNull: true }
  | { booleanValue: boolean }
  | { longValue: number }
  | { doubleValue: number }
  | { stringValue: string }
  | { blobValue: string };

export interface WireColumn {
  name: string;
  label: string;
  typeName: string;
  nullable: number;
  isCaseSensitive: boolean;
  isCurrency: boolean;
  isSigned: boolean;
  precision: number;
  scale: number;
  length: number;
  schemaName: string;
  tableName: string;
}

/** Rows for `answer`: objects keyed by column name, or arrays in column order. */
export interface FixtureResult {
  columns: { name: string; typeName: string }[];
  rows: (Record<string, unknown> | unknown[])[];
}

export type ThrottleKind = 'ActiveStatementsExceededException' | 'ThrottlingException';

export interface RecordedCall {
  /** The `x-amz-target` header, e.g. `RedshiftData.ExecuteStatement`. */
  target: string;
  /** The operation alone, e.g. `ExecuteStatement`. */
  operation: string;
  // biome-ignore lint/suspicious/noExplicitAny: request bodies are free-form JSON that tests inspect field by field
  body: any;
  /** HTTP status and JSON answered; set once the answer is sent. */
  status?: number;
  // biome-ignore lint/suspicious/noExplicitAny: as for body
  response?: any;
}

export interface Execution {
  statementId: string;
  sql: string;
  source: 'postgres' | 'fixture';
}

export interface FakeDataApiOptions {
  /**
   * Connected by the caller; the fake never ends it. Statements run on sessions of their own,
   * opened with this client's connection parameters and the settings it has at start.
   */
  pg: pg.Client;
  pageSize?: number;
  startedPolls?: number;
  runMs?: number;
  /**
   * Turns a statement's SQL into what PostgreSQL runs instead (e.g. the Redshift emulator's
   * rewriter); the statement keeps its own text everywhere else. Fixtures match the original.
   * `inBatch`: the statement is a sub-statement of a BatchExecuteStatement (a transaction block).
   */
  rewrite?: (sql: string, ctx: { inBatch: boolean }) => string;
  /** The S3 server an UNLOAD writes its files to (support/fake-unload.ts); UNLOAD fails without it. */
  s3Endpoint?: string;
}

/** A statement held before it settles (a batch before its COMMIT), until released. */
export interface Pause {
  /** Resolves once a matching statement has run its SQL and waits. */
  reached: Promise<string>;
  release(): void;
}

export interface FakeDataApi {
  endpoint: string;
  /** Every request, in arrival order, throttled ones included. */
  calls: RecordedCall[];
  /** Every statement that ran, on PostgreSQL or from a fixture; a batch contributes one per sub-statement. */
  executions: Execution[];
  /** Records per GetStatementResult page. */
  pageSize: number;
  /**
   * DescribeStatement calls that report SUBMITTED/PICKED/STARTED before the final status, at
   * least (read at submission). The statement runs meanwhile; only its status is held back.
   */
  startedPolls: number;
  /**
   * Milliseconds a statement takes at least (read at submission): a batch keeps its
   * transaction open that long before COMMIT, a single statement waits that long before it
   * runs. A kill of the client in that time lands while the statement is still running.
   */
  runMs: number;
  /** Bytes of result a statement may produce (the service's documented limit by default). */
  maxResultBytes: number;
  /** The next `n` submissions answer the given throttling error instead of running. */
  throttleNext(n: number, kind?: ThrottleKind): void;
  /** Answers statements matching `sqlMatcher` from these rows instead of PostgreSQL; the latest match wins. */
  answer(sqlMatcher: RegExp, result: FixtureResult): void;
  /** Holds the next statement one of whose SQL texts matches, before it settles, until released. */
  pauseBeforeCommit(sqlMatcher: RegExp): Pause;
  /** Resolves once every statement submitted so far has settled. */
  settled(): Promise<void>;
  /** Calls of one operation. */
  count(operation: string): number;
  close(): Promise<void>;
}

type Status = 'SUBMITTED' | 'PICKED' | 'STARTED' | 'FINISHED' | 'FAILED' | 'ABORTED';
const FINAL = new Set<Status>(['FINISHED', 'FAILED', 'ABORTED']);

interface SubStatement {
  id: string;
  sql: string;
  status: Status;
  error?: string;
  hasResultSet: boolean;
  resultRows: number;
  resultSize: number;
  columns: WireColumn[];
  records: WireField[][];
}

interface Statement {
  id: string;
  /** Like the warehouse's query id: a number that grows with each statement. */
  queryId: number;
  kind: 'single' | 'batch';
  subs: SubStatement[];
  parameters: { name: string; value: string }[];
  target: Record<string, string>;
  createdAt: number;
  updatedAt: number;
  /** Polls that report a running status at least. */
  lagPolls: number;
  /** Epoch ms before which the statement does not settle. */
  holdUntil: number;
  polls: number;
  /** What the statement is really doing; `reported` is what DescribeStatement last said. */
  status: Status;
  error?: string;
  /** The warehouse session running it. */
  pid?: number;
  cancelRequested: boolean;
  /** Held by a pause (pauseBeforeCommit) until it is released. */
  paused: boolean;
  /** Wakes a statement waiting out its run time or a pause. */
  wake: () => void;
  /** The submission's answer, repeated for a duplicate ClientToken. */
  response: Record<string, unknown>;
  /** Settles when the statement does. */
  done: Promise<void>;
}

class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const THROTTLE_MESSAGES: Record<ThrottleKind, string> = {
  ActiveStatementsExceededException:
    'Active statements exceeded the allowed quota. Wait for running statements to finish.',
  ThrottlingException: 'Rate exceeded',
};

/** BatchExecuteStatement's Sqls: 1 to 40 statements (Data API reference, BatchExecuteStatement). */
const MAX_BATCH = 40;
/** Data API: a statement's SQL is at most 100 KB (the service answers this ValidationException). */
export const MAX_SQL_BYTES = 100_000;
/** Data API troubleshooting: "64 KB per row in the result set returned by the database". */
export const MAX_ROW_BYTES = 64 * 1024;
/**
 * Data API troubleshooting: the result set returned by the database is limited to 100 MB (the
 * English page now says 500 MB; the stricter figure is kept so wharf relies on neither).
 */
export const MAX_RESULT_BYTES = 100 * 1024 * 1024;
/**
 * How long DescribeStatement waits for a statement that nothing holds to settle before it
 * answers STARTED: long enough that poll counts do not depend on the machine's load.
 */
const SETTLE_WAIT_MS = 5_000;
const INT_TYPES = new Set(['int2', 'int4', 'int8', 'oid', 'smallint', 'integer', 'bigint', 'xid']);
const FLOAT_TYPES = new Set(['float4', 'float8', 'real', 'double precision']);
const BOOL_TYPES = new Set(['bool', 'boolean']);
const BLOB_TYPES = new Set(['bytea', 'varbyte']);
const raw = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

/** Redshift's report of a serializable isolation violation (error 1023), for PostgreSQL's 40001. */
export function redshift1023(relationId: number, xid: string, pid: number): string {
  return `ERROR: 1023 DETAIL: Serializable isolation violation on table - ${relationId}, transactions forming the cycle are: ${xid} (pid:${pid})`;
}

/** A `-c name=value` startup option, spaces and backslashes escaped as libpq expects. */
const startupOption = (name: string, value: string) => `-c ${name}=${value.replace(/([\\ ])/g, '\\$1')}`;

export async function startFakeDataApi(opts: FakeDataApiOptions): Promise<FakeDataApi> {
  const admin = opts.pg;
  // The sessions start as the given client is now (the emulator's search_path and string
  // settings), at SERIALIZABLE, Redshift's isolation level.
  const { rows: settings } = await admin.query<{ name: string; setting: string }>(
    "SELECT name, setting FROM pg_settings WHERE source = 'session' AND name <> 'default_transaction_isolation'",
  );
  const pool = new pg.Pool({
    host: admin.host,
    port: admin.port,
    ...(admin.user ? { user: admin.user } : {}),
    ...(admin.password ? { password: admin.password } : {}),
    ...(admin.database ? { database: admin.database } : {}),
    max: 16,
    idleTimeoutMillis: 5_000,
    options: [
      ...settings.map((s) => startupOption(s.name, s.setting)),
      startupOption('default_transaction_isolation', 'serializable'),
    ].join(' '),
  });
  pool.on('error', () => {});
  const statements = new Map<string, Statement>();
  const tokens = new Map<string, string>();
  const fixtures: { matcher: RegExp; result: FixtureResult }[] = [];
  const pauses: { matcher: RegExp; hit: (id: string) => void; released: Promise<void> }[] = [];
  let throttles: ThrottleKind[] = [];
  let closed = false;

  const api: FakeDataApi = {
    endpoint: '',
    calls: [],
    executions: [],
    pageSize: opts.pageSize ?? 1000,
    startedPolls: opts.startedPolls ?? 0,
    runMs: opts.runMs ?? 0,
    maxResultBytes: MAX_RESULT_BYTES,
    throttleNext(n, kind = 'ActiveStatementsExceededException') {
      throttles = [...throttles, ...Array.from({ length: n }, () => kind)];
    },
    answer(matcher, result) {
      fixtures.push({ matcher, result });
    },
    pauseBeforeCommit(matcher) {
      let hit!: (id: string) => void;
      let release!: () => void;
      const reached = new Promise<string>((r) => {
        hit = r;
      });
      const released = new Promise<void>((r) => {
        release = r;
      });
      pauses.push({ matcher, hit, released });
      return { reached, release };
    },
    settled: async () => {
      await Promise.all([...statements.values()].map((st) => st.done));
    },
    count(operation) {
      return api.calls.filter((c) => c.operation === operation).length;
    },
    close: async () => {},
  };

  /** Result columns' PostgreSQL type names, read on the statement's own session. */
  async function typeNamesOf(client: pg.PoolClient, oids: number[]): Promise<string[]> {
    if (oids.length === 0) return [];
    const { rows } = await client.query<{ oid: number; typname: string }>(
      'SELECT oid::int AS oid, typname FROM pg_catalog.pg_type WHERE oid = ANY($1::oid[])',
      [oids],
    );
    const names = new Map(rows.map((r) => [r.oid, r.typname]));
    return oids.map((oid) => names.get(oid) ?? 'unknown');
  }

  async function runOne(
    client: pg.PoolClient,
    statementId: string,
    sub: SubStatement,
    text: string,
    params: string[],
    inBatch: boolean,
  ): Promise<void> {
    // The latest answer wins, so a test can override one registered earlier.
    const fixture = [...fixtures].reverse().find((f) => {
      f.matcher.lastIndex = 0; // a /g or /y matcher would otherwise carry state between statements
      return f.matcher.test(sub.sql);
    });
    if (fixture) {
      api.executions.push({ statementId, sql: sub.sql, source: 'fixture' });
      sub.columns = fixture.result.columns.map((c) => column(c.name, c.typeName));
      sub.records = fixture.result.rows.map((row) =>
        fixture.result.columns.map((c, i) =>
          fixtureField(Array.isArray(row) ? row[i] : (row as Record<string, unknown>)[c.name], c.typeName),
        ),
      );
      sub.hasResultSet = true;
      sub.resultRows = sub.records.length;
    } else if (isUnload(text)) {
      // UNLOAD writes files to S3 and answers no result set (support/fake-unload.ts).
      api.executions.push({ statementId, sql: sub.sql, source: 'postgres' });
      const rewrite = opts.rewrite;
      await runUnload(client, text, {
        ...(opts.s3Endpoint ? { s3Endpoint: opts.s3Endpoint } : {}),
        ...(rewrite ? { rewrite: (q: string) => rewrite(q, { inBatch }) } : {}),
      });
      sub.hasResultSet = false;
      sub.resultRows = 0;
    } else {
      api.executions.push({ statementId, sql: sub.sql, source: 'postgres' });
      const res = await client.query({
        text: opts.rewrite ? opts.rewrite(text, { inBatch }) : text,
        values: params,
        rowMode: 'array',
        types: raw,
      });
      // A multi-statement string answers one result per statement; the last is the statement's.
      const last = (Array.isArray(res) ? res[res.length - 1] : res) as pg.QueryArrayResult | undefined;
      const fields = last?.fields ?? [];
      const types = await typeNamesOf(
        client,
        fields.map((f) => f.dataTypeID),
      );
      sub.columns = fields.map((f, i) => column(f.name, types[i] ?? 'unknown'));
      sub.records = (last?.rows ?? []).map((row) =>
        row.map((v, i) => pgField(v as string | null, types[i] ?? 'unknown')),
      );
      sub.hasResultSet = fields.length > 0;
      sub.resultRows = fields.length > 0 ? sub.records.length : (last?.rowCount ?? -1);
    }
    sub.resultSize = 0;
    for (const record of sub.records) {
      const bytes = Buffer.byteLength(JSON.stringify(record));
      if (bytes > MAX_ROW_BYTES)
        throw new Error(
          `Packet for query is too large: a row of ${bytes} bytes exceeds the Data API's 64 KB per row`,
        );
      sub.resultSize += bytes;
    }
    if (sub.resultSize > api.maxResultBytes)
      throw new Error(
        `Database response exceeded size limit: the result set is ${sub.resultSize} bytes, the Data API returns at most ${api.maxResultBytes}`,
      );
  }

  /** Waits out the statement's run time and any pause, unless it is cancelled first. */
  async function hold(st: Statement): Promise<void> {
    const matches = (m: RegExp, sql: string) => {
      m.lastIndex = 0;
      return m.test(sql);
    };
    const pause = pauses.find((p) => st.subs.some((s) => matches(p.matcher, s.sql)));
    if (pause) {
      pauses.splice(pauses.indexOf(pause), 1);
      st.paused = true;
      void pause.released.then(() => {
        st.paused = false;
      });
      pause.hit(st.id);
    }
    const waitMs = st.holdUntil - Date.now();
    if (!pause && waitMs <= 0) return;
    await new Promise<void>((resolve) => {
      st.wake = resolve;
      const timer = waitMs > 0 ? setTimeout(() => !pause && resolve(), waitMs) : undefined;
      timer?.unref();
      if (pause)
        void pause.released.then(async () => {
          const rest = st.holdUntil - Date.now();
          if (rest > 0) await new Promise((r) => setTimeout(r, rest).unref());
          resolve();
        });
      if (st.cancelRequested || closed) resolve();
    });
  }

  /** The error text the service reports for a PostgreSQL error. */
  async function errorText(e: unknown, client: pg.PoolClient | undefined, st: Statement): Promise<string> {
    const err = e as { code?: string; message?: string; table?: string; schema?: string };
    if (err.code === '40001') {
      let rel = 0;
      if (client && err.table) {
        const r = await client
          .query<{ oid: number }>('SELECT to_regclass($1)::oid::int AS oid', [
            `"${(err.schema ?? 'public').replace(/"/g, '""')}"."${err.table.replace(/"/g, '""')}"`,
          ])
          .catch(() => ({ rows: [] as { oid: number }[] }));
        rel = r.rows[0]?.oid ?? 0;
      }
      return redshift1023(rel, String(st.queryId), st.pid ?? 0);
    }
    return `ERROR: ${e instanceof Error ? e.message : String(e)}`;
  }

  function settle(st: Statement, status: Status, error?: string): void {
    st.status = status;
    if (error) st.error = error;
    st.updatedAt = Date.now() / 1000;
  }

  /** Runs the statement on a session of its own, to its end, whatever the client does meanwhile. */
  async function execute(st: Statement): Promise<void> {
    const batch = st.kind === 'batch';
    if (st.cancelRequested) {
      for (const s of st.subs) s.status = 'ABORTED';
      return settle(st, 'ABORTED');
    }
    let client: pg.PoolClient | undefined;
    try {
      client = await pool.connect();
    } catch (e) {
      for (const s of st.subs) s.status = 'FAILED';
      return settle(st, 'FAILED', `ERROR: ${e instanceof Error ? e.message : String(e)}`);
    }
    st.status = 'PICKED';
    st.pid = (client as unknown as { processID: number }).processID;
    let broken = false;
    try {
      // A single statement autocommits: it waits out its run time before it runs. A batch is
      // one transaction that stays open for its run time before it commits.
      if (!batch) await hold(st);
      if (st.cancelRequested || closed) {
        for (const s of st.subs) s.status = 'ABORTED';
        return settle(st, 'ABORTED');
      }
      st.status = 'STARTED';
      if (batch) await client.query('BEGIN');
      let failedAt = -1;
      let failure = '';
      for (const [i, sub] of st.subs.entries()) {
        sub.status = 'STARTED';
        try {
          const { text, values } = bindParameters(sub.sql, st.parameters);
          await runOne(client, st.id, sub, text, values, batch);
          sub.status = 'FINISHED';
        } catch (e) {
          failedAt = i;
          failure = await errorText(e, undefined, st);
          break;
        }
      }
      if (failedAt < 0 && batch) {
        await hold(st);
        if (st.cancelRequested || closed) failedAt = st.subs.length;
        else {
          try {
            await client.query('COMMIT');
          } catch (e) {
            // SERIALIZABLE may refuse the commit itself; the last statement carries the error.
            failedAt = st.subs.length - 1;
            failure = await errorText(e, client, st);
          }
        }
      }
      if (failedAt >= 0 && batch) await client.query('ROLLBACK').catch(() => {});
      if (st.cancelRequested && failedAt >= 0) {
        for (const s of st.subs) if (s.status !== 'FINISHED' || batch) s.status = 'ABORTED';
        return settle(st, 'ABORTED');
      }
      if (failedAt >= 0) {
        const failed = st.subs[failedAt]!;
        failed.status = 'FAILED';
        failed.error = failure;
        for (const sub of st.subs.slice(failedAt + 1)) sub.status = 'ABORTED';
        return settle(st, 'FAILED', failure);
      }
      settle(st, 'FINISHED');
    } catch (e) {
      broken = true;
      for (const s of st.subs) if (!FINAL.has(s.status)) s.status = 'ABORTED';
      settle(st, 'FAILED', `ERROR: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      // The next statement gets a session as new: no temporary table, setting or lock left.
      if (!broken) await client.query('DISCARD ALL').catch(() => (broken = true));
      client.release(broken);
    }
  }

  async function submit(operation: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const throttle = throttles.shift();
    if (throttle) throw new ApiError(throttle, THROTTLE_MESSAGES[throttle]);
    const target = targetOf(body);
    const token = typeof body.ClientToken === 'string' ? body.ClientToken : undefined;
    const seen = token ? tokens.get(token) : undefined;
    if (seen) return statements.get(seen)!.response;

    const batch = operation === 'BatchExecuteStatement';
    const sqls = batch ? body.Sqls : [body.Sql];
    if (!Array.isArray(sqls) || sqls.length === 0 || !sqls.every((s) => typeof s === 'string' && s)) {
      throw new ApiError(
        'ValidationException',
        batch ? 'Sqls must hold 1 to 40 statements' : 'Sql is required',
      );
    }
    if (sqls.length > MAX_BATCH) {
      throw new ApiError('ValidationException', `Sqls can hold at most ${MAX_BATCH} statements`);
    }
    if (sqls.some((s) => Buffer.byteLength(s as string) > MAX_SQL_BYTES))
      throw new ApiError('ValidationException', 'Cannot process query string larger than 100kB');
    const parameters = Array.isArray(body.Parameters) ? (body.Parameters as Statement['parameters']) : [];
    if (!batch) bindParameters(sqls[0] as string, parameters); // refuses unknown names up front, like the service

    const id = randomUUID();
    const now = Date.now() / 1000;
    const st: Statement = {
      id,
      queryId: statements.size + 1,
      kind: batch ? 'batch' : 'single',
      subs: (sqls as string[]).map((sql, i) => ({
        id: batch ? `${id}:${i + 1}` : id,
        sql,
        status: 'SUBMITTED',
        hasResultSet: false,
        resultRows: -1,
        resultSize: 0,
        columns: [],
        records: [],
      })),
      parameters,
      target,
      createdAt: now,
      updatedAt: now,
      lagPolls: api.startedPolls,
      holdUntil: Date.now() + api.runMs,
      polls: 0,
      status: 'SUBMITTED',
      cancelRequested: false,
      paused: false,
      wake: () => {},
      response: { Id: id, CreatedAt: now, ...target },
      done: Promise.resolve(),
    };
    statements.set(id, st);
    if (token) tokens.set(token, id);
    st.done = execute(st);
    return st.response;
  }

  /** The status DescribeStatement reports: its own, but a running one for the first `lagPolls` polls. */
  async function reportedStatus(st: Statement): Promise<Status> {
    st.polls++;
    const lagging = st.polls <= st.lagPolls;
    // A statement with nothing holding it is given a moment to settle, so that a statement that
    // finishes quickly is reported final on the first poll that may report it.
    if (!lagging && !FINAL.has(st.status) && !st.paused && st.holdUntil <= Date.now())
      await Promise.race([st.done, new Promise((r) => setTimeout(r, SETTLE_WAIT_MS).unref())]);
    if (!lagging) return st.status;
    // Held back: the first polls report the statement queued, then picked, then started.
    return st.polls === 1 ? 'SUBMITTED' : st.polls === 2 ? 'PICKED' : 'STARTED';
  }

  async function describe(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const { st, sub } = lookup(body.Id);
    const status = await reportedStatus(st);
    const final = FINAL.has(status);
    const common = {
      CreatedAt: st.createdAt,
      UpdatedAt: st.updatedAt,
      Duration: final ? Math.round((st.updatedAt - st.createdAt) * 1e9) : -1,
      RedshiftPid: st.pid ?? 0,
      RedshiftQueryId: st.queryId,
      ...st.target,
    };
    const subStatus = (s: SubStatement): Status =>
      final ? s.status : FINAL.has(s.status) ? status : s.status;
    if (sub) return { ...common, ...describeSub(sub, final, subStatus(sub)) };
    const hasResultSet = final && st.subs.some((s) => s.hasResultSet);
    const single = st.kind === 'single' ? st.subs[0]! : undefined;
    return {
      ...common,
      Id: st.id,
      Status: status,
      ...(final && st.error ? { Error: st.error } : {}),
      HasResultSet: single ? final && single.hasResultSet : hasResultSet,
      ResultRows: single && final ? single.resultRows : -1,
      ResultSize: single && final ? single.resultSize : 0,
      QueryString: st.subs.map((s) => s.sql).join('; '),
      ...(st.parameters.length > 0 ? { QueryParameters: st.parameters } : {}),
      ...(st.kind === 'batch'
        ? {
            SubStatements: st.subs.map((s) => ({
              CreatedAt: st.createdAt,
              UpdatedAt: st.updatedAt,
              ...describeSub(s, final, subStatus(s)),
            })),
          }
        : {}),
    };
  }

  function result(body: Record<string, unknown>): Record<string, unknown> {
    const { st, sub } = lookup(body.Id);
    if (!sub) {
      throw new ApiError(
        'ValidationException',
        'Batch statement results are read per sub-statement: use the Id with its :<n> suffix.',
      );
    }
    if (st.status !== 'FINISHED' || sub.status !== 'FINISHED' || !sub.hasResultSet) {
      throw new ApiError(
        'ResourceNotFoundException',
        'Query does not have result. Please check query status with DescribeStatement.',
        400,
        { ResourceId: sub.id },
      );
    }
    let offset = 0;
    if (typeof body.NextToken === 'string' && body.NextToken) {
      const [tokenId, at] = Buffer.from(body.NextToken, 'base64url').toString().split('|');
      if (tokenId !== sub.id || !at || !/^\d+$/.test(at)) {
        throw new ApiError('ValidationException', 'NextToken is not valid for this statement');
      }
      offset = Number(at);
    }
    const end = offset + Math.max(1, api.pageSize);
    const next = end < sub.records.length ? Buffer.from(`${sub.id}|${end}`).toString('base64url') : undefined;
    return {
      Records: sub.records.slice(offset, end),
      ColumnMetadata: sub.columns,
      TotalNumRows: sub.records.length,
      ...(next ? { NextToken: next } : {}),
    };
  }

  async function cancel(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const { st } = lookup(body.Id);
    if (FINAL.has(st.status)) {
      throw new ApiError(
        'ValidationException',
        `Could not cancel a query that is already in ${st.status} state.`,
      );
    }
    st.cancelRequested = true;
    st.wake();
    // A sub-statement running on PostgreSQL is interrupted; its transaction rolls back.
    if (st.pid && st.status === 'STARTED')
      await pool.query('SELECT pg_cancel_backend($1)', [st.pid]).catch(() => {});
    await st.done;
    return { Status: st.status === 'ABORTED' };
  }

  function lookup(id: unknown): { st: Statement; sub: SubStatement | undefined } {
    const [base, n] = typeof id === 'string' ? id.split(':') : [];
    const st = base ? statements.get(base) : undefined;
    if (!st)
      throw new ApiError('ResourceNotFoundException', 'Query does not exist.', 400, { ResourceId: id });
    if (n === undefined) return { st, sub: st.kind === 'single' ? st.subs[0] : undefined };
    const sub = st.kind === 'batch' ? st.subs[Number(n) - 1] : undefined;
    if (!sub)
      throw new ApiError('ResourceNotFoundException', 'Query does not exist.', 400, { ResourceId: id });
    return { st, sub };
  }

  async function dispatch(
    operation: string,
    body: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    switch (operation) {
      case 'ExecuteStatement':
      case 'BatchExecuteStatement':
        return submit(operation, body);
      case 'DescribeStatement':
        return describe(body);
      case 'GetStatementResult':
        return result(body);
      case 'CancelStatement':
        return cancel(body);
      default:
        throw new ApiError('UnknownOperationException', `operation ${operation} is not served by this fake`);
    }
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const target = String(req.headers['x-amz-target'] ?? '');
        const operation = target.startsWith('RedshiftData.') ? target.slice('RedshiftData.'.length) : '';
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString() || '{}');
        } catch {
          // answered below as a serialization error
          body = { __unparsable: true };
        }
        const call: RecordedCall = { target, operation, body };
        api.calls.push(call);
        try {
          if (req.method !== 'POST' || req.url !== '/')
            throw new ApiError('UnknownOperationException', 'POST / only');
          if (!String(req.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
            throw new ApiError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
          }
          if (req.headers['content-type'] !== 'application/x-amz-json-1.1' || body.__unparsable) {
            throw new ApiError('SerializationException', 'expected an application/x-amz-json-1.1 JSON body');
          }
          reply(res, call, 200, await dispatch(operation, body));
        } catch (e) {
          const err =
            e instanceof ApiError
              ? e
              : new ApiError('InternalServerException', e instanceof Error ? e.message : String(e), 500);
          res.setHeader('x-amzn-errortype', err.type);
          reply(res, call, err.status, { __type: err.type, message: err.message, ...err.extra });
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  api.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api.close = async () => {
    // Statements still running are stopped (their transactions roll back) before the sessions go.
    closed = true;
    for (const st of statements.values()) {
      if (FINAL.has(st.status)) continue;
      st.cancelRequested = true;
      st.wake();
      if (st.pid && st.status === 'STARTED')
        await pool.query('SELECT pg_cancel_backend($1)', [st.pid]).catch(() => {});
    }
    await api.settled();
    await new Promise<void>((resolve, reject) => {
      server.close((e) => (e ? reject(e) : resolve()));
      // The SDK keeps connections alive; close them so close() does not wait for their timeout.
      server.closeAllConnections();
    });
    await pool.end();
  };
  return api;
}

function reply(res: http.ServerResponse, call: RecordedCall, status: number, body: unknown): void {
  call.status = status;
  call.response = body;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
  });
  res.end(text);
}

function targetOf(body: Record<string, unknown>): Record<string, string> {
  const pick = (k: string) => (typeof body[k] === 'string' && body[k] ? { [k]: body[k] as string } : {});
  const cluster = pick('ClusterIdentifier');
  const workgroup = pick('WorkgroupName');
  if (Boolean(cluster.ClusterIdentifier) === Boolean(workgroup.WorkgroupName)) {
    throw new ApiError('ValidationException', 'Specify exactly one of ClusterIdentifier and WorkgroupName.');
  }
  if (workgroup.WorkgroupName && body.DbUser) {
    throw new ApiError('ValidationException', 'DbUser is not supported for serverless workgroups.');
  }
  if (!body.Database) throw new ApiError('ValidationException', 'Database is required.');
  return { ...cluster, ...workgroup, ...pick('Database'), ...pick('DbUser'), ...pick('SecretArn') };
}

function describeSub(s: SubStatement, final: boolean, status: Status): Record<string, unknown> {
  return {
    Id: s.id,
    Status: status,
    ...(final && s.error ? { Error: s.error } : {}),
    HasResultSet: final && s.hasResultSet,
    ResultRows: final ? s.resultRows : -1,
    ResultSize: final ? s.resultSize : 0,
    QueryString: s.sql,
  };
}

/**
 * Data API parameters are named (`:name`) and always strings; PostgreSQL's are positional.
 * Skips quoted text and `::` casts. An unknown name is refused, as the service does.
 */
function bindParameters(
  sql: string,
  parameters: { name: string; value: string }[],
): { text: string; values: string[] } {
  if (parameters.length === 0) return { text: sql, values: [] };
  const given = new Map(parameters.map((p) => [p.name, p.value]));
  const order: string[] = [];
  const text = sql.replace(
    /'(?:[^']|'')*'|"(?:[^"]|"")*"|::|:([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, name?: string) => {
      if (!name) return match;
      if (!given.has(name)) throw new ApiError('ValidationException', `parameter :${name} has no value`);
      if (!order.includes(name)) order.push(name);
      return `$${order.indexOf(name) + 1}`;
    },
  );
  return { text, values: order.map((n) => given.get(n)!) };
}

function column(name: string, typeName: string): WireColumn {
  return {
    name,
    label: name,
    typeName,
    nullable: 1,
    isCaseSensitive: !INT_TYPES.has(typeName) && !FLOAT_TYPES.has(typeName) && !BOOL_TYPES.has(typeName),
    isCurrency: false,
    isSigned: INT_TYPES.has(typeName) || FLOAT_TYPES.has(typeName) || typeName === 'numeric',
    precision: 0,
    scale: 0,
    length: 0,
    schemaName: '',
    tableName: '',
  };
}

/** A PostgreSQL value in its text form as the Data API would type it. */
function pgField(value: string | null, typeName: string): WireField {
  if (value === null) return { isNull: true };
  if (INT_TYPES.has(typeName)) return { longValue: Number(value) };
  if (FLOAT_TYPES.has(typeName)) {
    const n = Number(value);
    return Number.isFinite(n) ? { doubleValue: n } : { stringValue: value };
  }
  if (BOOL_TYPES.has(typeName)) return { booleanValue: value === 't' };
  if (BLOB_TYPES.has(typeName)) {
    return { blobValue: Buffer.from(value.replace(/^\\x/, ''), 'hex').toString('base64') };
  }
  return { stringValue: value };
}

function fixtureField(value: unknown, typeName: string): WireField {
  if (value === null || value === undefined) return { isNull: true };
  if (INT_TYPES.has(typeName)) return { longValue: Number(value) };
  if (FLOAT_TYPES.has(typeName)) return { doubleValue: Number(value) };
  if (BOOL_TYPES.has(typeName)) return { booleanValue: Boolean(value) };
  if (value instanceof Uint8Array) return { blobValue: Buffer.from(value).toString('base64') };
  if (value instanceof Date) return { stringValue: value.toISOString().replace('T', ' ').replace('Z', '') };
  return { stringValue: String(value) };
}
