// Bucket exports (`to: { bucket, prefix }`): rows of a PostgreSQL table land as files in a
// bucket, one folder per day in the sync's time zone, each source row version in exactly one
// file; a readiness signal names the days whose files are complete. Every file is read back by
// DuckDB, an independent reader, and compared with the source.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { type ExportFixture, exportFixture, readParquet, startExportServers } from './support/export.js';
import type { TestServer } from './support/pg.js';
import type { TestS3Server } from './support/s3.js';

let server: TestServer;
let s3: TestS3Server;
beforeAll(async () => {
  ({ server, s3 } = await startExportServers());
}, 60_000);
afterAll(async () => {
  await Promise.all([server?.stop(), s3?.stop()]);
});

const EVENTS_SYNC = (extra = '') => `  - name: statsig-events
    from: { table: raw.events }
    to:
      bucket: $BUCKET
      prefix: events/
      partition: { by: timestamp, granularity: day, timeZone: America/Los_Angeles }
${extra}    mode: append
    cursor: { column: updated_at, lookback: 1h }
    ready: { prefix: signals/, after: 2h }`;

/**
 * Rows around the 2026 daylight-saving start in Los Angeles (08 March, 02:00 PST -> 03:00 PDT):
 * the last microsecond of a day and the first of the next, in UTC and in Los Angeles.
 */
const BOUNDARY_ROWS = `
INSERT INTO raw.events VALUES
  (1, 9223372036854775807, 'signup', '2026-03-07 07:59:59.999999', '2026-03-07 08:00:00', 12.34, '{"a": 1, "big": 12345678901234567890}'),
  (2, -9223372036854775808, 'login', '2026-03-07 08:00:00', '2026-03-07 08:01:00', NULL, NULL),
  (3, 42, 'quote''s "and" newline
and tab	done', '2026-03-08 09:59:59.999999', '2026-03-08 10:00:00', -0.01, '{"ünï": "cödé", "q": "\\"x\\""}'),
  (4, 43, 'after the change', '2026-03-08 10:00:00', '2026-03-08 10:00:00', 0, '[]'),
  (5, 44, 'last of the short day', '2026-03-09 06:59:59.999999', '2026-03-09 07:00:00', 1, '{}'),
  (6, 45, 'first of the next day', '2026-03-09 07:00:00', '2026-03-09 07:00:00', 2, 'null'),
  (7, 46, '', '2026-03-10 12:00:00', '2026-03-10 12:00:00', 99999999999999.99, '{"nested": {"x": [1, 2.5, true, null]}}');`;

/** The source rows as the files should hold them, keyed by event_id, with their LA day. */
async function sourceRows(
  f: ExportFixture,
): Promise<Map<string, { row: Record<string, unknown>; day: string }>> {
  const { rows } = await f.src.query<{ event_id: string; day: string; row: Record<string, unknown> }>(
    `SELECT event_id::text, to_char(("timestamp" AT TIME ZONE 'UTC') AT TIME ZONE 'America/Los_Angeles', 'YYYY-MM-DD') AS day,
            json_build_object('event_id', event_id::text, 'user_id', user_id::text, 'event_name', event_name,
                              'timestamp', to_char("timestamp", 'YYYY-MM-DD"T"HH24:MI:SS.US'),
                              'amount', amount::text, 'properties', properties::text) AS row
       FROM raw.events`,
  );
  return new Map(rows.map((r) => [r.event_id, { row: r.row, day: r.day }]));
}

/** Every data file's rows, with the day folder each came from, as DuckDB reads them. */
async function fileRows(
  f: ExportFixture,
  prefix = 'events/',
): Promise<{ row: Record<string, unknown>; day: string; key: string }[]> {
  const out: { row: Record<string, unknown>; day: string; key: string }[] = [];
  for (const key of await f.keys(prefix)) {
    if (!key.endsWith('.parquet')) continue;
    const rows = await readParquet(
      [await f.localCopy(key)],
      `event_id::VARCHAR AS event_id, user_id::VARCHAR AS user_id, event_name,
       strftime("timestamp", '%Y-%m-%dT%H:%M:%S.%f') AS "timestamp", amount::VARCHAR AS amount, properties::VARCHAR AS properties`,
    );
    const day = key.split('/')[1]!;
    for (const row of rows) out.push({ row, day, key });
  }
  return out;
}

/** JSON text compared by meaning (jsonb normalises spacing; DuckDB gives the text as stored). */
function normal(row: Record<string, unknown>): Record<string, unknown> {
  const p = row.properties;
  return { ...row, properties: p === null || p === undefined ? null : JSON.stringify(JSON.parse(String(p))) };
}

/** The files hold exactly the source rows, each once, each in the folder of its day. */
async function expectExactlyOnce(f: ExportFixture): Promise<void> {
  const want = await sourceRows(f);
  const got = await fileRows(f);
  const ids = got.map((g) => String(g.row.event_id)).sort();
  expect(ids).toEqual([...want.keys()].sort());
  for (const g of got) {
    const w = want.get(String(g.row.event_id))!;
    expect({ id: g.row.event_id, day: g.day }).toEqual({ id: g.row.event_id, day: w.day });
    expect(normal(g.row)).toEqual(normal(w.row));
  }
}

async function signalledDays(f: ExportFixture): Promise<string[]> {
  const keys = (await f.keys('signals/')).filter((k) => k.endsWith('.parquet'));
  const rows = await readParquet(
    await Promise.all(keys.map((k) => f.localCopy(k))),
    `strftime(finished_date, '%Y-%m-%d') AS d, typeof(finished_date) AS t`,
  );
  for (const r of rows) expect(r.t).toBe('DATE');
  return rows.map((r) => String(r.d)).sort();
}

async function sync(f: ExportFixture, ...args: string[]) {
  const r = await runCli(['sync', '-f', f.file, '--json', ...args]);
  if (r.code !== 0) throw new Error(`sync failed (${r.code}): ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout) as {
    syncs: {
      name: string;
      rows: { inserted: number };
      watermark?: string;
      export: {
        files: { key: string; rows: number; bytes: number }[];
        late?: { rows: number; days: string[] };
        signalled?: string[];
        removed?: number;
        cleaned?: number;
      };
    }[];
  };
}

describe.each([
  ['a local bucket', false],
  ['the S3 test server', true],
] as const)('append export into %s', (_label, onS3) => {
  let f: ExportFixture;
  beforeAll(async () => {
    f = await exportFixture(server, onS3 ? { s3 } : {});
    f.write(EVENTS_SYNC().replace('$BUCKET', f.bucket));
    await f.apply();
    await f.src.query(BOUNDARY_ROWS);
  }, 60_000);
  afterAll(async () => {
    await f?.close();
  });

  it('writes each row once, in the folder of its day in the sync time zone, and exactly as the source holds it', async () => {
    const r = await sync(f);
    const s = r.syncs[0]!;
    expect(s.rows.inserted).toBe(7);
    // Los Angeles days: 07:59:59.999999 UTC on 7 March is still 6 March there; the short day
    // of the daylight-saving change (8 March) ends at 07:00 UTC on 9 March.
    expect(await f.keys('events/')).toEqual([
      'events/2026-03-06/statsig-events-r000001-0001.parquet',
      'events/2026-03-07/statsig-events-r000001-0001.parquet',
      'events/2026-03-08/statsig-events-r000001-0001.parquet',
      'events/2026-03-09/statsig-events-r000001-0001.parquet',
      'events/2026-03-10/statsig-events-r000001-0001.parquet',
    ]);
    await expectExactlyOnce(f);
    // The files' MD5s and row counts are recorded with the run.
    const { rows } = await f.src.query(
      'SELECT key, rows, bytes, md5 FROM wharf_state.export_files ORDER BY key',
    );
    expect(rows.map((x) => [x.key, Number(x.rows)])).toEqual(s.export.files.map((x) => [x.key, x.rows]));
    for (const x of rows) expect(x.md5).toMatch(/^[0-9a-f]{32}$/);
  });

  it('signals the days whose end plus 2h the watermark has passed, and no other', async () => {
    // Watermark 2026-03-10 12:00 UTC = 05:00 PDT on 10 March; minus 2h: 03:00 on 10 March. So
    // the 9th is finished, the 10th is not.
    expect(await signalledDays(f)).toEqual(['2026-03-06', '2026-03-07', '2026-03-08', '2026-03-09']);
  });

  it('a second run writes only new and late rows, reports rows for days already signalled, and signals on', async () => {
    await f.src.query(`INSERT INTO raw.events VALUES
      (8, 47, 'new', '2026-03-11 12:00:00', '2026-03-11 12:00:00', 5, '{}'),
      -- committed late: its cursor is below the watermark, inside the 1h lookback
      (9, 48, 'late', '2026-03-08 12:00:00', '2026-03-10 11:30:00', 6, '{}'),
      -- the same cursor value as the watermark row, committed after it was read
      (10, 49, 'tie', '2026-03-10 13:00:00', '2026-03-10 12:00:00', 7, '{}')`);
    const r = await sync(f);
    const s = r.syncs[0]!;
    expect(s.rows.inserted).toBe(3);
    expect(s.export.late).toEqual({ rows: 1, days: ['2026-03-08'] });
    expect(s.export.files.map((x) => x.key)).toEqual([
      'events/2026-03-08/statsig-events-r000002-0001.parquet',
      'events/2026-03-10/statsig-events-r000002-0001.parquet',
      'events/2026-03-11/statsig-events-r000002-0001.parquet',
    ]);
    await expectExactlyOnce(f);
    expect(await signalledDays(f)).toEqual([
      '2026-03-06',
      '2026-03-07',
      '2026-03-08',
      '2026-03-09',
      '2026-03-10',
    ]);
  });

  it('a run that finds nothing new writes nothing and keeps the state', async () => {
    const before = await f.keys();
    const state = await f.src.query('SELECT run, watermark FROM wharf_state.export_state');
    const r = await sync(f);
    expect(r.syncs[0]!.export.files).toEqual([]);
    expect(await f.keys()).toEqual(before);
    expect((await f.src.query('SELECT run, watermark FROM wharf_state.export_state')).rows).toEqual(
      state.rows,
    );
  });

  it('--dry-run names the files and rows it would write and writes nothing', async () => {
    await f.src.query(
      `INSERT INTO raw.events VALUES (11, 50, 'dry', '2026-03-12 12:00:00', '2026-03-12 12:00:00', 1, '{}')`,
    );
    const before = await f.keys();
    const r = await runCli(['sync', '-f', f.file, '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('would write 1 rows in 1 file under');
    expect(r.stdout).toContain('events/2026-03-12/statsig-events-r000003-0001.parquet (1 rows)');
    expect(await f.keys()).toEqual(before);
    await sync(f);
    await expectExactlyOnce(f);
  });
});

describe('full export', () => {
  it('writes a complete snapshot, then removes the previous one, and writes _SUCCESS last', async () => {
    const f = await exportFixture(server);
    try {
      f.write(`  - name: users-snapshot
    from: { table: raw.events }
    to: { bucket: ${f.bucket}, prefix: snapshot/, format: parquet, compression: snappy }
    mode: full`);
      await f.apply();
      await f.src.query(BOUNDARY_ROWS);
      await sync(f);
      expect(await f.keys('snapshot/')).toEqual([
        'snapshot/_SUCCESS',
        'snapshot/users-snapshot-r000001-0001.parquet',
      ]);
      const marker = JSON.parse(
        (await import('node:fs')).readFileSync(await f.localCopy('snapshot/_SUCCESS'), 'utf8'),
      );
      expect(marker).toEqual({
        sync: 'users-snapshot',
        run: 1,
        rows: 7,
        files: ['snapshot/users-snapshot-r000001-0001.parquet'],
      });
      await f.src.query('DELETE FROM raw.events WHERE event_id > 3');
      const r = await sync(f);
      expect(r.syncs[0]!.export.removed).toBe(1);
      expect(await f.keys('snapshot/')).toEqual([
        'snapshot/_SUCCESS',
        'snapshot/users-snapshot-r000002-0001.parquet',
      ]);
      const rows = await readParquet(
        [await f.localCopy('snapshot/users-snapshot-r000002-0001.parquet')],
        'event_id::VARCHAR AS id',
      );
      expect(rows.map((x) => x.id).sort()).toEqual(['1', '2', '3']);
    } finally {
      await f.close();
    }
  });
});

describe('append export, again from the start', () => {
  it("--dry-run before any run (no state tables yet) names the first run's files and creates nothing", async () => {
    const f = await exportFixture(server);
    try {
      f.write(EVENTS_SYNC().replace('$BUCKET', f.bucket));
      await f.apply();
      await f.src.query(BOUNDARY_ROWS);
      const r = await runCli(['sync', '-f', f.file, '--dry-run']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('would write 7 rows in 5 files under');
      expect(r.stdout).toContain('events/2026-03-06/statsig-events-r000001-0001.parquet (1 rows)');
      expect(await f.keys()).toEqual([]);
      expect((await f.src.query("SELECT to_regclass('wharf_state.export_state') AS t")).rows[0].t).toBeNull();
    } finally {
      await f.close();
    }
  });

  it('--full-refresh writes every row as new files, then removes the old ones; signals stay', async () => {
    const f = await exportFixture(server);
    try {
      f.write(EVENTS_SYNC().replace('$BUCKET', f.bucket));
      await f.apply();
      await f.src.query(BOUNDARY_ROWS);
      await sync(f);
      const signals = await signalledDays(f);
      const r = await sync(f, '--full-refresh');
      expect(r.syncs[0]!.rows.inserted).toBe(7);
      expect(r.syncs[0]!.export.removed).toBe(5);
      const keys = await f.keys('events/');
      expect(keys.every((k) => k.includes('-r000002-'))).toBe(true);
      await expectExactlyOnce(f);
      expect(await signalledDays(f)).toEqual(signals);
    } finally {
      await f.close();
    }
  });
});

describe('large files on S3', () => {
  it('a file larger than one 8 MiB part goes up as a multipart upload and reads back whole', async () => {
    const f = await exportFixture(server, { s3 });
    try {
      f.write(`  - name: big
    from: { table: raw.events }
    to: { bucket: ${f.bucket}, prefix: big/, format: csv }
    mode: full`);
      // ~12 MB of csv: 40,000 rows of ~300 bytes, incompressible enough to stay large.
      await f.src.query(`INSERT INTO raw.events
        SELECT g, g * 7, md5(g::text) || repeat(md5((g * 13)::text), 8), '2026-01-01'::timestamp + g * interval '1 second',
               '2026-01-01'::timestamp, g / 100.0, NULL
          FROM generate_series(1, 40000) g`);
      const r = await sync(f);
      const file = r.syncs[0]!.export.files[0]!;
      expect(file.bytes).toBeGreaterThan(8 * 1024 * 1024);
      const local = await f.localCopy(file.key);
      const { duck } = await import('./support/export.js');
      const d = await duck();
      const rows = (
        await d.runAndReadAll(
          `SELECT count(*)::VARCHAR AS n, sum(event_id)::VARCHAR AS s FROM read_csv('${local}', header = true, allow_quoted_nulls = false)`,
        )
      ).getRowObjectsJson();
      expect(rows).toEqual([{ n: '40000', s: String((40000 * 40001) / 2) }]);
    } finally {
      await f.close();
    }
  });
});

describe('export rules', () => {
  const cases: [string, string, RegExp][] = [
    [
      'merge into files',
      'mode: merge\n    primaryKey: [event_id]\n    cursor: { column: updated_at }',
      /mode merge updates and deletes rows in place, which files cannot do/,
    ],
    [
      'cdc into files',
      'mode: cdc\n    primaryKey: [event_id]\n    cdc: { op: op, sequence: seq }',
      /mode cdc updates and deletes rows in place/,
    ],
    ['zstd on csv', 'mode: full\n    compression: zstd', /csv files take compression none, gzip, not zstd/],
  ];
  it.each(cases)('%s is refused at its line and column, and nothing runs', async (_l, body, message) => {
    const f = await exportFixture(server);
    try {
      const [mode, ...rest] = body.split('\n');
      const compression = rest.find((l) => l.includes('compression'));
      f.write(`  - name: bad
    from: { table: raw.events }
    to: { bucket: ${f.bucket}, prefix: out/${compression ? `, format: csv, ${compression.trim()}` : ''} }
    ${mode}
${rest.filter((l) => !l.includes('compression')).join('\n')}`);
      const r = await runCli(['sync', '-f', f.file]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/wharf\.yaml:\d+:\d+/);
      expect(await f.keys()).toEqual([]);
    } finally {
      await f.close();
    }
  });

  it('refuses a signal without day partitions, an unknown bucket and overlapping prefixes', async () => {
    const f = await exportFixture(server);
    try {
      f.write(`  - name: a
    from: { table: raw.events }
    to: { bucket: ${f.bucket}, prefix: events/ }
    mode: append
    cursor: { column: updated_at }
    ready: { prefix: signals/ }
  - name: b
    from: { table: raw.events }
    to: { bucket: nowhere, prefix: x/ }
    mode: full
  - name: c
    from: { table: raw.events }
    to: { bucket: ${f.bucket}, prefix: events/more/ }
    mode: full`);
      const r = await runCli(['validate', '-f', f.file]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(
        /wharf\.yaml:\d+:\d+.*"ready" signals finished days, so the export needs "to.partition"/,
      );
      expect(r.stderr).toMatch(/bucket "nowhere" is not declared under buckets/);
      expect(r.stderr).toMatch(/prefix events\/more\/ in bucket .* overlaps sync a's/);
    } finally {
      await f.close();
    }
  });

  it('takes a prefix without its trailing slash as the same folder, and words a bad one as a prefix', async () => {
    const f = await exportFixture(server);
    try {
      f.write(`  - name: a
    from: { table: raw.events }
    to: { bucket: ${f.bucket}, prefix: vendor/events }
    mode: full`);
      await f.apply();
      await f.src.query(BOUNDARY_ROWS);
      await sync(f);
      expect(await f.keys()).toEqual(['vendor/events/_SUCCESS', 'vendor/events/a-r000001-0001.parquet']);
      f.write(`  - name: a
    from: { table: raw.events }
    to: { bucket: ${f.bucket}, prefix: "vendor events/" }
    mode: full`);
      const r = await runCli(['validate', '-f', f.file]);
      expect(r.stderr).toMatch(
        /wharf\.yaml:\d+:\d+ +syncs\[0\]\.to\.prefix +error: invalid prefix "vendor events\/": a folder path/,
      );
    } finally {
      await f.close();
    }
  });

  it('refuses hostile prefixes and time zones at their position before anything reaches an engine', async () => {
    const f = await exportFixture(server);
    try {
      f.write(`  - name: a
    from: { table: raw.events }
    to: { bucket: ${f.bucket}, prefix: "events/../../etc/", partition: { by: timestamp, timeZone: "UTC'; DROP TABLE raw.events; --" } }
    mode: full`);
      const r = await runCli(['sync', '-f', f.file]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(
        /wharf\.yaml:\d+:\d+.*prefix "events\/\.\.\/\.\.\/etc\/" has an empty, "\." or "\.\." folder/,
      );
      expect(r.stderr).toMatch(/wharf\.yaml:\d+:\d+.*is not an IANA time zone/);
      expect((await f.src.query("SELECT to_regclass('raw.events') IS NOT NULL AS ok")).rows[0].ok).toBe(true);
      expect(await f.keys()).toEqual([]);
    } finally {
      await f.close();
    }
  });
});
