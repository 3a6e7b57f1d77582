// A loopback stand-in for the Redshift Data API: a node:http server on 127.0.0.1 speaking
// AWS JSON 1.1 the way the real SDK does (POST /, `x-amz-target: RedshiftData.<Operation>`,
// errors as HTTP 400 with `x-amzn-errortype` and a `__type` body), so tests drive the real
// RedshiftDataClient. Statements run on a real PostgreSQL through the pg.Client passed in: a
// batch inside BEGIN/COMMIT, rolled back when a sub-statement fails, as Redshift does.
//
// Where it differs from the service, on purpose: one PostgreSQL session serves every
// statement (the service opens one per statement), a statement runs when its status is first
// reported final (at submission, or on the poll that ends its `startedPolls`), so a statement
// cancelled before then never runs. Queries matching an `answer` fixture are answered from its
// rows instead, which is how Redshift-only catalog views (SVV_DATASHARES, ...) are served.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';

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
  /** Connected by the caller; the fake never ends it. */
  pg: pg.Client;
  pageSize?: number;
  startedPolls?: number;
  /**
   * Turns a statement's SQL into what PostgreSQL runs instead (e.g. the Redshift emulator's
   * rewriter); the statement keeps its own text everywhere else. Fixtures match the original.
   * `inBatch`: the statement is a sub-statement of a BatchExecuteStatement (a transaction block).
   */
  rewrite?: (sql: string, ctx: { inBatch: boolean }) => string;
}

export interface FakeDataApi {
  endpoint: string;
  /** Every request, in arrival order, throttled ones included. */
  calls: RecordedCall[];
  /** Every statement that ran, on PostgreSQL or from a fixture; a batch contributes one per sub-statement. */
  executions: Execution[];
  /** Records per GetStatementResult page. */
  pageSize: number;
  /** DescribeStatement calls that report SUBMITTED/STARTED before the final status (read at submission). */
  startedPolls: number;
  /** The next `n` submissions answer the given throttling error instead of running. */
  throttleNext(n: number, kind?: ThrottleKind): void;
  /** Answers statements matching `sqlMatcher` from these rows instead of PostgreSQL; the latest match wins. */
  answer(sqlMatcher: RegExp, result: FixtureResult): void;
  /** Calls of one operation. */
  count(operation: string): number;
  close(): Promise<void>;
}

type Status = 'SUBMITTED' | 'PICKED' | 'STARTED' | 'FINISHED' | 'FAILED' | 'ABORTED';

interface SubStatement {
  id: string;
  sql: string;
  status: Status;
  error?: string;
  hasResultSet: boolean;
  resultRows: number;
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
  /** Polls still to report as running before the statement settles. */
  pendingPolls: number;
  polls: number;
  status: Status;
  error?: string;
  /** The submission's answer, repeated for a duplicate ClientToken. */
  response: Record<string, unknown>;
  /** Set once it starts running, so concurrent polls do not run it twice. */
  running?: Promise<void>;
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

const MAX_BATCH = 40;
/** The service reports the warehouse process that ran a statement; one session here, one pid. */
const FAKE_PID = 1073741;
const INT_TYPES = new Set(['int2', 'int4', 'int8', 'oid', 'smallint', 'integer', 'bigint', 'xid']);
const FLOAT_TYPES = new Set(['float4', 'float8', 'real', 'double precision']);
const BOOL_TYPES = new Set(['bool', 'boolean']);
const BLOB_TYPES = new Set(['bytea', 'varbyte']);
const raw = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

export async function startFakeDataApi(opts: FakeDataApiOptions): Promise<FakeDataApi> {
  const db = opts.pg;
  const statements = new Map<string, Statement>();
  const tokens = new Map<string, string>();
  const fixtures: { matcher: RegExp; result: FixtureResult }[] = [];
  const typeNames = new Map<number, string>();
  let throttles: ThrottleKind[] = [];
  // One PostgreSQL session: statements take turns so a batch's transaction is never interleaved.
  let turn: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = turn.then(fn, fn);
    turn = next.catch(() => {});
    return next;
  };

  const api: FakeDataApi = {
    endpoint: '',
    calls: [],
    executions: [],
    pageSize: opts.pageSize ?? 1000,
    startedPolls: opts.startedPolls ?? 0,
    throttleNext(n, kind = 'ActiveStatementsExceededException') {
      throttles = [...throttles, ...Array.from({ length: n }, () => kind)];
    },
    answer(matcher, result) {
      fixtures.push({ matcher, result });
    },
    count(operation) {
      return api.calls.filter((c) => c.operation === operation).length;
    },
    close: async () => {},
  };

  /** PostgreSQL's type names for result columns, loaded once (and again for types created since). */
  async function typeNamesOf(oids: number[]): Promise<string[]> {
    if (oids.some((oid) => !typeNames.has(oid))) {
      const { rows } = await db.query<{ oid: number; typname: string }>(
        'SELECT oid::int AS oid, typname FROM pg_type',
      );
      for (const r of rows) typeNames.set(r.oid, r.typname);
    }
    return oids.map((oid) => typeNames.get(oid) ?? 'unknown');
  }

  async function runOne(
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
      return;
    }
    api.executions.push({ statementId, sql: sub.sql, source: 'postgres' });
    const res = await db.query({
      text: opts.rewrite ? opts.rewrite(text, { inBatch }) : text,
      values: params,
      rowMode: 'array',
      types: raw,
    });
    // A multi-statement string answers one result per statement; the last is the statement's.
    const last = (Array.isArray(res) ? res[res.length - 1] : res) as pg.QueryArrayResult | undefined;
    const fields = last?.fields ?? [];
    const types = await typeNamesOf(fields.map((f) => f.dataTypeID));
    sub.columns = fields.map((f, i) => column(f.name, types[i] ?? 'unknown'));
    sub.records = (last?.rows ?? []).map((row) =>
      row.map((v, i) => pgField(v as string | null, types[i] ?? 'unknown')),
    );
    sub.hasResultSet = fields.length > 0;
    sub.resultRows = fields.length > 0 ? sub.records.length : (last?.rowCount ?? -1);
  }

  /** Runs the statement for real, once, and fixes its final status. */
  function run(st: Statement): Promise<void> {
    st.running ??= exclusive(async () => {
      const batch = st.kind === 'batch';
      if (batch) await db.query('BEGIN');
      let failedAt = -1;
      for (const [i, sub] of st.subs.entries()) {
        try {
          const { text, values } = bindParameters(sub.sql, st.parameters);
          await runOne(st.id, sub, text, values, batch);
          sub.status = 'FINISHED';
        } catch (e) {
          sub.status = 'FAILED';
          sub.error = `ERROR: ${e instanceof Error ? e.message : String(e)}`;
          failedAt = i;
          break;
        }
      }
      if (batch) await db.query(failedAt >= 0 ? 'ROLLBACK' : 'COMMIT');
      if (failedAt >= 0) {
        for (const sub of st.subs.slice(failedAt + 1)) sub.status = 'ABORTED';
        st.status = 'FAILED';
        st.error = st.subs[failedAt]!.error;
      } else {
        st.status = 'FINISHED';
      }
      st.updatedAt = Date.now() / 1000;
    });
    return st.running;
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
        columns: [],
        records: [],
      })),
      parameters,
      target,
      createdAt: now,
      updatedAt: now,
      pendingPolls: api.startedPolls,
      polls: 0,
      status: 'SUBMITTED',
      response: { Id: id, CreatedAt: now, ...target },
    };
    statements.set(id, st);
    if (token) tokens.set(token, id);
    if (st.pendingPolls <= 0) await run(st);
    return st.response;
  }

  async function describe(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const { st, sub } = lookup(body.Id);
    if (st.status !== 'ABORTED' && st.status !== 'FINISHED' && st.status !== 'FAILED') {
      st.polls++;
      if (st.pendingPolls > 0) {
        st.pendingPolls--;
        const running: Status = st.polls === 1 ? 'SUBMITTED' : 'STARTED';
        st.status = running;
        for (const s of st.subs) s.status = running;
      } else {
        await run(st);
      }
    }
    const common = {
      CreatedAt: st.createdAt,
      UpdatedAt: st.updatedAt,
      Duration: Math.round((st.updatedAt - st.createdAt) * 1e9),
      RedshiftPid: FAKE_PID,
      RedshiftQueryId: st.queryId,
      ...st.target,
    };
    if (sub) return { ...common, ...describeSub(sub) };
    const hasResultSet = st.subs.some((s) => s.hasResultSet);
    return {
      ...common,
      Id: st.id,
      Status: st.status,
      ...(st.error ? { Error: st.error } : {}),
      HasResultSet: st.kind === 'single' ? st.subs[0]!.hasResultSet : hasResultSet,
      ResultRows: st.kind === 'single' ? st.subs[0]!.resultRows : -1,
      ResultSize: 0,
      QueryString: st.subs.map((s) => s.sql).join('; '),
      ...(st.parameters.length > 0 ? { QueryParameters: st.parameters } : {}),
      ...(st.kind === 'batch'
        ? {
            SubStatements: st.subs.map((s) => ({
              CreatedAt: st.createdAt,
              UpdatedAt: st.updatedAt,
              ...describeSub(s),
            })),
          }
        : {}),
    };
  }

  function result(body: Record<string, unknown>): Record<string, unknown> {
    const { sub } = lookup(body.Id);
    if (!sub) {
      throw new ApiError(
        'ValidationException',
        'Batch statement results are read per sub-statement: use the Id with its :<n> suffix.',
      );
    }
    if (sub.status !== 'FINISHED' || !sub.hasResultSet) {
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

  function cancel(body: Record<string, unknown>): Record<string, unknown> {
    const { st } = lookup(body.Id);
    if (st.status === 'FINISHED' || st.status === 'FAILED' || st.status === 'ABORTED') {
      throw new ApiError(
        'ValidationException',
        `Could not cancel a query that is already in ${st.status} state.`,
      );
    }
    st.status = 'ABORTED';
    for (const s of st.subs) s.status = 'ABORTED';
    st.updatedAt = Date.now() / 1000;
    return { Status: true };
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
  api.close = () =>
    new Promise<void>((resolve, reject) => {
      server.close((e) => (e ? reject(e) : resolve()));
      // The SDK keeps connections alive; close them so close() does not wait for their timeout.
      server.closeAllConnections();
    });
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

function describeSub(s: SubStatement): Record<string, unknown> {
  return {
    Id: s.id,
    Status: s.status,
    ...(s.error ? { Error: s.error } : {}),
    HasResultSet: s.hasResultSet,
    ResultRows: s.resultRows,
    ResultSize: 0,
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
