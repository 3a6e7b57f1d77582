// Bucket exports from Redshift through the real executable: the AWS SDK clients inside it talk
// to the loopback fake Data API (statements on PostgreSQL behind the Redshift emulator, UNLOAD
// writing into the S3 test server) and to the S3 test server. The rows never pass through
// wharf: UNLOAD writes them to a staging folder, wharf copies them to their names. Every file
// is read back by DuckDB and compared with the source.
//
// Reference: https://docs.aws.amazon.com/redshift/latest/dg/r_UNLOAD.html (the query as a
// literal, IAM_ROLE, FORMAT AS PARQUET, PARTITION BY writing `column=value/` folders without
// the column, MANIFEST VERBOSE with meta.record_count per file, ALLOWOVERWRITE);
// https://docs.aws.amazon.com/redshift/latest/dg/CONVERT_TIMEZONE.html (the period of a row).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readParquet } from './support/export.js';
import { golden } from './support/golden.js';
import { startTestServer, type TestServer } from './support/pg.js';
import { type RedshiftHarness, startRedshiftHarness } from './support/redshift-harness.js';
import { startS3Server, type TestS3Server } from './support/s3.js';

const BIN = path.join(import.meta.dirname, '..', 'bin', 'wharf.js');
const BUCKET = 'rs-exports';
const ROLE = 'arn:aws:iam::123456789012:role/wharf-unload';

let server: TestServer;
let harness: RedshiftHarness;
let s3: TestS3Server;
let db: pg.Client;
let data: pg.Client;
let dir: string;
let file: string;

const DDL = `
CREATE SCHEMA raw;
CREATE TABLE raw.events (
  event_id bigint NOT NULL,
  user_id bigint NOT NULL,
  event_name varchar(256) NOT NULL,
  "timestamp" timestamp NOT NULL,
  updated_at timestamp NOT NULL,
  amount numeric(18,2)
);
CREATE TABLE raw.plain (id bigint NOT NULL, at timestamp NOT NULL, note varchar(64));
CREATE TABLE raw.snap (id bigint NOT NULL, day date NOT NULL, v varchar(64));`;

/** Around the 2026 daylight-saving start in Los Angeles, as test/export.test.ts. */
const ROWS = `INSERT INTO raw.events VALUES
  (1, 9223372036854775807, 'signup', '2026-03-07 07:59:59.999999', '2026-03-07 08:00:00', 12.34),
  (2, -9223372036854775808, 'login', '2026-03-07 08:00:00', '2026-03-07 08:01:00', NULL),
  (3, 42, 'quote''s "and" newline
and tab	done', '2026-03-08 09:59:59.999999', '2026-03-08 10:00:00', -0.01),
  (4, 43, 'after the change', '2026-03-08 10:00:00', '2026-03-08 10:00:00', 0),
  (5, 44, 'last of the short day', '2026-03-09 06:59:59.999999', '2026-03-09 07:00:00', 1),
  (6, 45, 'first of the next day', '2026-03-09 07:00:00', '2026-03-09 07:00:00', 2),
  (7, 46, '', '2026-03-10 12:00:00', '2026-03-10 12:00:00', 99999999999999.99)`;

function syncs(extra: string[] = []): string {
  const events = (name: string, prefix: string, signals: string) => `  - name: ${name}
    from: { table: raw.events }
    to:
      bucket: ${BUCKET}
      prefix: ${prefix}
      partition: { by: timestamp, granularity: day, timeZone: America/Los_Angeles }
    mode: append
    cursor: { column: updated_at, lookback: 1h }
    ready: { prefix: ${signals}, after: 2h }`;
  const snap = (name: string, prefix: string) => `  - name: ${name}
    from: { table: raw.snap }
    to: { bucket: ${BUCKET}, prefix: ${prefix}, partition: { by: day } }
    mode: full`;
  return [
    events('events', 'events/', 'signals/'),
    `  - name: plain
    from: { table: raw.plain }
    to: { bucket: ${BUCKET}, prefix: plain/ }
    mode: append
    cursor: { column: at }`,
    snap('snapshot', 'snap/'),
    ...extra.map((e) => {
      const [kind, name] = e.split(':') as [string, string];
      if (kind === 'csv')
        return `  - name: ${name}
    from: { table: raw.snap }
    to: { bucket: ${BUCKET}, prefix: ${name}/, format: csv }
    mode: full`;
      return kind === 'append' ? events(name, `${name}/`, `${name}-signals/`) : snap(name, `${name}/`);
    }),
  ].join('\n');
}

/** The configuration with these extra syncs; `s3Endpoint`: where the files connection goes. */
function writeFile(extra: string[] = [], to = file, s3Endpoint = s3.endpoint): void {
  fs.writeFileSync(
    to,
    `version: 1
connections:
  warehouse: { type: redshift, cluster: analytics, database: dev, dbUser: wharf, endpoint: "${harness.fake.endpoint}", iamRole: "${ROLE}" }
  files: { type: s3, region: us-east-1, endpoint: "${s3Endpoint}", forcePathStyle: true }
defaultConnection: warehouse
buckets:
  - name: ${BUCKET}
syncs:
${syncs(extra)}
`,
  );
}

function childEnv(killAt?: string): NodeJS.ProcessEnv {
  // The S3 test server's credentials; the fake Data API accepts any.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NO_COLOR: '1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
  };
  delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
  if (killAt) env.WHARF_TEST_KILL_AT = killAt;
  else delete env.WHARF_TEST_KILL_AT;
  return env;
}

function wharf(
  args: string[],
  opts: { killAt?: string; killAfterMs?: number } = {},
): Promise<{ code: number | null; killed: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: childEnv(opts.killAt),
    });
    let stdout = '';
    let stderr = '';
    const timer =
      opts.killAfterMs !== undefined ? setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs) : undefined;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, killed: signal === 'SIGKILL', stdout, stderr });
    });
  });
}

interface SyncJson {
  name: string;
  rows: { inserted: number };
  watermark?: string;
  dryRun?: { statements: string[] };
  export: {
    files: { key: string; rows: number }[];
    late?: { rows: number; days: string[] };
    signalled?: string[];
    removed?: number;
    cleaned?: number;
  };
}

async function sync(...names: string[]): Promise<SyncJson[]> {
  const r = await wharf(['sync', '-f', file, '--json', ...names]);
  if (r.code !== 0) throw new Error(`sync failed (${r.code}): ${r.stderr}${r.stdout}`);
  return (JSON.parse(r.stdout) as { syncs: SyncJson[] }).syncs;
}

async function keys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const r = await s3.client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of r.Contents ?? []) if (o.Key) out.push(o.Key);
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return out.sort();
}

async function localCopy(key: string): Promise<string> {
  const r = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const to = path.join(dir, 'copies', key);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.writeFileSync(to, await r.Body!.transformToByteArray());
  return to;
}

/** The source rows as text, with their Los Angeles day. */
async function sourceEvents(): Promise<Map<string, { row: Record<string, unknown>; day: string }>> {
  const { rows } = await data.query<{ event_id: string; day: string; row: Record<string, unknown> }>(
    `SELECT event_id::text, to_char(("timestamp" AT TIME ZONE 'UTC') AT TIME ZONE 'America/Los_Angeles', 'YYYY-MM-DD') AS day,
            json_build_object('event_id', event_id::text, 'user_id', user_id::text, 'event_name', event_name,
                              'timestamp', to_char("timestamp", 'YYYY-MM-DD"T"HH24:MI:SS.US'),
                              'amount', amount::text) AS row
       FROM raw.events`,
  );
  return new Map(rows.map((r) => [r.event_id, { row: r.row, day: r.day }]));
}

/** Every data file's rows under `prefix`, with the folder each came from, as DuckDB reads them. */
async function fileEvents(prefix: string): Promise<{ row: Record<string, unknown>; day: string }[]> {
  const out: { row: Record<string, unknown>; day: string }[] = [];
  for (const key of await keys(prefix)) {
    if (!key.endsWith('.parquet')) continue;
    const rows = await readParquet(
      [await localCopy(key)],
      `event_id::VARCHAR AS event_id, user_id::VARCHAR AS user_id, event_name,
       strftime("timestamp", '%Y-%m-%dT%H:%M:%S.%f') AS "timestamp", amount::VARCHAR AS amount`,
    );
    const day = key.slice(prefix.length).split('/')[0]!;
    for (const row of rows) out.push({ row, day });
  }
  return out;
}

/** The files under `prefix` hold exactly the source rows, each once, in the folder of its day. */
async function expectExactlyOnce(prefix: string): Promise<void> {
  const want = await sourceEvents();
  const got = await fileEvents(prefix);
  expect(got.map((g) => String(g.row.event_id)).sort()).toEqual([...want.keys()].sort());
  for (const g of got) {
    const w = want.get(String(g.row.event_id))!;
    expect({ id: g.row.event_id, day: g.day }).toEqual({ id: g.row.event_id, day: w.day });
    expect(g.row).toEqual(w.row);
  }
}

async function signalledDays(prefix: string): Promise<string[]> {
  const ks = (await keys(prefix)).filter((k) => k.endsWith('.parquet'));
  if (ks.length === 0) return [];
  const rows = await readParquet(
    await Promise.all(ks.map((k) => localCopy(k))),
    `strftime(finished_date, '%Y-%m-%d') AS d`,
  );
  return rows.map((r) => String(r.d)).sort();
}

/** ExecuteStatement and BatchExecuteStatement calls the fake has answered. */
function submissions(): number {
  return harness.fake.count('ExecuteStatement') + harness.fake.count('BatchExecuteStatement');
}

beforeAll(async () => {
  server = await startTestServer();
  s3 = await startS3Server();
  await s3.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const name = await server.createDatabase('rsexport');
  db = await server.client(name);
  data = await server.client(name);
  harness = await startRedshiftHarness(db, { s3Endpoint: s3.endpoint });
  await data.query(DDL);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-rsexport-'));
  file = path.join(dir, 'wharf.yaml');
  writeFile();
}, 60_000);
afterAll(async () => {
  await harness?.close();
  await data?.end();
  await db?.end();
  await s3?.stop();
  await server?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('bucket export from Redshift through UNLOAD', () => {
  it('builds the UNLOAD kept in the golden file (dry run: one SELECT counting per period, no UNLOAD)', async () => {
    await data.query(ROWS);
    const before = harness.fake.executions.length;
    const [s] = await sync('events', '--dry-run');
    const statement = s!.dryRun!.statements[0]!;
    expect(statement).toBe(
      golden(
        path.join(import.meta.dirname, 'fixtures', 'unload', 'export-events.sql'),
        `${statement}\n`,
      ).trimEnd(),
    );
    // The reference's shape: the query as one literal, IAM_ROLE, Parquet, the period folders,
    // the verbose manifest, into the staging folder under the prefix.
    expect(statement).toMatch(/^UNLOAD \('SELECT /);
    expect(statement).toContain(`TO 's3://${BUCKET}/events/_wharf_staging/events-r000001/'`);
    expect(statement).toContain(`IAM_ROLE '${ROLE}'`);
    expect(statement).toMatch(
      /\nFORMAT AS PARQUET\nPARTITION BY \("wharf_part"\)\nMANIFEST VERBOSE\nALLOWOVERWRITE$/,
    );
    expect(statement).toContain(`CONVERT_TIMEZONE(''UTC'', ''America/Los_Angeles'', s."timestamp")`);
    const sqls = harness.fake.executions.slice(before).map((e) => e.sql);
    expect(sqls.some((x) => /^\s*unload/i.test(x))).toBe(false);
    expect(sqls.filter((x) => /GROUP BY 1/.test(x))).toHaveLength(1);
    expect(s!.export.files.map((f) => [f.key, f.rows])).toEqual([
      ['events/2026-03-06/events-r000001-0001.parquet', 1],
      ['events/2026-03-07/events-r000001-0001.parquet', 1],
      // The short day of the daylight-saving change ends at 07:00 UTC on 9 March.
      ['events/2026-03-08/events-r000001-0001.parquet', 3],
      ['events/2026-03-09/events-r000001-0001.parquet', 1],
      ['events/2026-03-10/events-r000001-0001.parquet', 1],
    ]);
    expect(await keys('events/')).toEqual([]);
  });

  it('writes each row once, in the folder of its day, signals the finished days, and leaves no staging', async () => {
    const [s] = await sync('events');
    expect(s!.rows.inserted).toBe(7);
    const written = await keys('events/');
    expect(written.every((k) => /^events\/2026-03-\d\d\/events-r000001-000\d\.parquet$/.test(k))).toBe(true);
    expect(written.map((k) => k.split('/')[1])).toEqual(
      expect.arrayContaining(['2026-03-06', '2026-03-07', '2026-03-08', '2026-03-09', '2026-03-10']),
    );
    expect(s!.export.files.map((f) => f.key).sort()).toEqual(written);
    await expectExactlyOnce('events/');
    expect(await signalledDays('signals/')).toEqual(['2026-03-06', '2026-03-07', '2026-03-08', '2026-03-09']);
    const { rows } = await data.query('SELECT "key", "rows" FROM wharf_state.export_files ORDER BY "key"');
    expect(rows.map((r) => [r.key, Number(r.rows)])).toEqual(
      s!.export.files.map((f) => [f.key, f.rows]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    );
  });

  it('a second run writes only new, late and tie rows, reports the late ones, and signals on', async () => {
    await data.query(`INSERT INTO raw.events VALUES
      (8, 47, 'new', '2026-03-11 12:00:00', '2026-03-11 12:00:00', 5),
      (9, 48, 'late', '2026-03-08 12:00:00', '2026-03-10 11:30:00', 6),
      (10, 49, 'tie', '2026-03-10 13:00:00', '2026-03-10 12:00:00', 7)`);
    const [s] = await sync('events');
    expect(s!.rows.inserted).toBe(3);
    expect(s!.export.late).toEqual({ rows: 1, days: ['2026-03-08'] });
    expect(s!.export.files.map((x) => x.key)).toEqual([
      'events/2026-03-08/events-r000002-0001.parquet',
      'events/2026-03-10/events-r000002-0001.parquet',
      'events/2026-03-11/events-r000002-0001.parquet',
    ]);
    await expectExactlyOnce('events/');
    expect(await signalledDays('signals/')).toEqual([
      '2026-03-06',
      '2026-03-07',
      '2026-03-08',
      '2026-03-09',
      '2026-03-10',
    ]);
    const before = await keys('');
    const [again] = await sync('events');
    expect(again!.rows.inserted).toBe(0);
    expect(await keys('')).toEqual(before);
  });

  it('Data API submissions per run do not grow with the rows', async () => {
    const counts: [number, number][] = [];
    await data.query(
      `INSERT INTO raw.plain SELECT g, '2026-01-01'::timestamp + g * interval '1 minute', 'x' FROM generate_series(1, 3) g`,
    );
    await sync('plain');
    for (const n of [5, 2000]) {
      await data.query(
        `INSERT INTO raw.plain SELECT g, '2026-02-01'::timestamp + g * interval '1 second', 'y' FROM generate_series(${n * 10}, ${n * 10 + n - 1}) g`,
      );
      const before = submissions();
      const [s] = await sync('plain');
      expect(s!.rows.inserted).toBe(n);
      counts.push([n, submissions() - before]);
    }
    expect(counts[0]![1]).toBe(counts[1]![1]);
    // The description of the source, the claim with the state read, the UNLOAD batch, the
    // commit batch, the copies recorded as done.
    expect(counts[0]![1]).toBe(5);
  });

  it('mode full writes a complete snapshot, removes the previous one and marks it with _SUCCESS', async () => {
    await data.query(
      `INSERT INTO raw.snap VALUES (1, '2026-03-01', 'a'), (2, '2026-03-01', 'b'), (3, '2026-03-02', NULL)`,
    );
    await sync('snapshot');
    await data.query(`DELETE FROM raw.snap WHERE id = 1; INSERT INTO raw.snap VALUES (4, '2026-03-03', 'd')`);
    const [s] = await sync('snapshot');
    expect(s!.export.removed).toBeGreaterThan(0);
    const ks = await keys('snap/');
    const files = ks.filter((k) => k.endsWith('.parquet'));
    expect(files.every((k) => k.includes('-r000002-'))).toBe(true);
    const marker = JSON.parse(fs.readFileSync(await localCopy('snap/_SUCCESS'), 'utf8')) as {
      run: number;
      rows: number;
      files: string[];
    };
    expect(marker).toEqual({ sync: 'snapshot', run: 2, rows: 3, files });
    const rows = await readParquet(
      await Promise.all(files.map((k) => localCopy(k))),
      `id::VARCHAR AS id, strftime(day, '%Y-%m-%d') AS day, v`,
    );
    const want = await data.query(
      `SELECT id::text AS id, to_char(day, 'YYYY-MM-DD') AS day, v FROM raw.snap`,
    );
    const byId = (a: { id: unknown }, b: { id: unknown }) => (String(a.id) < String(b.id) ? -1 : 1);
    expect(rows.sort(byId)).toEqual(want.rows.sort(byId));
  });
});

describe('what an export from Redshift refuses', () => {
  it('csv (UNLOAD writes Parquet here) fails with a clear error and writes nothing', async () => {
    writeFile(['csv:ascsv']);
    const before = harness.fake.executions.length;
    const r = await wharf(['sync', '-f', file, '--json', 'ascsv']);
    expect(r.code).not.toBe(0);
    const s = (JSON.parse(r.stdout) as { syncs: { error: string }[] }).syncs[0]!;
    expect(s.error).toContain('format csv is not offered from Redshift (use format: parquet)');
    expect(harness.fake.executions.slice(before).some((e) => /^\s*unload/i.test(e.sql))).toBe(false);
    expect(await keys('ascsv/')).toEqual([]);
    writeFile();
  });
});

/**
 * A prefix's keys with the sync's name (and prefix) and the run number replaced, to compare with
 * a reference run's: a full export killed after its commit makes its snapshot again as run 2.
 */
function normalised(list: string[], name: string): string[] {
  return list
    .map((k) =>
      k
        .split(name)
        .join('X')
        .replace(/-r\d{6}(-|\.)/, '-rN$1'),
    )
    .sort();
}

/** Every file under the export's prefix (staging aside) is one its state records as committed. */
async function expectOnlyCommittedNames(name: string): Promise<void> {
  const { rows } = await data.query<{ key: string }>(
    `SELECT "key" FROM wharf_state.export_files WHERE "name" = $1`,
    [name],
  );
  const committed = new Set(rows.map((r) => r.key));
  const named = (await keys(`${name}/`)).filter(
    (k) => k.endsWith('.parquet') && !k.startsWith(`${name}/_wharf_staging/`),
  );
  expect({ sync: name, uncommitted: named.filter((k) => !committed.has(k)) }).toEqual({
    sync: name,
    uncommitted: [],
  });
}

let seed = 20261130;
function randomMs(): number {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return 700 + (seed % 1500);
}

/** Each signalled day under `signals` has all its source rows in its folder under `prefix`. */
async function expectSignalledDaysComplete(prefix: string, signals: string, trial: string): Promise<void> {
  const days = await signalledDays(signals);
  if (days.length === 0) return;
  const want = await sourceEvents();
  const got = await fileEvents(prefix);
  for (const day of days) {
    const need = [...want.entries()]
      .filter(([, w]) => w.day === day)
      .map(([id]) => id)
      .sort();
    const have = [...new Set(got.filter((g) => g.day === day).map((g) => String(g.row.event_id)))].sort();
    expect({ trial, day, rows: have }).toEqual({ trial, day, rows: need });
  }
}

describe('SIGKILL of the real executable during an export', () => {
  const points = [
    'export-after-unload',
    'export-after-file',
    'export-before-commit',
    'export-after-commit',
    'export-after-signal',
  ];
  // Every point on append; on full the two that split its UNLOAD from its commit. The suite's
  // time is shared: the PostgreSQL runner's kill trials (test/export-crash.test.ts) cover
  // the same runner steps 24 more times.
  const trials: { kind: 'append' | 'full'; killAt?: string; afterMs?: number }[] = [
    ...points.map((p) => ({ kind: 'append' as const, killAt: p })),
    { kind: 'full', killAt: 'export-after-unload' },
    { kind: 'full', killAt: 'export-before-commit' },
    // Random moments (seeded, so a failure can be replayed): between start-up and the end of a run.
    ...[0, 1].map((k) => ({
      kind: k === 1 ? ('full' as const) : ('append' as const),
      afterMs: randomMs(),
    })),
  ];

  it(`${trials.length} killed runs, each followed by a complete run, leave the prefix as one uninterrupted run does`, async () => {
    writeFile(['append:refa', 'full:reff', ...trials.map((t, i) => `${t.kind}:k${i}`)]);
    const ref = { append: await sync('refa'), full: await sync('reff') };
    expect(ref.append[0]!.rows.inserted).toBeGreaterThan(0);
    const refKeys = {
      append: normalised([...(await keys('refa/')), ...(await keys('refa-signals/'))], 'refa'),
      full: normalised(await keys('reff/'), 'reff'),
    };
    let killed = 0;
    for (const [i, t] of trials.entries()) {
      const name = `k${i}`;
      const r = await wharf(['sync', '-f', file, name], {
        ...(t.killAt ? { killAt: t.killAt } : {}),
        ...(t.afterMs !== undefined ? { killAfterMs: t.afterMs } : {}),
      });
      if (r.killed) killed++;
      else expect(r.code, r.stderr).toBe(0);
      if (t.killAt) expect({ trial: name, killed: r.killed }).toEqual({ trial: name, killed: true });
      // Before any clean-up: a file's name only ever holds a committed run's file.
      await expectOnlyCommittedNames(name);
      // No signal names a day whose files are incomplete.
      if (t.kind === 'append') await expectSignalledDaysComplete(`${name}/`, `${name}-signals/`, name);
      await sync(name);
      const got =
        t.kind === 'append'
          ? normalised([...(await keys(`${name}/`)), ...(await keys(`${name}-signals/`))], name)
          : normalised(await keys(`${name}/`), name);
      expect({ trial: name, keys: got }).toEqual({ trial: name, keys: refKeys[t.kind] });
      if (t.kind === 'append') {
        await expectExactlyOnce(`${name}/`);
        // Every signalled day's rows are all in their folder (checked above), and none is signalled twice.
        const days = await signalledDays(`${name}-signals/`);
        expect(days).toEqual([...new Set(days)]);
        expect(days).toEqual(await signalledDays('refa-signals/'));
      }
    }
    expect(killed).toBeGreaterThanOrEqual(trials.length - 3);
  }, 300_000);

  const second = [
    ...['export-after-unload', 'export-before-commit', 'export-after-signal'].map((p) => ({ killAt: p })),
    { afterMs: randomMs() },
  ];
  it(`${second.length} killed incremental runs (late and tie rows), each followed by a complete run, end as uninterrupted runs do`, async () => {
    writeFile(['append:refi', ...second.map((_, i) => `append:i${i}`)]);
    // The first run of every one of them, uninterrupted.
    await sync('refi', ...second.map((_, i) => `i${i}`));
    await data.query(`INSERT INTO raw.events VALUES
      -- late (its cursor inside the lookback) into a day not signalled yet: 11 March in Los Angeles
      (11, 50, 'late again', '2026-03-11 09:00:00', '2026-03-11 11:30:00', 1),
      (12, 51, 'tie again', '2026-03-11 14:00:00', '2026-03-11 12:00:00', 2),
      (13, 52, 'next day', '2026-03-12 12:00:00', '2026-03-12 12:00:00', 3)`);
    const [r] = await sync('refi');
    expect(r!.rows.inserted).toBe(3);
    const ref = normalised([...(await keys('refi/')), ...(await keys('refi-signals/'))], 'refi');
    let killed = 0;
    for (const [i, t] of second.entries()) {
      const name = `i${i}`;
      const k = await wharf(['sync', '-f', file, name], {
        ...('killAt' in t ? { killAt: t.killAt } : {}),
        ...('afterMs' in t ? { killAfterMs: t.afterMs } : {}),
      });
      if (k.killed) killed++;
      else expect(k.code, k.stderr).toBe(0);
      await expectOnlyCommittedNames(name);
      await expectSignalledDaysComplete(`${name}/`, `${name}-signals/`, name);
      await sync(name);
      const got = normalised([...(await keys(`${name}/`)), ...(await keys(`${name}-signals/`))], name);
      expect({ trial: name, keys: got }).toEqual({ trial: name, keys: ref });
      await expectExactlyOnce(`${name}/`);
      expect(await signalledDays(`${name}-signals/`)).toEqual(await signalledDays('refi-signals/'));
    }
    expect(killed).toBeGreaterThanOrEqual(second.length - 1);
  }, 300_000);
});

/**
 * A loopback pass-through to the S3 test server whose answers can be held: a request matching a
 * hold is sent on at once, and its answer is kept from the client until the hold is released.
 * So a child is stopped right after an S3 call without holding any lock on the warehouse.
 */
interface S3Gate {
  endpoint: string;
  hold(match: (req: http.IncomingMessage) => boolean): { reached: Promise<void>; release(): void };
  close(): Promise<void>;
}

async function startS3Gate(): Promise<S3Gate> {
  const target = new URL(s3.endpoint);
  const holds: { match: (req: http.IncomingMessage) => boolean; hit(): void; released: Promise<void> }[] = [];
  const server = http.createServer((req, res) => {
    const hold = holds.find((h) => h.match(req));
    if (hold) {
      holds.splice(holds.indexOf(hold), 1);
      hold.hit();
    }
    const up = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          void (hold?.released ?? Promise.resolve()).then(() => {
            res.writeHead(answer.statusCode ?? 500, answer.headers);
            res.end(Buffer.concat(chunks));
          });
        });
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hold(match) {
      let hit!: () => void;
      let release!: () => void;
      const reached = new Promise<void>((r) => {
        hit = r;
      });
      const released = new Promise<void>((r) => {
        release = r;
      });
      holds.push({ match, hit, released });
      return { reached, release };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}

interface ChildRun {
  code: number | null;
  rows?: number;
  error?: string;
}

/** `wharf sync --json <name>` as a child, not awaited. */
function startSync(name: string, config = file): Promise<ChildRun> {
  return wharf(['sync', '-f', config, '--json', name]).then((r) => {
    const s = (JSON.parse(r.stdout || '{"syncs":[{}]}') as { syncs: (SyncJson & { error?: string })[] })
      .syncs[0]!;
    return {
      code: r.code,
      ...(s.rows ? { rows: s.rows.inserted } : {}),
      ...(s.error ? { error: s.error } : {}),
    };
  });
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting until ${what}`);
}

async function claimed(name: string): Promise<number> {
  const { rows } = await data.query<{ c: string }>(
    `SELECT "claimed_run" AS c FROM wharf_state.export_state WHERE "name" = $1`,
    [name],
  );
  return Number(rows[0]?.c ?? 0);
}

const OVERTAKEN = 'this run committed nothing (run it again)';

/**
 * Two runs of one export at once, then a third: every row was written by exactly one of the
 * two, a run that failed says it committed nothing, and after the third the prefix holds each
 * row once, no staging, no identity twice, and signals only for complete days.
 */
async function expectKeptApart(name: string, runs: ChildRun[], refSignals: string[]): Promise<void> {
  const total = (await sourceEvents()).size;
  for (const r of runs)
    if (r.code !== 0)
      expect({ sync: name, error: r.error }).toEqual({
        sync: name,
        error: expect.stringContaining(OVERTAKEN),
      });
  const ok = runs.filter((r) => r.code === 0);
  expect(ok.length).toBeGreaterThan(0);
  expect(ok.reduce((n, r) => n + (r.rows ?? 0), 0)).toBe(total);
  expect(ok.filter((r) => (r.rows ?? 0) > 0)).toHaveLength(1);
  await expectOnlyCommittedNames(name);
  await expectSignalledDaysComplete(`${name}/`, `${name}-signals/`, name);
  const [third] = await sync(name);
  expect(third!.rows.inserted).toBe(0);
  await expectExactlyOnce(`${name}/`);
  await expectOnlyCommittedNames(name);
  expect(await keys(`${name}/_wharf_staging/`)).toEqual([]);
  expect(await signalledDays(`${name}-signals/`)).toEqual(refSignals);
  const dup = await data.query(
    `SELECT "run", "h" FROM wharf_state.export_seen WHERE "name" = $1 GROUP BY 1, 2 HAVING COUNT(*) > 1`,
    [name],
  );
  expect(dup.rows).toEqual([]);
  const st = await data.query<{ run: string; copies_pending: string | null }>(
    `SELECT "run", "copies_pending" FROM wharf_state.export_state WHERE "name" = $1`,
    [name],
  );
  expect(st.rows[0]!.copies_pending).toBeNull();
  // The committed run's identities are there (the lookback's rows are not written again).
  const seen = await data.query(`SELECT 1 FROM wharf_state.export_seen WHERE "name" = $1 AND "run" = $2`, [
    name,
    st.rows[0]!.run,
  ]);
  expect(seen.rows.length).toBeGreaterThan(0);
}

describe('two runs of one Redshift export at once', () => {
  // Redshift has no advisory lock: each run claims its own run number, only the latest claim
  // commits, and files get their names only after a commit.
  const names = ['cunload', 'cmanifest', 'ccopies', 'cboth0', 'cboth1'];
  let gate: S3Gate;
  let gated: string;
  let refSignals: string[];

  beforeAll(async () => {
    gate = await startS3Gate();
    gated = path.join(dir, 'gated.yaml');
    const extra = ['append:cref', ...names.map((n) => `append:${n}`)];
    writeFile(extra);
    writeFile(extra, gated, gate.endpoint);
    await sync('cref');
    refSignals = await signalledDays('cref-signals/');
    expect(refSignals.length).toBeGreaterThan(0);
  });
  afterAll(async () => {
    await gate?.close();
    writeFile();
  });

  it('the second starts while the first is in its UNLOAD: the first commits nothing and says so', async () => {
    const name = 'cunload';
    const pause = harness.fake.pauseBeforeCommit(new RegExp(`${name}/_wharf_staging/${name}-r000001/`));
    const first = startSync(name);
    await pause.reached;
    const second = startSync(name);
    await until('the second run claimed its number', async () => (await claimed(name)) === 2);
    pause.release();
    const [a, b] = await Promise.all([first, second]);
    expect(a.code).toBe(1);
    expect(a.error).toContain(OVERTAKEN);
    expect(b.code).toBe(0);
    await expectKeptApart(name, [a, b], refSignals);
  }, 120_000);

  it('the second claims after the first read its manifest, the first tries to commit first: it commits nothing', async () => {
    const name = 'cmanifest';
    const manifest = (run: string) => (req: http.IncomingMessage) =>
      req.method === 'GET' && (req.url ?? '').includes(`${name}-r${run}/manifest`);
    const firstRead = gate.hold(manifest('000001'));
    const secondRead = gate.hold(manifest('000002'));
    const first = startSync(name, gated);
    await firstRead.reached;
    const second = startSync(name, gated);
    // The second has claimed, cleaned up (the first's staging included) and UNLOADed.
    await secondRead.reached;
    firstRead.release();
    const a = await first;
    secondRead.release();
    const b = await second;
    expect(a.code).toBe(1);
    expect(a.error).toContain(OVERTAKEN);
    expect(b.code).toBe(0);
    await expectKeptApart(name, [a, b], refSignals);
  }, 120_000);

  it('the second starts while the first copies to the names: it finishes the copies, the first ends well', async () => {
    const name = 'ccopies';
    const copy = gate.hold((req) => req.method === 'PUT' && req.headers['x-amz-copy-source'] !== undefined);
    const first = startSync(name, gated);
    await copy.reached;
    const b = await startSync(name);
    expect(b).toEqual({ code: 0, rows: 0 });
    copy.release();
    const a = await first;
    expect(a.code).toBe(0);
    await expectKeptApart(name, [a, b], refSignals);
  }, 120_000);

  it.each([
    [0, 150],
    [1, 400],
  ])(
    'both started together (slowed statements, variant %i)',
    async (i, ms) => {
      const name = `cboth${i}`;
      harness.fake.runMs = ms;
      try {
        const runs = await Promise.all([startSync(name), startSync(name)]);
        harness.fake.runMs = 0;
        await expectKeptApart(name, runs, refSignals);
      } finally {
        harness.fake.runMs = 0;
      }
    },
    120_000,
  );
});

describe('a Redshift export killed between its commit and the end of its copies', () => {
  it("the next run finishes the copies from the committed run's staging, then signals", async () => {
    writeFile(['append:kcref', 'append:kc']);
    await sync('kcref');
    const ref = normalised([...(await keys('kcref/')), ...(await keys('kcref-signals/'))], 'kcref');
    const r = await wharf(['sync', '-f', file, 'kc'], { killAt: 'export-after-file' });
    expect(r.killed).toBe(true);
    const st = await data.query<{ run: string; copies_pending: string }>(
      `SELECT "run", "copies_pending" FROM wharf_state.export_state WHERE "name" = 'kc'`,
    );
    expect(st.rows.map((x) => [Number(x.run), Number(x.copies_pending)])).toEqual([[1, 1]]);
    // One file has its name, the others are still in the committed run's staging; no signal yet.
    const named = (await keys('kc/')).filter((k) => !k.startsWith('kc/_wharf_staging/'));
    expect(named).toHaveLength(1);
    await expectOnlyCommittedNames('kc');
    expect((await keys('kc/_wharf_staging/kc-r000001/')).length).toBeGreaterThan(1);
    expect(await keys('kc-signals/')).toEqual([]);
    const [s] = await sync('kc');
    expect(s!.rows.inserted).toBe(0);
    await expectExactlyOnce('kc/');
    expect(normalised([...(await keys('kc/')), ...(await keys('kc-signals/'))], 'kc')).toEqual(ref);
    expect(await signalledDays('kc-signals/')).toEqual(await signalledDays('kcref-signals/'));
    const after = await data.query(
      `SELECT "copies_pending" FROM wharf_state.export_state WHERE "name" = 'kc'`,
    );
    expect(after.rows).toEqual([{ copies_pending: null }]);
    writeFile();
  }, 120_000);
});
