// A value the files cannot hold (an infinite timestamp), met in the middle of an export by the
// real executable: the run fails with a message naming the column, no stack trace, no object
// left under the prefix (the files it had completed are removed too) and nothing committed.
import { spawn } from 'node:child_process';
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
  f.write([SYNC('bad', BAD)].join('\n').replaceAll('$BUCKET', f.bucket));
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

describe('an export that meets a value its files cannot hold', () => {
  it('fails with a message, leaves no object and commits nothing; the run after it is refused the same way', async () => {
    for (const attempt of [1, 2]) {
      const r = await wharf(['sync', '-f', f.file, 'bad']);
      const out = r.stdout + r.stderr;
      expect({ attempt, code: r.code }).toEqual({ attempt, code: 1 });
      expect(out).toMatch(/"stamp".*infinite/);
      expect(out).not.toMatch(/\n\s+at /);
      // The rows before the bad one made complete files (a day in Los Angeles ends before it):
      // they are removed with the run.
      expect(await f.keys('bad/'), out).toEqual([]);
      const { rows } = await f.src.query(
        `SELECT count(*)::int AS n FROM wharf_state.export_state WHERE name = 'bad' AND run > 0`,
      );
      expect(rows[0].n).toBe(0);
    }
  }, 120_000);
});
