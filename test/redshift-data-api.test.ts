// The Redshift Data API transport end to end: the real SDK client, over HTTP, to a loopback
// fake of the Data API that runs every statement on a real PostgreSQL. The transport's own
// retries are what is tested, so the SDK client makes one attempt per call.
import { randomUUID } from 'node:crypto';
import {
  BatchExecuteStatementCommand,
  CancelStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DataApiStatementError, DataApiThrottledError } from '../src/providers/redshift/data-api-errors.js';
import {
  type DataApiOperation,
  type DataApiTarget,
  DataApiTransport,
  type DataApiTransportOptions,
  MAX_BATCH_STATEMENTS,
} from '../src/providers/redshift/data-api-transport.js';
import { type FakeDataApi, MAX_SQL_BYTES, startFakeDataApi } from './support/fake-data-api.js';
import { startTestServer, type TestServer } from './support/pg.js';

const TARGET: DataApiTarget = {
  clusterIdentifier: 'analytics',
  database: 'dev',
  secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:wharf-AbCdEf',
};

let server: TestServer;
let db: pg.Client;
let fake: FakeDataApi;
let sdk: RedshiftDataClient;

beforeAll(async () => {
  server = await startTestServer();
  db = await server.client(await server.createDatabase('dataapi'));
});
afterAll(async () => {
  await db?.end();
  await server?.stop();
});
beforeEach(async () => {
  fake = await startFakeDataApi({ pg: db });
  sdk = new RedshiftDataClient({
    endpoint: fake.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
});
afterEach(async () => {
  sdk.destroy();
  await fake.close();
});

/** A transport whose waits are recorded and take no time; the clock advances by each wait. */
function transport(options: DataApiTransportOptions = {}, target: DataApiTarget = TARGET) {
  const sleeps: number[] = [];
  const trips: DataApiOperation[] = [];
  let clock = 0;
  const t = new DataApiTransport(sdk, target, {
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    now: () => clock,
    random: () => 0.5,
    onRoundTrip: (op) => trips.push(op),
    ...options,
  });
  return { t, sleeps, trips };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('query', () => {
  it('converts every Field kind, NULLs included, and passes named parameters', async () => {
    const { t } = transport();
    const r = await t.query(
      `SELECT 42::int4 AS i, 9007199254740991::int8 AS big, 1.5::float8 AS f, true AS yes,
              'hé'::text AS s, NULL::int4 AS nothing, 12.30::numeric(5,2) AS num,
              '\\xdeadbeef'::bytea AS bin, DATE '2024-01-02' AS d, :who AS who, :who || '!' AS again`,
      [{ name: 'who', value: 'vendor_a' }],
    );
    expect(r.columns).toEqual([
      { name: 'i', typeName: 'int4' },
      { name: 'big', typeName: 'int8' },
      { name: 'f', typeName: 'float8' },
      { name: 'yes', typeName: 'bool' },
      { name: 's', typeName: 'text' },
      { name: 'nothing', typeName: 'int4' },
      { name: 'num', typeName: 'numeric' },
      { name: 'bin', typeName: 'bytea' },
      { name: 'd', typeName: 'date' },
      { name: 'who', typeName: 'text' },
      { name: 'again', typeName: 'text' },
    ]);
    expect(r.rows).toHaveLength(1);
    const row = r.rows[0]!;
    expect(row).toMatchObject({
      i: 42,
      big: 9007199254740991,
      f: 1.5,
      yes: true,
      s: 'hé',
      nothing: null,
      num: '12.30',
      d: '2024-01-02',
      who: 'vendor_a',
      again: 'vendor_a!',
    });
    expect(Buffer.from(row.bin as Uint8Array).toString('hex')).toBe('deadbeef');

    const sent = fake.calls.find((c) => c.operation === 'ExecuteStatement')!;
    expect(sent.target).toBe('RedshiftData.ExecuteStatement');
    expect(sent.body).toMatchObject({
      ClusterIdentifier: 'analytics',
      Database: 'dev',
      SecretArn: TARGET.secretArn,
      Parameters: [{ name: 'who', value: 'vendor_a' }],
    });
    expect(sent.body.WorkgroupName).toBeUndefined();
    expect(sent.body.DbUser).toBeUndefined();
  });

  it('pages through GetStatementResult with NextToken, keeping row order', async () => {
    fake.pageSize = 1000;
    const { t } = transport();
    const r = await t.query('SELECT g AS n, md5(g::text) AS h FROM generate_series(1, 2500) AS g ORDER BY g');
    expect(r.rows).toHaveLength(2500);
    expect(r.rows.map((x) => x.n)).toEqual(Array.from({ length: 2500 }, (_, i) => i + 1));
    const pages = fake.calls.filter((c) => c.operation === 'GetStatementResult');
    expect(pages).toHaveLength(3);
    expect(pages[0]!.body.NextToken).toBeUndefined();
    expect(pages[1]!.body.NextToken).toEqual(expect.any(String));
    expect(pages[2]!.body.NextToken).not.toBe(pages[1]!.body.NextToken);
  });

  it('a statement without a result set answers no rows and no GetStatementResult call', async () => {
    const { t } = transport();
    expect(await t.query('CREATE TABLE no_result (id int)')).toEqual({ columns: [], rows: [] });
    expect(fake.count('GetStatementResult')).toBe(0);
    expect(await t.query('SELECT count(*)::int4 AS c FROM no_result')).toMatchObject({ rows: [{ c: 0 }] });
  });

  it('keeps polling a statement that stays running, with growing and capped waits', async () => {
    fake.startedPolls = 5;
    const { t, sleeps } = transport({ pollStartMs: 50, pollFactor: 1.5, pollMaxMs: 150 });
    const r = await t.query('SELECT 7::int4 AS seven');
    expect(r.rows).toEqual([{ seven: 7 }]);
    expect(fake.count('DescribeStatement')).toBe(6);
    expect(sleeps).toEqual([50, 75, 112.5, 150, 150, 150]);
  });

  it('default polling starts at 50 ms and grows by half each time', async () => {
    fake.startedPolls = 3;
    const { t, sleeps } = transport();
    await t.query('SELECT 1');
    expect(sleeps).toEqual([50, 75, 112.5, 168.75]);
  });
});

describe('failures', () => {
  it("a FAILED statement raises PostgreSQL's error text with the failing SQL", async () => {
    const { t } = transport();
    const sql = 'SELECT * FROM no_such_table';
    const e = await rejection(t.query(sql));
    expect(e).toBeInstanceOf(DataApiStatementError);
    const err = e as DataApiStatementError;
    expect(err.name).toBe('StatementError');
    expect(err.reason).toBe('failed');
    expect(err.message).toBe('ERROR: relation "no_such_table" does not exist');
    expect(err.sql).toBe(sql);
    expect(err.statementId).toMatch(/^[a-z0-9]{8}(-[a-z0-9]{4}){3}-[a-z0-9]{12}$/);
  });

  it('a failing sub-statement of a batch is named, and nothing of the batch persists', async () => {
    const { t } = transport();
    const sqls = [
      'CREATE TABLE batch_a (id int)',
      'INSERT INTO batch_a VALUES (1)',
      "INSERT INTO batch_a VALUES ('not a number')",
      'CREATE TABLE batch_b (id int)',
    ];
    const err = (await rejection(t.batch(sqls))) as DataApiStatementError;
    expect(err).toBeInstanceOf(DataApiStatementError);
    expect(err.sql).toBe(sqls[2]);
    expect(err.message).toMatch(/invalid input syntax for type integer/);
    expect(err.detail).toMatch(/statement 3 of 4/);
    const { rows } = await db.query(
      "SELECT to_regclass('batch_a') IS NULL AS a_gone, to_regclass('batch_b') IS NULL AS b_gone",
    );
    expect(rows[0]).toEqual({ a_gone: true, b_gone: true });
    // The statement after the failing one never ran.
    expect(fake.executions.map((x) => x.sql)).toEqual(sqls.slice(0, 3));
  });

  it('a successful batch commits all of its statements', async () => {
    const { t } = transport();
    await t.batch(['CREATE TABLE batch_ok (id int)', 'INSERT INTO batch_ok VALUES (1), (2)']);
    expect(fake.count('BatchExecuteStatement')).toBe(1);
    const { rows } = await db.query('SELECT count(*)::int AS n FROM batch_ok');
    expect(rows[0]).toEqual({ n: 2 });
  });

  it('an ABORTED statement gets its own message', async () => {
    fake.startedPolls = 3;
    // Still running (it takes a minute) when it is cancelled.
    fake.runMs = 60_000;
    const { t } = transport({
      // Someone cancels the statement while the transport waits for it.
      sleep: async () => {
        const id = fake.calls.find((c) => c.operation === 'ExecuteStatement')?.response?.Id;
        if (fake.count('DescribeStatement') === 1 && fake.count('CancelStatement') === 0) {
          await sdk.send(new CancelStatementCommand({ Id: id }));
        }
      },
    });
    const err = (await rejection(t.query('SELECT 1'))) as DataApiStatementError;
    expect(err).toBeInstanceOf(DataApiStatementError);
    expect(err.reason).toBe('aborted');
    expect(err.message).toMatch(/aborted/);
    expect(fake.executions).toHaveLength(0);
  });

  it('a statement that never finishes times out and is cancelled', async () => {
    fake.startedPolls = Number.POSITIVE_INFINITY;
    const { t, trips } = transport({ timeoutMs: 5000, pollMaxMs: 1000 });
    const err = (await rejection(t.query('SELECT pg_sleep(3600)'))) as DataApiStatementError;
    expect(err).toBeInstanceOf(DataApiStatementError);
    expect(err.reason).toBe('timeout');
    expect(err.message).toBe('the statement did not finish within 5000 ms and was cancelled');
    expect(err.sql).toBe('SELECT pg_sleep(3600)');
    const cancel = fake.calls.find((c) => c.operation === 'CancelStatement');
    expect(cancel?.body).toEqual({ Id: err.statementId });
    expect(trips.at(-1)).toBe('CancelStatement');
    // The cancel stopped it on the warehouse: no session still sleeps.
    const { rows } = await db.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(3600)' AND state = 'active'",
    );
    expect(rows[0]).toEqual({ n: 0 });
  });

  it('the default timeout is 15 minutes', async () => {
    fake.startedPolls = Number.POSITIVE_INFINITY;
    const { t, sleeps } = transport();
    const err = (await rejection(t.query('SELECT 1'))) as DataApiStatementError;
    expect(err.message).toMatch(/within 15 min/);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBe(15 * 60_000);
    expect(Math.max(...sleeps)).toBe(2000);
  });
});

describe('throttling and idempotency', () => {
  it.each(['ActiveStatementsExceededException', 'ThrottlingException'] as const)(
    '%s is retried with the same ClientToken and the statement runs once',
    async (kind) => {
      await db.query('CREATE TABLE IF NOT EXISTS throttled (kind text)');
      fake.throttleNext(3, kind);
      const { t, sleeps } = transport({ throttleBaseMs: 100, throttleMaxMs: 300 });
      await t.query(`INSERT INTO throttled VALUES ('${kind}')`);
      const submissions = fake.calls.filter((c) => c.operation === 'ExecuteStatement');
      expect(submissions).toHaveLength(4);
      const tokens = new Set(submissions.map((c) => c.body.ClientToken));
      expect(tokens.size).toBe(1);
      expect([...tokens][0]).toMatch(/^[0-9a-f-]{36}$/);
      // Full jitter: random() * min(max, base * 2^attempt), with random() = 0.5.
      expect(sleeps.slice(0, 3)).toEqual([50, 100, 150]);
      expect(fake.executions.filter((x) => x.sql.includes(kind))).toHaveLength(1);
      const { rows } = await db.query('SELECT count(*)::int AS n FROM throttled WHERE kind = $1', [kind]);
      expect(rows[0]).toEqual({ n: 1 });
    },
  );

  it('gives up after the allowed retries with a throttling error', async () => {
    fake.throttleNext(10);
    const { t } = transport({ maxThrottleRetries: 3 });
    const err = await rejection(t.query('SELECT 1'));
    expect(err).toBeInstanceOf(DataApiThrottledError);
    expect(err.message).toMatch(/ActiveStatementsExceededException/);
    expect(fake.count('ExecuteStatement')).toBe(4);
    expect(fake.executions).toHaveLength(0);
  });

  it('maps the wire error to the modeled SDK exception', async () => {
    fake.throttleNext(1);
    const e = await rejection(
      sdk.send(new ExecuteStatementCommand({ ...sdkTarget(), Sql: 'SELECT 1', ClientToken: randomUUID() })),
    );
    expect(e.name).toBe('ActiveStatementsExceededException');
    expect(e.constructor.name).toBe('ActiveStatementsExceededException');
  });

  it('a duplicate ClientToken returns the original statement and does not run it again', async () => {
    await db.query('CREATE TABLE dup (id int)');
    const token = randomUUID();
    const { t } = transport({ clientToken: () => token });
    await t.query('INSERT INTO dup VALUES (1)');
    await t.query('INSERT INTO dup VALUES (1)');
    const ids = await Promise.all(
      [0, 1].map(() =>
        sdk.send(
          new ExecuteStatementCommand({
            ...sdkTarget(),
            Sql: 'INSERT INTO dup VALUES (1)',
            ClientToken: token,
          }),
        ),
      ),
    );
    expect(ids[0]!.Id).toBe(ids[1]!.Id);
    expect(ids[0]!.CreatedAt).toBeInstanceOf(Date);
    expect(fake.executions).toHaveLength(1);
    const { rows } = await db.query('SELECT count(*)::int AS n FROM dup');
    expect(rows[0]).toEqual({ n: 1 });
  });
});

function sdkTarget() {
  return {
    ClusterIdentifier: TARGET.clusterIdentifier,
    Database: TARGET.database,
    SecretArn: TARGET.secretArn,
  };
}

describe('batches', () => {
  it(`refuses more than ${MAX_BATCH_STATEMENTS} statements before sending anything`, async () => {
    const { t } = transport();
    const sqls = Array.from({ length: MAX_BATCH_STATEMENTS + 1 }, (_, i) => `SELECT ${i}`);
    await expect(t.batch(sqls)).rejects.toThrow(/at most 40 statements; got 41/);
    await expect(t.batchQuery(sqls)).rejects.toThrow(/at most 40/);
    expect(fake.calls).toHaveLength(0);
    expect(t.roundTrips).toBe(0);
    await t.batch(sqls.slice(0, MAX_BATCH_STATEMENTS));
    expect(fake.executions).toHaveLength(MAX_BATCH_STATEMENTS);
  });

  it('batchQuery returns each sub-statement result, from PostgreSQL and from fixtures, paged', async () => {
    fake.pageSize = 2;
    fake.answer(/FROM\s+svv_datashares/i, {
      columns: [
        { name: 'share_name', typeName: 'varchar' },
        { name: 'share_id', typeName: 'int4' },
        { name: 'is_publicaccessible', typeName: 'bool' },
        { name: 'producer_account', typeName: 'varchar' },
      ],
      rows: [
        {
          share_name: 'vendor_share',
          share_id: 101,
          is_publicaccessible: false,
          producer_account: '123456789012',
        },
        ['other_share', 102, true, null],
      ],
    });
    const { t } = transport();
    const [nums, ddl, shares, empty] = await t.batchQuery([
      'SELECT g AS n FROM generate_series(1, 5) AS g ORDER BY g',
      'CREATE TEMP TABLE scratch (id int)',
      'SELECT share_name, share_id, is_publicaccessible, producer_account FROM svv_datashares',
      'SELECT id FROM scratch',
    ]);
    expect(nums!.rows).toEqual([1, 2, 3, 4, 5].map((n) => ({ n })));
    expect(ddl).toEqual({ columns: [], rows: [] });
    expect(shares!.columns.map((c) => c.typeName)).toEqual(['varchar', 'int4', 'bool', 'varchar']);
    expect(shares!.rows).toEqual([
      {
        share_name: 'vendor_share',
        share_id: 101,
        is_publicaccessible: false,
        producer_account: '123456789012',
      },
      { share_name: 'other_share', share_id: 102, is_publicaccessible: true, producer_account: null },
    ]);
    expect(empty).toEqual({ columns: [{ name: 'id', typeName: 'int4' }], rows: [] });
    const pageIds = fake.calls.filter((c) => c.operation === 'GetStatementResult').map((c) => c.body.Id);
    const batchId = fake.calls.find((c) => c.operation === 'DescribeStatement')!.body.Id;
    // 5 rows at 2 a page, 2 rows in one page, an empty result in one page; the DDL has none.
    expect(pageIds).toEqual([`${batchId}:1`, `${batchId}:1`, `${batchId}:1`, `${batchId}:3`, `${batchId}:4`]);
    expect(fake.executions.find((x) => /svv_datashares/.test(x.sql))?.source).toBe('fixture');
  });

  it('reads many result sets in a constant number of round trips', async () => {
    const { t, trips } = transport();
    const views = Array.from({ length: 30 }, (_, i) => `SELECT ${i}::int4 AS v`);
    const results = await t.batchQuery(views);
    expect(results.map((r) => r.rows[0]?.v)).toEqual(views.map((_, i) => i));
    // One submission, one poll, one page per result set; every call counted once.
    expect(trips.filter((op) => op !== 'GetStatementResult')).toEqual([
      'BatchExecuteStatement',
      'DescribeStatement',
    ]);
    expect(t.roundTrips).toBe(2 + 30);
    expect(t.roundTrips).toBe(fake.calls.length);
  });
});

describe('targets and round trips', () => {
  it('a serverless workgroup is addressed by WorkgroupName', async () => {
    const { t } = transport({}, { workgroupName: 'wg', database: 'dev' });
    await t.query('SELECT 1');
    const sent = fake.calls.find((c) => c.operation === 'ExecuteStatement')!.body;
    expect(sent.WorkgroupName).toBe('wg');
    expect(sent.ClusterIdentifier).toBeUndefined();
    expect(sent.SecretArn).toBeUndefined();
  });

  it('refuses targets the Data API would refuse', () => {
    expect(() => new DataApiTransport(sdk, { database: 'dev' })).toThrow(/exactly one/);
    expect(
      () => new DataApiTransport(sdk, { clusterIdentifier: 'c', workgroupName: 'w', database: 'dev' }),
    ).toThrow(/exactly one/);
    expect(() => new DataApiTransport(sdk, { workgroupName: 'w', database: 'dev', dbUser: 'u' })).toThrow(
      /dbUser/,
    );
    expect(
      () => new DataApiTransport(sdk, { clusterIdentifier: 'c', database: 'dev', dbUser: 'u' }),
    ).not.toThrow();
  });

  it('counts every SDK call, retries and polls included', async () => {
    fake.startedPolls = 2;
    fake.throttleNext(1);
    fake.pageSize = 1;
    const { t, trips } = transport();
    await t.query('SELECT 1 AS a UNION ALL SELECT 2');
    expect(trips).toEqual([
      'ExecuteStatement',
      'ExecuteStatement',
      'DescribeStatement',
      'DescribeStatement',
      'DescribeStatement',
      'GetStatementResult',
      'GetStatementResult',
    ]);
    expect(t.roundTrips).toBe(7);
    expect(fake.calls).toHaveLength(7);
  });
});

/** Resolves once a session of the fake waits for a lock (a statement blocked by another). */
async function blockedOnLock(): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const { rows } = await db.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
    );
    if (rows[0].n > 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no statement ever waited for a lock');
}

// The service runs each statement in a session of its own, asynchronously, at SERIALIZABLE
// isolation: https://docs.aws.amazon.com/redshift/latest/mgmt/data-api.html ("Calls to the
// Data API are asynchronous"), https://docs.aws.amazon.com/redshift/latest/dg/c_serial_isolation.html
describe('sessions, isolation and running statements, as the service', () => {
  it('every statement has a session of its own: a temporary table or a setting does not outlive it', async () => {
    const { t } = transport();
    await t.query('CREATE TEMP TABLE session_scratch (id int)');
    await t.query("SET application_name = 'leaked'");
    const [r] = await t.batchQuery([
      "SELECT to_regclass('pg_temp.session_scratch') IS NULL AS gone, current_setting('application_name') AS app",
    ]);
    expect(r!.rows).toEqual([{ gone: true, app: '' }]);
    // Within a batch (one session, one transaction) a temporary table lives on to the next statement.
    const [, , seen] = await t.batchQuery([
      'CREATE TEMP TABLE batch_scratch (id int)',
      'INSERT INTO batch_scratch VALUES (1), (2)',
      'SELECT count(*)::int4 AS n FROM batch_scratch',
    ]);
    expect(seen!.rows).toEqual([{ n: 2 }]);
  });

  it('batches and single statements run at SERIALIZABLE, each batch as one transaction', async () => {
    const { t } = transport();
    const [iso, xid1, xid2] = await t.batchQuery([
      "SELECT current_setting('transaction_isolation') AS level",
      'SELECT txid_current()::text AS x',
      'SELECT txid_current()::text AS x',
    ]);
    expect(iso!.rows).toEqual([{ level: 'serializable' }]);
    expect(xid1!.rows[0]!.x).toBe(xid2!.rows[0]!.x);
    expect((await t.query("SELECT current_setting('transaction_isolation') AS level")).rows).toEqual([
      { level: 'serializable' },
    ]);
  });

  it('statements run concurrently: a query runs and finishes while a batch is still open', async () => {
    await db.query('CREATE TABLE concurrent_rows (id int)');
    const pause = fake.pauseBeforeCommit(/INSERT INTO concurrent_rows/);
    const { t } = transport();
    const pending = t.batch(['INSERT INTO concurrent_rows VALUES (1)']);
    await pause.reached;
    // On one shared session this query would wait for the batch; here it sees nothing uncommitted.
    expect((await t.query('SELECT count(*)::int4 AS n FROM concurrent_rows')).rows).toEqual([{ n: 0 }]);
    pause.release();
    await pending;
    expect((await t.query('SELECT count(*)::int4 AS n FROM concurrent_rows')).rows).toEqual([{ n: 1 }]);
  });

  it("a serialization failure is reported as Redshift's error 1023 and the batch keeps nothing", async () => {
    // https://docs.aws.amazon.com/redshift/latest/dg/c_serial_isolation-serializable-isolation-troubleshooting.html
    await db.query('CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)');
    await db.query('INSERT INTO accounts VALUES (1, 100)');
    const { t } = transport();
    const pause = fake.pauseBeforeCommit(/balance \+ 1\b/);
    const first = t.batch(['UPDATE accounts SET balance = balance + 1 WHERE id = 1']);
    await pause.reached;
    const second = rejection(
      t.batch([
        'INSERT INTO accounts VALUES (2, 0)',
        'UPDATE accounts SET balance = balance + 10 WHERE id = 1',
      ]),
    );
    await blockedOnLock();
    pause.release();
    await first;
    const err = (await second) as DataApiStatementError;
    expect(err).toBeInstanceOf(DataApiStatementError);
    expect(err.reason).toBe('failed');
    expect(err.message).toMatch(
      /^ERROR: 1023 DETAIL: Serializable isolation violation on table - \d+, transactions forming the cycle are: \d+ \(pid:\d+\)$/,
    );
    expect(err.detail).toMatch(/statement 2 of 2/);
    const { rows } = await db.query('SELECT id, balance FROM accounts ORDER BY id');
    expect(rows).toEqual([{ id: 1, balance: 101 }]);
  });

  it('a statement reports SUBMITTED, PICKED and STARTED while it runs, and runs to its end unpolled', async () => {
    await db.query('CREATE TABLE unpolled (id int)');
    fake.startedPolls = 3;
    const running = fake.pauseBeforeCommit(/INSERT INTO unpolled/);
    const { Id } = await sdk.send(
      new BatchExecuteStatementCommand({ ...sdkTarget(), Sqls: ['INSERT INTO unpolled VALUES (1)'] }),
    );
    const statuses: string[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push(String((await sdk.send(new DescribeStatementCommand({ Id }))).Status));
    expect(statuses).toEqual(['SUBMITTED', 'PICKED', 'STARTED']);
    await running.reached;
    expect((await sdk.send(new DescribeStatementCommand({ Id }))).Status).toBe('STARTED');
    // Nothing is committed while it runs; nobody polls it again, and it still commits.
    expect((await db.query('SELECT count(*)::int AS n FROM unpolled')).rows).toEqual([{ n: 0 }]);
    running.release();
    await fake.settled();
    expect((await db.query('SELECT count(*)::int AS n FROM unpolled')).rows).toEqual([{ n: 1 }]);
    expect((await sdk.send(new DescribeStatementCommand({ Id }))).Status).toBe('FINISHED');
  });

  it('cancelling a running batch rolls all of it back', async () => {
    await db.query('CREATE TABLE cancelled_rows (id int)');
    fake.runMs = 60_000;
    const { Id } = await sdk.send(
      new BatchExecuteStatementCommand({
        ...sdkTarget(),
        Sqls: ['INSERT INTO cancelled_rows VALUES (1)', 'INSERT INTO cancelled_rows VALUES (2)'],
      }),
    );
    expect((await sdk.send(new CancelStatementCommand({ Id }))).Status).toBe(true);
    const d = await sdk.send(new DescribeStatementCommand({ Id }));
    expect(d.Status).toBe('ABORTED');
    expect((await db.query('SELECT count(*)::int AS n FROM cancelled_rows')).rows).toEqual([{ n: 0 }]);
  });
});

// Limits: https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_BatchExecuteStatement.html
// (Sqls: 1 to 40 statements), https://docs.aws.amazon.com/redshift/latest/mgmt/data-api-troubleshooting.html
// (64 KB per result row; the result set returned by the database is bounded).
describe('documented limits', () => {
  it('refuses a batch of more than 40 statements and a statement over 100 KB', async () => {
    const many = Array.from({ length: 41 }, (_, i) => `SELECT ${i}`);
    await expect(sdk.send(new BatchExecuteStatementCommand({ ...sdkTarget(), Sqls: many }))).rejects.toThrow(
      /at most 40 statements/,
    );
    const big = `SELECT '${'x'.repeat(MAX_SQL_BYTES)}'`;
    const e = await rejection(sdk.send(new ExecuteStatementCommand({ ...sdkTarget(), Sql: big })));
    expect(e.name).toBe('ValidationException');
    expect(e.message).toBe('Cannot process query string larger than 100kB');
    await expect(
      sdk.send(new BatchExecuteStatementCommand({ ...sdkTarget(), Sqls: ['SELECT 1', big] })),
    ).rejects.toThrow(/larger than 100kB/);
    expect(fake.executions).toHaveLength(0);
    // Multi-byte characters count as bytes: 50,001 two-byte characters are over the limit.
    await expect(
      sdk.send(new ExecuteStatementCommand({ ...sdkTarget(), Sql: `SELECT '${'é'.repeat(50_001)}'` })),
    ).rejects.toThrow(/larger than 100kB/);
  });

  it('a result row over 64 KB, or a result over the size limit, fails the statement', async () => {
    const { t } = transport();
    const row = await rejection(t.query("SELECT repeat('x', 70000) AS wide"));
    expect(row).toBeInstanceOf(DataApiStatementError);
    expect(row.message).toMatch(/Packet for query is too large/);
    fake.maxResultBytes = 10_000;
    const total = await rejection(t.query("SELECT repeat('x', 100) AS v FROM generate_series(1, 200)"));
    expect(total.message).toMatch(/Database response exceeded size limit/);
    expect((await t.query("SELECT repeat('x', 100) AS v FROM generate_series(1, 50)")).rows).toHaveLength(50);
  });
});
