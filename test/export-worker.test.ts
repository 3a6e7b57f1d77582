// The real executable makes an export's files in a worker thread (src/sync/export/file-writer.ts):
// the files it writes are byte for byte those the same run makes in its own thread
// (WHARF_EXPORT_THREADS=0, the fallback where no worker can start), across files, row groups,
// unicode and JSON; and a value the files cannot hold, met in the worker, fails the run with
// the same message as in one thread, no stack trace, no object left and nothing committed.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExportFixture, exportFixture } from './support/export.js';
import { startTestServer, type TestServer } from './support/pg.js';

const BIN = path.join(import.meta.dirname, '..', 'bin', 'wharf.js');

let server: TestServer;
let f: ExportFixture;

const SYNC = (name: string, from: string) => `  - name: ${name}
    from: ${from}
    to:
      bucket: $BUCKET
      prefix: ${name}/
      fileRows: 7000
      partition: { by: timestamp, granularity: day, timeZone: America/Los_Angeles }
    mode: append
    cursor: { column: updated_at }`;

const BAD = `{ query: "SELECT event_id, event_name, CASE WHEN event_id = 4321 THEN 'infinity'::timestamp ELSE updated_at END AS stamp, \\"timestamp\\", updated_at FROM raw.events" }`;

beforeAll(async () => {
  server = await startTestServer();
  f = await exportFixture(server);
  f.write(
    [
      SYNC('threaded', '{ table: raw.events }'),
      SYNC('single', '{ table: raw.events }'),
      SYNC('bad', BAD),
      SYNC('badsingle', BAD),
    ]
      .join('\n')
      .replaceAll('$BUCKET', f.bucket),
  );
  await f.apply();
  // 20,000 rows over four days: several files per day (fileRows 7000), row groups of 10,000
  // split across them, text with unicode, tabs, backslashes and newlines, JSON, NULLs.
  await f.src.query(`INSERT INTO raw.events
    SELECT g, g % 97, CASE WHEN g % 5 = 0 THEN 'café ☕ "q" \\ tab' || chr(9) || 'nl' || chr(10) || g ELSE 'event_' || (g % 13) END,
           timestamp '2026-03-06 00:00:00' + g * interval '17 seconds',
           timestamp '2026-03-06 00:00:00' + g * interval '17 seconds',
           CASE WHEN g % 7 = 0 THEN NULL ELSE (g * 1.25)::numeric(18,2) END,
           CASE WHEN g % 11 = 0 THEN NULL ELSE jsonb_build_object('g', g, 'emoji', '🚀', 'nested', jsonb_build_object('s', 'x\\y"z')) END
      FROM generate_series(1, 20000) g`);
}, 120_000);

afterAll(async () => {
  await f?.close();
  await server?.stop();
});

function wharf(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: f.dir,
      env: { ...process.env, ...env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('export files made in a worker thread', () => {
  it('are byte for byte the files one thread makes', async () => {
    const a = await wharf(['sync', '-f', f.file, 'threaded', '--json']);
    expect(a.code, a.stderr).toBe(0);
    const b = await wharf(['sync', '-f', f.file, 'single', '--json'], { WHARF_EXPORT_THREADS: '0' });
    expect(b.code, b.stderr).toBe(0);
    const threaded = await f.keys('threaded/');
    const single = await f.keys('single/');
    expect(threaded.length).toBeGreaterThan(4);
    expect(threaded.map((k) => k.replaceAll('threaded', 'X'))).toEqual(
      single.map((k) => k.replaceAll('single', 'X')),
    );
    for (const [i, k] of threaded.entries()) {
      const x = fs.readFileSync(path.join(f.bucketDir, k));
      const y = fs.readFileSync(path.join(f.bucketDir, single[i]!));
      expect({ key: k, same: x.equals(y) }).toEqual({ key: k, same: true });
    }
    const ra = JSON.parse(a.stdout).syncs[0];
    const rb = JSON.parse(b.stdout).syncs[0];
    expect(ra.rows.inserted).toBe(20000);
    expect(ra.export.files).toEqual(
      rb.export.files.map((x: { key: string }) => ({ ...x, key: x.key.replaceAll('single', 'threaded') })),
    );
  }, 120_000);

  it('a value the files cannot hold fails the run as in one thread: a message, no object, nothing committed', async () => {
    const threaded = await wharf(['sync', '-f', f.file, 'bad']);
    const single = await wharf(['sync', '-f', f.file, 'badsingle'], { WHARF_EXPORT_THREADS: '0' });
    for (const r of [threaded, single]) {
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stdout + r.stderr).toMatch(/"stamp".*infinite/);
      expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /);
    }
    expect((threaded.stdout + threaded.stderr).replace(/[0-9]+ ?ms/g, '')).toBe(
      (single.stdout + single.stderr).replaceAll('badsingle', 'bad').replace(/[0-9]+ ?ms/g, ''),
    );
    expect(await f.keys('bad/'), 'threaded').toEqual([]);
    expect(await f.keys('badsingle/'), 'single').toEqual([]);
    const { rows } = await f.src.query(
      `SELECT count(*)::int AS n FROM wharf_state.export_state WHERE name IN ('bad', 'badsingle') AND run > 0`,
    );
    expect(rows[0].n).toBe(0);
  }, 120_000);
});
