// Crash safety of bucket exports: the real `wharf sync` executable is killed with SIGKILL while
// it exports a PostgreSQL table into a local bucket and into a bucket on the S3 test server, in
// mode append (one folder per day in America/Los_Angeles, a readiness signal, a lookback) and in
// mode full: first at each deterministic kill point (WHARF_TEST_KILL_AT, see src/kill-point.ts),
// then at random moments. Between trials a writer adds rows, some committed late (a cursor below
// the watermark, inside the lookback) and some with a cursor equal to the watermark. Right after
// each kill, a signalled day's files already hold exactly that day's rows (and a full export's
// `_SUCCESS` names a complete snapshot); after the next complete run the files hold each source
// row version once, no object of an uncommitted run remains, and every signal names complete
// days only. DuckDB reads every file back. A second test holds a writer's transaction open
// across export runs and commits it late.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { duck, type ExportFixture, exportFixture, startExportServers } from './support/export.js';
import type { TestServer } from './support/pg.js';
import type { TestS3Server } from './support/s3.js';
import { rng } from './support/sync-data.js';

const BIN = path.join(import.meta.dirname, '..', 'bin', 'wharf.js');
const TZ = 'America/Los_Angeles';

let server: TestServer;
let s3: TestS3Server;
beforeAll(async () => {
  ({ server, s3 } = await startExportServers());
}, 60_000);
afterAll(async () => {
  await Promise.all([server?.stop(), s3?.stop()]);
});

const APPEND_SYNC = (bucket: string, fileRows: number, lookback = '1h') => `  - name: events
    from: { table: raw.events }
    to:
      bucket: ${bucket}
      prefix: events/
      fileRows: ${fileRows}
      partition: { by: timestamp, granularity: day, timeZone: ${TZ} }
    mode: append
    cursor: { column: updated_at${lookback ? `, lookback: ${lookback}` : ''} }
    ready: { prefix: signals/, after: 2h }`;

const FULL_SYNC = (bucket: string, fileRows: number) => `  - name: snapshot
    from: { table: raw.events }
    to: { bucket: ${bucket}, prefix: snapshot/, fileRows: ${fileRows} }
    mode: full`;

const US_PER_MIN = 60_000_000;

/** A timestamp literal with microseconds from microseconds since the epoch. */
function ts(us: number): string {
  const iso = new Date(Math.floor(us / 1000)).toISOString();
  return `${iso.slice(0, 23)}${String(us % 1000).padStart(3, '0')}`;
}

/**
 * Adds events to raw.events. New rows advance a clock; each event's time is up to 30 minutes
 * before its cursor (updated_at), so a row inside the 1h lookback never belongs to a day the
 * signal (after 2h) has finished, except one new row in 50, an event that arrives 60 hours
 * late (into a day already signalled, with a cursor above the watermark). Late rows take a
 * cursor up to 50 minutes below the highest committed one (inside the lookback), ties take
 * exactly the highest.
 */
class EventWriter {
  private clock = Date.UTC(2026, 2, 5, 3, 0, 0) * 1000;
  private nextId = 1;
  constructor(
    private readonly client: pg.Client,
    private readonly rand: () => number,
  ) {}

  async round(rows: number, hours: number, late = 0, ties = 0): Promise<void> {
    const cursors: number[] = [];
    const step = (hours * 60 * US_PER_MIN) / Math.max(rows, 1);
    for (let i = 0; i < rows; i++) {
      this.clock += Math.floor(step * (0.5 + this.rand()));
      cursors.push(this.clock);
    }
    if (late || ties) {
      const { rows: m } = await this.client.query<{ us: string | null }>(
        `SELECT (extract(epoch FROM max(updated_at)) * 1000000)::bigint::text AS us FROM raw.events`,
      );
      const max = m[0]?.us ? Number(m[0].us) : this.clock;
      for (let i = 0; i < late; i++)
        cursors.push(max - US_PER_MIN - Math.floor(this.rand() * 49 * US_PER_MIN));
      for (let i = 0; i < ties; i++) cursors.push(max);
    }
    await this.insert(cursors, this.client, rows);
  }

  /**
   * Deletes the `n` newest rows above `watermark` (a text timestamp; all rows when null): rows
   * never exported by a committed run, so the next run writes fewer rows, and fewer files, than
   * a killed one may have left.
   */
  async removeNewest(n: number, watermark: string | null): Promise<void> {
    await this.client.query(
      `DELETE FROM raw.events WHERE event_id IN (
         SELECT event_id FROM raw.events WHERE $1::timestamp IS NULL OR updated_at > $1::timestamp
          ORDER BY updated_at DESC LIMIT $2)`,
      [watermark, n],
    );
  }

  /** Inserts one row per cursor value (through `client`, by default the writer's session). */
  async insert(cursors: readonly number[], client = this.client, newRows = 0): Promise<void> {
    const names = ['view', 'click', 'signup', 'purchase', `quote's "x"\tand\\more`];
    const cols: (string | number)[][] = [[], [], [], [], [], [], []];
    for (const [i, c] of cursors.entries()) {
      const id = this.nextId++;
      const old = i < newRows && i % 50 === 7;
      cols[0]!.push(id);
      cols[1]!.push(Math.floor(this.rand() * 1000));
      cols[2]!.push(names[id % names.length]!);
      cols[3]!.push(ts(c - (old ? 3600 * US_PER_MIN : Math.floor(this.rand() * 30 * US_PER_MIN))));
      cols[4]!.push(ts(c));
      cols[5]!.push((Math.floor(this.rand() * 1_000_000) / 100).toFixed(2));
      cols[6]!.push(JSON.stringify({ n: id, tag: id % 7 === 0 ? 'ünï' : 'x' }));
    }
    await client.query(
      `INSERT INTO raw.events SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamp[], $5::timestamp[], $6::numeric[], $7::jsonb[])`,
      cols,
    );
  }
}

/** One row as text, prefixed with its day in the sync's time zone (source side). */
const SOURCE_ROW = `to_char(("timestamp" AT TIME ZONE 'UTC') AT TIME ZONE '${TZ}', 'YYYY-MM-DD') || '|' ||
  concat_ws('|', event_id, user_id, event_name, to_char("timestamp", 'YYYY-MM-DD HH24:MI:SS.US'),
            to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS.US'), amount::text, properties::text)`;

/** The same text as DuckDB reads it from a file (the day comes from the row, the folder separately). */
const FILE_ROW = `strftime(("timestamp"::TIMESTAMPTZ AT TIME ZONE '${TZ}'), '%Y-%m-%d') || '|' ||
  concat_ws('|', event_id, user_id, event_name, strftime("timestamp", '%Y-%m-%d %H:%M:%S.%f'),
            strftime(updated_at, '%Y-%m-%d %H:%M:%S.%f'), amount::VARCHAR, properties::VARCHAR)`;

/** Every source row as text (`day|event_id|user_id|event_name|timestamp|updated_at|amount|properties`), sorted. */
async function sourceRows(f: ExportFixture): Promise<string[]> {
  const { rows } = await f.src.query<{ r: string }>(`SELECT ${SOURCE_ROW} AS r FROM raw.events`);
  return rows.map((x) => x.r).sort();
}

/**
 * Rows already read back from committed objects, per fixture: a committed object is never
 * written again (run numbers only grow), so each trial reads only the objects that are new.
 * Each scenario ends with a check that reads everything again.
 */
const readBack = new WeakMap<ExportFixture, Map<string, { key: string; r: string }[]>>();

/** The rows of these objects as DuckDB reads them, each with the object it came from. */
async function objectRows(f: ExportFixture, keys: readonly string[]): Promise<{ key: string; r: string }[]> {
  const done = readBack.get(f) ?? new Map<string, { key: string; r: string }[]>();
  readBack.set(f, done);
  const fresh = keys.filter((k) => !done.has(k));
  const byPath = new Map<string, string>();
  for (const k of fresh) byPath.set(path.resolve(await f.localCopy(k)), k);
  const read = new Map<string, { key: string; r: string }[]>(fresh.map((k) => [k, []]));
  if (fresh.length) {
    const d = await duck();
    await d.runAndReadAll("SET TimeZone = 'UTC'");
    const list = [...byPath.keys()].map((p) => `'${p.replace(/'/g, "''")}'`).join(', ');
    const res = await d.runAndReadAll(
      `SELECT filename AS p, ${FILE_ROW} AS r FROM read_parquet([${list}], filename = true)`,
    );
    for (const x of res.getRowObjectsJson()) {
      const key = byPath.get(path.resolve(String(x.p)))!;
      read.get(key)!.push({ key, r: String(x.r) });
    }
    const committedKeys = new Set([
      ...(await committed(f, 'events')).keys,
      ...(await committed(f, 'snapshot')).keys,
    ]);
    for (const [k, rows] of read) if (committedKeys.has(k)) done.set(k, rows);
  }
  return keys.flatMap((k) => done.get(k) ?? read.get(k)!);
}

/** Multiset difference, for messages that stay short when they fail. */
function diff(want: readonly string[], got: readonly string[]): { missing: string[]; extra: string[] } {
  const count = new Map<string, number>();
  for (const w of want) count.set(w, (count.get(w) ?? 0) + 1);
  const extra: string[] = [];
  for (const g of got) {
    const n = count.get(g) ?? 0;
    if (n === 0) extra.push(g);
    else count.set(g, n - 1);
  }
  const missing = [...count].flatMap(([k, n]) => Array<string>(n).fill(k));
  return { missing: missing.slice(0, 5), extra: extra.slice(0, 5) };
}

interface Committed {
  run: number;
  watermark: string | null;
  keys: Set<string>;
}

/** What the export's state on the source says is committed (nothing before its first commit). */
async function committed(f: ExportFixture, name: string): Promise<Committed> {
  const exists = await f.src.query<{ ok: boolean }>(
    "SELECT to_regclass('wharf_state.export_files') IS NOT NULL AS ok",
  );
  if (!exists.rows[0]!.ok) return { run: 0, watermark: null, keys: new Set() };
  // The watermark in the rows' text form (PostgreSQL's own drops trailing zeros), for comparisons.
  const s = await f.src.query<{ run: string; watermark: string | null }>(
    `SELECT run, to_char(watermark::timestamp, 'YYYY-MM-DD HH24:MI:SS.US') AS watermark
       FROM wharf_state.export_state WHERE name = $1`,
    [name],
  );
  const k = await f.src.query<{ key: string }>('SELECT key FROM wharf_state.export_files WHERE name = $1', [
    name,
  ]);
  return {
    run: Number(s.rows[0]?.run ?? 0),
    watermark: s.rows[0]?.watermark ?? null,
    keys: new Set(k.rows.map((r) => r.key)),
  };
}

/** The run number in one of this export's object names. */
function runOfKey(key: string): number {
  const m = /-r(\d{6})(?:-\d{4})?\.parquet$/.exec(key);
  if (!m) throw new Error(`unexpected object ${key}`);
  return Number(m[1]);
}

/** Every day named by every signal object, as DuckDB reads them (each day once). */
async function signalledDays(f: ExportFixture): Promise<string[]> {
  const keys = await f.keys('signals/');
  if (keys.length === 0) return [];
  const copies = await Promise.all(keys.map((k) => f.localCopy(k)));
  const d = await duck();
  const res = await d.runAndReadAll(
    `SELECT strftime(finished_date, '%Y-%m-%d') AS d FROM read_parquet([${copies.map((p) => `'${p}'`).join(', ')}])`,
  );
  const days = res.getRowObjectsJson().map((x) => String(x.d));
  expect(new Set(days).size).toBe(days.length);
  return days.sort();
}

/** Data objects only: the local fixture lists hidden temporary files too, which no reader takes. */
async function dataKeys(f: ExportFixture, prefix: string): Promise<string[]> {
  return (await f.keys(prefix)).filter((k) => !path.basename(k).startsWith('.'));
}

/**
 * The signal's promise: every source row of a signalled day with a cursor at or below the
 * committed watermark is in a committed file (rows arriving later for the day are the run's
 * `late` rows), and the day's folder holds no row twice and none the source lacks. Holds at
 * any moment, a killed run's leftovers included.
 */
async function expectSignalsHold(f: ExportFixture, label: object, source?: string[]): Promise<string[]> {
  const days = await signalledDays(f);
  if (days.length === 0) return days;
  const c = await committed(f, 'events');
  expect(c.watermark, 'a signal exists only after a commit').not.toBeNull();
  const keys = (await dataKeys(f, 'events/')).filter((k) => days.includes(k.split('/')[1]!));
  const rows = await objectRows(f, keys);
  const signalled = new Set(days);
  const all = (source ?? (await sourceRows(f))).filter((r) => signalled.has(r.slice(0, 10)));
  const want = all.filter((r) => r.split('|')[5]! <= c.watermark!);
  const inCommitted = rows.filter((x) => c.keys.has(x.key)).map((x) => x.r);
  expect({ ...label, days: days.length, missing: diff(want, inCommitted).missing }).toEqual({
    ...label,
    days: days.length,
    missing: [],
  });
  const seen = new Set<string>();
  const twice = rows.map((x) => x.r).filter((r) => seen.has(r) || !seen.add(r));
  expect({ ...label, twice, extra: diff(all, [...seen]).extra }).toEqual({ ...label, twice: [], extra: [] });
  return days;
}

/** After a complete append run: every source row once, in its day's folder, only committed objects. */
async function expectAppendComplete(f: ExportFixture, label: object): Promise<void> {
  const c = await committed(f, 'events');
  const keys = await dataKeys(f, 'events/');
  const rows = await objectRows(f, keys);
  const want = await sourceRows(f);
  expect({
    ...label,
    count: rows.length,
    ...diff(
      want,
      rows.map((x) => x.r),
    ),
  }).toEqual({
    ...label,
    count: want.length,
    missing: [],
    extra: [],
  });
  // Each row sits in the folder of its day.
  const misplaced = rows.filter((x) => x.r.slice(0, 10) !== x.key.split('/')[1]).slice(0, 3);
  expect({ ...label, misplaced }).toEqual({ ...label, misplaced: [] });
  // Only committed objects remain: the files the state records, and signals of committed runs.
  expect({ ...label, keys }).toEqual({ ...label, keys: [...c.keys].sort() });
  for (const k of await dataKeys(f, 'signals/'))
    expect({ ...label, k, ok: runOfKey(k) <= c.run }).toEqual({ ...label, k, ok: true });
  await expectSignalsHold(f, label, want);
}

interface Marker {
  sync: string;
  run: number;
  rows: number;
  files: string[];
}

async function marker(f: ExportFixture): Promise<Marker | undefined> {
  if (!(await f.keys('snapshot/')).includes('snapshot/_SUCCESS')) return undefined;
  return JSON.parse(fs.readFileSync(await f.localCopy('snapshot/_SUCCESS'), 'utf8')) as Marker;
}

/** A `_SUCCESS` present names files that all exist and hold exactly the snapshot `want`. */
async function expectMarkerHolds(f: ExportFixture, m: Marker, want: readonly string[], label: object) {
  const keys = await dataKeys(f, 'snapshot/');
  expect({ ...label, absent: m.files.filter((k) => !keys.includes(k)) }).toEqual({ ...label, absent: [] });
  const rows = await objectRows(f, m.files);
  expect({
    ...label,
    rows: m.rows,
    ...diff(
      want,
      rows.map((x) => x.r),
    ),
  }).toEqual({
    ...label,
    rows: want.length,
    missing: [],
    extra: [],
  });
}

/** After a complete full run: one snapshot, of the committed run, and `_SUCCESS` naming exactly it. */
async function expectFullComplete(f: ExportFixture, label: object): Promise<string[]> {
  const c = await committed(f, 'snapshot');
  const m = await marker(f);
  expect({ ...label, marker: m !== undefined }).toEqual({ ...label, marker: true });
  const keys = (await dataKeys(f, 'snapshot/')).filter((k) => k !== 'snapshot/_SUCCESS');
  expect({ ...label, runs: [...new Set(keys.map(runOfKey))] }).toEqual({ ...label, runs: [c.run] });
  expect({ ...label, run: m!.run, files: m!.files }).toEqual({ ...label, run: c.run, files: keys });
  expect({ ...label, keys }).toEqual({ ...label, keys: [...c.keys].sort() });
  const want = await sourceRows(f);
  await expectMarkerHolds(f, m!, want, label);
  return want;
}

/** Starts `wharf sync`; with `killAt` it kills itself there, otherwise it is killed `afterMs` after it says it started. */
function killedRun(
  f: ExportFixture,
  how: { killAt: string } | { afterMs: number },
): Promise<'killed' | 'finished'> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'sync', '-f', f.file, '--lock-timeout', '20s'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        NO_COLOR: '1',
        ...('killAt' in how ? { WHARF_TEST_KILL_AT: how.killAt } : {}),
      },
    });
    let timer: NodeJS.Timeout | undefined;
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdout.on('data', (d: Buffer) => {
      if ('afterMs' in how && !timer && d.toString().includes('started'))
        timer = setTimeout(() => child.kill('SIGKILL'), how.afterMs);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve('killed');
      else if (code === 0) resolve('finished');
      else reject(new Error(`wharf sync exited with ${code}: ${err}`));
    });
  });
}

/** How long the last complete run took: random kills land within that much of a start. */
const lastRun = new Map<ExportFixture, number>();

async function completeRun(f: ExportFixture): Promise<void> {
  const t0 = performance.now();
  const r = await runCli(['sync', '-f', f.file, '--lock-timeout', '20s']);
  if (r.code !== 0) throw new Error(`sync failed (${r.code}): ${r.stderr}${r.stdout}`);
  lastRun.set(f, performance.now() - t0);
}

/** A random moment within a run as long as the last complete one (so it lands mid-run whatever the machine's speed). */
const randomDelay = (f: ExportFixture, rand: () => number) =>
  Math.floor(rand() * Math.max(60, 0.9 * (lastRun.get(f) ?? 600)));

type Trial = { killAt: string } | { random: true };
const points = (...p: string[]): Trial[] => p.map((killAt) => ({ killAt }));
const randoms = (n: number): Trial[] => Array.from({ length: n }, () => ({ random: true }) as const);

describe.each([
  // Deterministic points first (each must be reached: every round finishes another day), then random moments.
  {
    label: 'append into a local bucket',
    onS3: false,
    fileRows: 150,
    seed: 11,
    trials: [
      ...points(
        'export-after-signal',
        'export-after-file:1',
        'export-after-file:4',
        'export-before-commit',
        'export-after-commit',
      ),
      ...randoms(4),
    ],
  },
  {
    label: 'append into the S3 test server',
    onS3: true,
    fileRows: 1000,
    seed: 12,
    trials: [...points('export-after-file:2', 'export-after-signal'), ...randoms(2)],
  },
] as const)('SIGKILL during an $label', ({ onS3, fileRows, seed, trials }) => {
  it(`${trials.length} killed runs, each followed by a complete run: each row once, signals only for complete days, no uncommitted object`, async () => {
    const f = await exportFixture(server, onS3 ? { s3 } : {});
    try {
      f.write(APPEND_SYNC(f.bucket, fileRows));
      await f.apply();
      const rand = rng(seed);
      const w = new EventWriter(f.src, rand);
      // Several days of events in the first run; then about a day per trial.
      await w.round(onS3 ? 4000 : 6000, 80);
      let killed = 0;
      let killedAfterFile = 0;
      let signalsSeen = 0;
      for (const [trial, t] of trials.entries()) {
        if (trial > 0) await w.round(1200, 24, 20, 3);
        const before = new Set(await dataKeys(f, 'events/'));
        const delay = 'random' in t ? randomDelay(f, rand) : undefined;
        const label = { trial, ...('killAt' in t ? { killAt: t.killAt } : { delay }) };
        const how = 'killAt' in t ? { killAt: t.killAt } : { afterMs: delay! };
        const end = await killedRun(f, how);
        if ('killAt' in t) expect({ ...label, end }).toEqual({ ...label, end: 'killed' });
        if (end === 'killed') {
          killed++;
          if ((await dataKeys(f, 'events/')).some((k) => !before.has(k))) killedAfterFile++;
        }
        // Right after the kill: a signal already present only names complete days.
        signalsSeen += (await expectSignalsHold(f, { ...label, at: 'after the kill' })).length > 0 ? 1 : 0;
        // Before the next run, rows the killed run may have written go (so the next run writes
        // fewer files into the last day), and late rows and ties with the watermark arrive.
        await w.removeNewest(fileRows + 100, (await committed(f, 'events')).watermark);
        await w.round(0, 0, 10, 2);
        await completeRun(f);
        await expectAppendComplete(f, { ...label, at: 'after the next run' });
      }
      readBack.delete(f);
      await expectAppendComplete(f, { at: 'the end, every object read again' });
      expect(killed).toBeGreaterThanOrEqual(trials.length - 1);
      expect(killedAfterFile).toBeGreaterThanOrEqual(Math.ceil(trials.length / 2));
      expect(signalsSeen).toBeGreaterThanOrEqual(trials.length - 1);
    } finally {
      await f.close();
    }
  }, 120_000);
});

describe.each([
  {
    label: 'full export into a local bucket',
    onS3: false,
    fileRows: 300,
    seed: 21,
    trials: [...points('export-after-file:2', 'export-before-commit', 'export-after-commit'), ...randoms(6)],
  },
  {
    label: 'full export into the S3 test server',
    onS3: true,
    fileRows: 1000,
    seed: 22,
    trials: [...points('export-after-commit'), ...randoms(1)],
  },
] as const)('SIGKILL during a $label', ({ onS3, fileRows, seed, trials }) => {
  it(`${trials.length} killed runs: _SUCCESS only ever names a complete snapshot; after the next run exactly one snapshot remains`, async () => {
    const f = await exportFixture(server, onS3 ? { s3 } : {});
    try {
      f.write(FULL_SYNC(f.bucket, fileRows));
      await f.apply();
      const rand = rng(seed);
      const w = new EventWriter(f.src, rand);
      await w.round(onS3 ? 2000 : 3000, 60);
      let snapshot: { run: number; rows: string[] } | undefined;
      let killed = 0;
      for (const [trial, t] of trials.entries()) {
        // The first kill points need a snapshot to supersede.
        if (trial === 0) {
          await completeRun(f);
          snapshot = { run: 1, rows: await expectFullComplete(f, { trial, at: 'first run' }) };
        }
        await w.round(400, 10, 20, 3);
        const delay = 'random' in t ? randomDelay(f, rand) : undefined;
        const label = { trial, ...('killAt' in t ? { killAt: t.killAt } : { delay }) };
        const end = await killedRun(f, 'killAt' in t ? { killAt: t.killAt } : { afterMs: delay! });
        if ('killAt' in t) expect({ ...label, end }).toEqual({ ...label, end: 'killed' });
        if (end === 'killed') killed++;
        // Right after the kill: a _SUCCESS present names a complete snapshot, the last complete
        // run's (or, if the run finished, the source as it is).
        const m = await marker(f);
        if (m)
          await expectMarkerHolds(
            f,
            m,
            m.run === snapshot!.run ? snapshot!.rows : await sourceRows(f),
            label,
          );
        await w.removeNewest(fileRows + 100, null);
        await w.round(0, 0, 5, 1);
        await completeRun(f);
        const c = await committed(f, 'snapshot');
        snapshot = { run: c.run, rows: await expectFullComplete(f, { ...label, at: 'after the next run' }) };
      }
      readBack.delete(f);
      await expectFullComplete(f, { at: 'the end, every object read again' });
      expect(killed).toBeGreaterThanOrEqual(trials.length - 1);
    } finally {
      await f.close();
    }
  }, 120_000);
});

describe('a writer whose transaction spans export runs', () => {
  it('with lookback, rows committed late with a cursor equal to or below the watermark are written once by the next run', async () => {
    const f = await exportFixture(server);
    const other = await server.client(f.src.database!);
    try {
      f.write(APPEND_SYNC(f.bucket, 100));
      await f.apply();
      const w = new EventWriter(f.src, rng(31));
      await w.round(600, 30);
      await completeRun(f);
      await expectAppendComplete(f, { run: 1 });
      const { rows } = await f.src.query<{ us: string; n: number }>(
        `SELECT (extract(epoch FROM max(updated_at)) * 1000000)::bigint::text AS us,
                (SELECT count(*)::int FROM raw.events WHERE updated_at = (SELECT max(updated_at) FROM raw.events)) AS n
           FROM raw.events`,
      );
      const watermark = Number(rows[0]!.us);
      expect(rows[0]!.n).toBeGreaterThanOrEqual(1); // the rows the ties share their cursor with are exported
      // A second session opens a transaction: rows with the cursor of rows already exported,
      // and rows 20 minutes below it (inside the 1h lookback).
      await other.query('BEGIN');
      await w.insert([watermark, watermark, watermark, ...Array(5).fill(watermark - 20 * US_PER_MIN)], other);
      // Meanwhile others commit rows about 15 minutes of cursor further on, and a run exports them.
      await w.round(150, 0.25);
      await completeRun(f);
      await expectAppendComplete(f, { run: 2, open: true });
      const before = await dataKeys(f, 'events/');
      // The transaction commits late; the next run writes its 8 rows, once.
      await other.query('COMMIT');
      await completeRun(f);
      await expectAppendComplete(f, { run: 3 });
      const added = (await dataKeys(f, 'events/')).filter((k) => !before.includes(k));
      expect((await objectRows(f, added)).length).toBe(8);
      // And a run after that writes nothing more.
      await completeRun(f);
      expect(await dataKeys(f, 'events/')).toEqual([...before, ...added].sort());
      readBack.delete(f);
      await expectAppendComplete(f, { run: 4 });
    } finally {
      await other.end().catch(() => {});
      await f.close();
    }
  });
});
