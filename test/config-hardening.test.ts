// The config loader against hostile files: data folders that would leave the project or land
// in system directories or in somebody's folder, work without bounds (tens of thousands of
// partitions, 50,000 problems), bytes that are not text (invalid UTF-8, NUL, terminal escapes,
// CR-only line ends), impossible dates, unknown YAML tags, S3 bucket names AWS refuses — and
// the executable writing into a pipe whose reader went away (`wharf plan | head -1`).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { fastLocator, loadConfigFile, loadConfigText } from '../src/config/load.js';
import { checkDataDir, DataDirError, ensureDataDir, MARKER } from '../src/providers/data-dir.js';
import { LocalBucketProvider } from '../src/providers/local-bucket/local-bucket-provider.js';
import { escapeControl } from '../src/render/safe-text.js';
import { runCli } from './support/cli.js';
import { startTestServer, type TestServer } from './support/pg.js';

const ROOT = path.join(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'wharf.js');
const STACK = /^\s+at .+[:(]\d+|Error: .*\n\s+at |node:internal/m;

let work: string;
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-harden-'));
});
afterEach(() => {
  fs.rmSync(work, { recursive: true, force: true });
  vi.unstubAllEnvs();
});

/** Writes `text` (or bytes) as a wharf file in the work folder and validates it through the CLI. */
async function validate(text: string | Buffer, name = 'wharf.yaml') {
  const file = path.join(work, name);
  fs.writeFileSync(file, text);
  const r = await runCli(['validate', '-f', file]);
  return { ...r, file, shown: r.stderr.split(file).join('<file>') };
}

const errors = (text: string, file = path.join(os.tmpdir(), 'x', 'f.yaml')) =>
  loadConfigText(text, file).diagnostics.filter((d) => d.severity === 'error');

describe('data folders stay inside the project, out of system directories, and wharf-owned', () => {
  const local = (dataDir: string) => `version: 1
connections:
  wh: { type: local, dataDir: ${JSON.stringify(dataDir)} }
`;
  const bucket = (dir: string) => `version: 1
connections:
  files: { type: local-bucket, dir: ${JSON.stringify(dir)} }
buckets:
  - name: acme-share
`;

  it.each([
    ['../../etc', "leaves the config file's folder"],
    ['sub/../../outside', "leaves the config file's folder"],
    ['.', "is the config file's folder itself"],
    ['/', 'is a shared folder'],
    ['/etc', 'is a system directory'],
    ['/etc/wharf', 'inside the system directory /etc'],
    ['/proc/self', 'inside the system directory /proc'],
    ['/usr/local/wharf', 'inside the system directory /usr'],
    ['/var/lib/wharf', 'inside the system directory /var'],
    ['/home', 'is a shared folder'],
    ['/tmp', 'is a shared folder'],
  ])('dataDir %s is refused at its line and column', (dir, message) => {
    const ds = errors(local(dir));
    expect(ds).toHaveLength(1);
    expect(ds[0]).toMatchObject({ line: 3, col: 31, path: 'connections.wh.dataDir' });
    expect(ds[0]!.message).toContain(message);
  });

  it('a local bucket dir of / is refused, and so is one leaving the folder', () => {
    for (const dir of ['/', '../buckets']) {
      const ds = errors(bucket(dir));
      expect(ds).toHaveLength(1);
      expect(ds[0]).toMatchObject({ line: 3, col: 37, path: 'connections.files.dir' });
    }
  });

  it('accepts a folder inside the project, /var/tmp/… and an absolute folder elsewhere', () => {
    for (const dir of ['.wharf/local', 'data/wh', './x/../y', '/var/tmp/wharf-data', path.join(work, 'abs')])
      expect(errors(local(dir))).toEqual([]);
  });

  it('a relative folder inside the project is fine wherever the project lives', () => {
    for (const base of ['/root/project', '/usr/src/app', '/var/lib/ci/workspace'])
      expect(errors(local('.wharf/local'), path.join(base, 'wharf.yaml'))).toEqual([]);
    expect(errors(local('../data'), '/usr/src/app/wharf.yaml')[0]!.message).toContain('leaves');
  });

  it('at run time the kernel and system configuration folders are refused whatever the path came from', () => {
    for (const dir of ['/etc/wharf', '/proc/self', '/sys/x', '/', '/usr'])
      expect(() => checkDataDir(dir, 'local warehouse'), dir).toThrow(DataDirError);
  });

  it('a symbolic link inside the project counts where it leads', () => {
    fs.symlinkSync('/etc', path.join(work, 'data'));
    const ds = errors(local('data/wh'), path.join(work, 'wharf.yaml'));
    expect(ds).toHaveLength(1);
    expect(ds[0]!.message).toContain('symbolic link');
    expect(ds[0]!.message).toContain('/etc');
  });

  it('two embedded connections may not share or nest their folders', () => {
    const ds = errors(`version: 1
connections:
  wh: { type: local, dataDir: store }
  files: { type: local-bucket, dir: store/buckets }
defaultConnection: wh
`);
    expect(ds).toHaveLength(1);
    expect(ds[0]).toMatchObject({ line: 4, path: 'connections.files.dir' });
    expect(ds[0]!.message).toContain('overlaps the folder of connection wh');
  });

  it('a folder wharf did not create and that is not empty is refused, not written into', async () => {
    const dir = path.join(work, 'precious');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'thesis.docx'), 'years of work');
    expect(() => checkDataDir(dir, 'local warehouse')).toThrow(DataDirError);
    expect(() => ensureDataDir(dir, 'local buckets')).toThrow(/not empty and was not created by wharf/);
    expect(fs.readdirSync(dir)).toEqual(['thesis.docx']);

    // Through the CLI: plan refuses before anything is created in the folder.
    const file = path.join(work, 'wharf.yaml');
    fs.writeFileSync(file, bucket('precious'));
    const r = await runCli(['plan', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is not empty and was not created by wharf');
    expect(r.stderr).not.toMatch(STACK);
    const a = await runCli(['apply', '-f', file, '--auto-approve']);
    expect(a.code).toBe(1);
    expect(fs.readdirSync(dir)).toEqual(['thesis.docx']);
  });

  it('a folder wharf creates is marked, and is then wharf’s for the same kind only', async () => {
    const dir = path.join(work, 'b');
    const p = new LocalBucketProvider(dir);
    const lock = await p.lock('test', 0);
    await lock.release();
    expect(fs.readFileSync(path.join(dir, MARKER), 'utf8')).toMatch(/^wharf local buckets\n/);
    fs.mkdirSync(path.join(dir, 'acme-share'));
    expect(() => checkDataDir(dir, 'local buckets')).not.toThrow();
    expect(() => checkDataDir(dir, 'local warehouse')).toThrow(/belongs to wharf's local buckets/);
  });

  it('a folder laid out by an earlier wharf (no marker yet) is adopted', () => {
    const dir = path.join(work, 'old');
    fs.mkdirSync(path.join(dir, 'acme-share'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'acme-share.bucket.json'), '{"format":"wharf-local-bucket"}');
    ensureDataDir(dir, 'local buckets');
    expect(fs.existsSync(path.join(dir, MARKER))).toBe(true);
  });
});

describe('bounded work', () => {
  const partitioned = (from: string, granularity = 'day') => `version: 1
schemas:
  - name: analytics
tables:
  - schema: analytics
    name: events
    columns:
      - { name: ts, type: timestamp }
    partition: { by: ts, granularity: ${granularity}, from: "${from}" }
`;

  it('a table whose partitions would number more than 10,000 is an error naming the count and the from', () => {
    const ds = errors(partitioned('0001-01-01'));
    expect(ds).toHaveLength(1);
    expect(ds[0]).toMatchObject({ line: 9, col: 50, path: 'tables[0].partition.from' });
    expect(ds[0]!.message).toMatch(/table analytics\.events: 7\d\d,\d{3} day partitions from 0001-01-01/);
    expect(ds[0]!.message).toContain('more than the 10,000');
    // The same start with yearly partitions is about 2,000 periods: fine.
    expect(errors(partitioned('0001-01-01', 'year'))).toEqual([]);
  });

  it('a year below 100 stays that year (Date.UTC would read 0001 as 1901)', async () => {
    const { partitionsAhead } = await import('../src/config/to-desired.js');
    const parts = partitionsAhead('t', 'year', 0, '0050-06-01', new Date(Date.UTC(60, 0, 1) - 0));
    expect(parts[0]).toMatchObject({ name: 't_p0050', from: '0050-01-01' });
  });

  it('at most 100 diagnostics are printed, then a count of the rest', async () => {
    const lines = ['version: 1', 'schemas:', '  - name: analytics'];
    for (let i = 0; i < 5000; i++) lines.push(`    unknown_key_${i}: x`);
    const r = await validate(`${lines.join('\n')}\n`);
    expect(r.code).toBe(1);
    const out = r.shown.trimEnd().split('\n');
    expect(out.filter((l) => l.startsWith('<file>:'))).toHaveLength(100);
    expect(out.at(-2)).toBe('… and 4,900 more errors');
    expect(out.at(-1)).toBe(
      '5,000 errors in <file>; nothing was changed. Fix them and run the command again (`wharf validate` checks the file alone).',
    );
    // The shown ones are the first, at their own lines.
    expect(out[0]).toMatch(/^<file>:4:5 {2}schemas\[0\]\.unknown_key_0 {2}error: unknown key/);
    expect(out[99]).toMatch(/^<file>:103:5 {2}schemas\[0\]\.unknown_key_99 /);
  });

  it('a large file with a syntax error is reported by the fast parser, positioned', async () => {
    const lines = ['version: 1', 'schemas:', '  - name: analytics', 'tables:'];
    for (let i = 0; lines.join('\n').length < 200_000; i++)
      lines.push(
        '  - schema: analytics',
        `    name: t${i}`,
        '    columns:',
        '      - { name: id, type: bigint }',
      );
    const at = lines.length + 3;
    lines.push('  - schema: analytics', '    name: broken', '    columns: [ { name: id, type: bigint },', '');
    const r = await validate(lines.join('\n'));
    expect(r.code).toBe(1);
    // js-yaml notices the missing ] where the next line fails to continue the sequence.
    expect(r.shown).toMatch(new RegExp(`^<file>:(${at}|${at + 1}):\\d+ {2}error: `));
  });

  it('positions come from one pass: the fast locator agrees with the exact parser on every example', async () => {
    const { exactParse } = await import('../src/config/load.js');
    const files = fs
      .readdirSync(path.join(ROOT, 'examples'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => path.join(ROOT, 'examples', f))
      .concat(
        fs
          .readdirSync(path.join(ROOT, 'test', 'fixtures', 'invalid'))
          .filter((f) => f.endsWith('.yaml'))
          .map((f) => path.join(ROOT, 'test', 'fixtures', 'invalid', f)),
      );
    let compared = 0;
    for (const f of files) {
      const text = fs.readFileSync(f, 'utf8');
      const exact = exactParse(text, f);
      const fast = fastLocator(text);
      if (!exact.locator || !fast) continue;
      const walk = (v: unknown, p: (string | number)[]) => {
        for (const key of [false, true]) {
          expect(fast.at(p, key), `${f} ${JSON.stringify(p)} key=${key}`).toEqual(exact.locator!.at(p, key));
          compared++;
        }
        if (Array.isArray(v))
          v.forEach((x, i) => {
            walk(x, [...p, i]);
          });
        else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
      };
      walk(exact.data, []);
    }
    expect(compared).toBeGreaterThan(1000);
  });
});

describe('what reaches the terminal', () => {
  it('control characters and bidi overrides from the file are escaped in every message', async () => {
    const r = await validate('version: 1\nschemas:\n  - name: "a\\e[2J\\u202eb"\n    bogus\\u009b: 1\n');
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
    expect(r.stderr).toContain('\\u202e');
    expect(escapeControl('x\x1b[31my\u202ez\u2067')).toBe('x\\x1b[31my\\u202ez\\u2067');
  });

  it('raw control bytes in the file are an error at their position, a NUL in a comment too', async () => {
    const nul = await validate(Buffer.from('version: 1\n# a \x00 comment\nschemas:\n  - name: a\n'));
    expect(nul.code).toBe(1);
    expect(nul.shown).toMatch(/^<file>:2:5 {2}error: the file holds the control character \\x00/);
    const esc = await validate(Buffer.from('version: 1\nschemas:\n  - name: a\x1b[31m\n'));
    expect(esc.shown).toMatch(/^<file>:3:12 {2}error: the file holds the control character \\x1b/);
    expect(esc.stderr).not.toContain('\x1b');
  });

  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ])('positions are right for %s line ends', async (_name, eol) => {
    const text = ['version: 1', '# comment', 'schemas:', '  - name: analytics', '    bogus: 1', ''].join(eol);
    const r = await validate(text);
    expect(r.shown.split('\n')[0]).toBe(
      '<file>:5:5  schemas[0].bogus  error: unknown key "bogus" (allowed: name, connection, owner, prune)',
    );
    // A syntax error (the exact parser's path) is positioned the same way.
    const bad = await validate(['version: 1', 'schemas:', '  - name: [a', ''].join(eol));
    expect(bad.shown).toMatch(/^<file>:[34]:\d+ {2}error: /);
    expect(bad.shown).not.toMatch(/^<file>:1:1 /);
  });

  it.each([
    ['2024-02-30', 'February 2024 has 29 days'],
    ['2023-02-29', 'February 2023 has 28 days'],
    ['2024-13-01', 'month 13 does not exist'],
    ['2024-04-31', 'April 2024 has 30 days'],
    ['0000-01-01', 'year 0000 does not exist'],
  ])('partition.from %s is an impossible date', (from, why) => {
    const ds = errors(
      `version: 1\nschemas: [{ name: a }]\ntables:\n  - { schema: a, name: t, columns: [{ name: ts, type: date }], partition: { by: ts, granularity: month, from: "${from}" } }\n`,
    );
    expect(ds).toHaveLength(1);
    expect(ds[0]).toMatchObject({ line: 4, path: 'tables[0].partition.from' });
    expect(ds[0]!.message).toContain(why);
  });

  it.each([
    ['!sql', 'name: !sql analytics', '!sql'],
    ['!!binary', 'name: !!binary aGVsbG8=', '!!binary'],
    ['!!set', 'name: !!set { a }', '!!set'],
  ])('the unknown tag %s is an error, not dropped', async (_t, line, tag) => {
    const r = await validate(`version: 1\nschemas:\n  - ${line}\n`);
    expect(r.code).toBe(1);
    expect(r.shown).toMatch(
      new RegExp(`^<file>:3:\\d+ {2}error: unsupported YAML tag ${tag.replace(/!/g, '\\!')}`),
    );
  });

  it('!!str and the other core tags still work', () => {
    expect(errors('version: !!int 1\nschemas:\n  - name: !!str analytics\n')).toEqual([]);
  });

  it('invalid UTF-8 is an error with its byte offset, line and column', async () => {
    const bytes = Buffer.concat([
      Buffer.from('version: 1\nschemas:\n  - name: "ré'),
      Buffer.from([0xff]),
      Buffer.from('"\n'),
    ]);
    const r = await validate(bytes);
    expect(r.code).toBe(1);
    // "ré" is 3 bytes but 2 characters: the column counts characters, the offset bytes.
    expect(r.shown).toMatch(/^<file>:3:14 {2}error: invalid UTF-8 at byte offset 34 \(byte 0xff\)/);
    for (const seq of [
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xe2, 0x82],
    ]) {
      fs.writeFileSync(
        path.join(work, 'u.yaml'),
        Buffer.concat([Buffer.from('a: "'), Buffer.from(seq), Buffer.from('"\n')]),
      );
      const d = loadConfigFile(path.join(work, 'u.yaml')).diagnostics;
      expect(d[0]).toMatchObject({ code: 'encoding', line: 1, col: 5 });
      expect(d[0]!.message).toContain('byte offset 4');
    }
  });
});

describe('S3 bucket names', () => {
  // The rules: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
  // (general purpose buckets), and the --table-s3 suffix reserved for table buckets:
  // https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-tables-buckets-naming.html
  const named = (name: string) =>
    `version: 1\nconnections:\n  s3: { type: s3, region: eu-west-1 }\nbuckets:\n  - name: "${name}"\n`;
  it.each([
    ['192.168.5.4', 'IP address'],
    ['acme..share', 'two adjacent dots'],
    ['xn--acme', 'must not start with xn--'],
    ['sthree-acme', 'must not start with sthree-'],
    ['sthree-configurator-x', 'must not start with sthree-'],
    ['amzn-s3-demo-acme', 'must not start with amzn-s3-demo-'],
    ['acme-s3alias', 'must not end with -s3alias'],
    ['acme--ol-s3', 'must not end with --ol-s3'],
    ['acme.mrap', 'must not end with .mrap'],
    ['acme--x-s3', 'must not end with --x-s3'],
    ['acme--table-s3', 'must not end with --table-s3'],
  ])('%s is refused', (name, why) => {
    const ds = errors(named(name));
    expect(ds).toHaveLength(1);
    expect(ds[0]).toMatchObject({ line: 5, col: 11, path: 'buckets[0].name' });
    expect(ds[0]!.message).toContain(why);
  });
  it.each(['acme-share', 'a.b.c', '192.168.5.4x', 'abc', 'a'.repeat(63), 'xn-acme'])('%s is fine', (name) => {
    expect(errors(named(name))).toEqual([]);
  });
  it.each(['ab', 'a'.repeat(64), 'Acme', 'acme_share', '-acme', 'acme-'])('%s fails the schema', (name) => {
    expect(errors(named(name))[0]!.message).toContain('invalid bucket name');
  });
});

/** The header of a hostile corpus file: `# key: value` lines before the YAML. */
function header(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'latin1').split('\n')) {
    const m = /^# (\w+): (.*)$/.exec(line);
    if (!m) break;
    out[m[1]!] = Buffer.from(m[2]!, 'latin1').toString('utf8');
  }
  return out;
}

const HOSTILE = path.join(ROOT, 'test', 'fixtures', 'hostile');
const MINE = /^(path|bounds|yaml|output|bucket-name|date)-/;
const corpus = fs
  .readdirSync(HOSTILE)
  .filter((f) => f.endsWith('.yaml') && MINE.test(f))
  .sort();

describe('the hostile corpus files of these classes', () => {
  it('has at least 25 files covering every class', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(25);
    for (const cls of ['path', 'bounds', 'yaml', 'output', 'bucket-name', 'date'])
      expect(corpus.filter((f) => f.startsWith(`${cls}-`)).length, cls).toBeGreaterThanOrEqual(3);
  });

  for (const name of corpus) {
    const h = header(path.join(HOSTILE, name));
    if (h.expect === 'converge') continue; // run against a database below
    it(`${name} (${h.expect})`, async () => {
      const file = path.join(HOSTILE, name);
      const v = await runCli(['validate', '-f', file]);
      expect(v.stderr).not.toMatch(STACK);
      expect(v.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
      if (h.expect === 'validate') {
        expect(v.code).toBe(1);
        expect(v.stderr).toContain(`${file}:${h.at}  `);
        expect(v.stderr).toContain(h.message);
      } else {
        expect(h.expect).toBe('plan');
        expect(v.code).toBe(0);
        const p = await runCli(['plan', '-f', file]);
        expect(p.code).toBe(1);
        expect(p.stderr).toContain(h.message);
        expect(p.stderr).not.toMatch(STACK);
      }
    });
  }

  it('the folder the not-empty case points at is left as it was', () => {
    expect(fs.readdirSync(path.join(HOSTILE, 'not-wharfs'))).toEqual(['KEEP.txt']);
  });
});

describe('a reader that goes away (EPIPE)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  /** Runs `node bin/wharf.js ARGS | head -1` through sh; returns wharf's exit code and stderr, and head's output. */
  function piped(args: string) {
    const err = path.join(work, 'stderr');
    const code = path.join(work, 'code');
    const r = spawnSync(
      'sh',
      ['-c', `{ "${process.execPath}" "${BIN}" ${args} 2>"${err}"; echo $? >"${code}"; } | head -1`],
      { encoding: 'utf8', env: { ...process.env, WHARF_DEBUG: '' }, timeout: 60_000 },
    );
    return {
      head: r.stdout,
      code: Number(fs.readFileSync(code, 'utf8').trim()),
      stderr: fs.readFileSync(err, 'utf8'),
    };
  }

  it('the converge files of the corpus apply, then plan clean', async () => {
    for (const name of corpus.filter((f) => header(path.join(HOSTILE, f)).expect === 'converge')) {
      const db = await server.createDatabase('hostile');
      vi.stubEnv('WHARF_HOSTILE_URL', server.rawUrl(db));
      const file = path.join(HOSTILE, name);
      const a = await runCli(['apply', '-f', file, '--auto-approve']);
      expect(a.code, `${name}: ${a.stderr}`).toBe(0);
      const p = await runCli(['plan', '-f', file, '--detailed-exitcode']);
      expect(p.code, `${name}: ${p.stdout}`).toBe(0);
    }
  });

  it('wharf plan | head -1 ends quietly', async () => {
    const db = await server.createDatabase('epipe_plan');
    const tables = Array.from(
      { length: 400 },
      (_, i) => `  - schema: analytics
    name: t${i}
    columns:
${Array.from({ length: 8 }, (_, j) => `      - { name: column_${j}, type: "numeric(12,2)" }`).join('\n')}`,
    );
    const file = path.join(work, 'wharf.yaml');
    fs.writeFileSync(
      file,
      `version: 1\nconnections:\n  wh: { type: postgres, url: "${server.urlFor(db)}" }\nschemas:\n  - name: analytics\ntables:\n${tables.join('\n')}\n`,
    );
    const r = piped(`plan -f "${file}"`);
    expect(r.head.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('wharf sync | head -1 completes every sync and ends quietly', async () => {
    const db = await server.createDatabase('epipe_sync');
    const c = await server.client(db);
    try {
      const n = 6;
      for (let i = 0; i < n; i++)
        await c.query(`CREATE SCHEMA IF NOT EXISTS raw; CREATE SCHEMA IF NOT EXISTS analytics;
          CREATE TABLE raw.e${i} (id bigint NOT NULL, updated_at timestamp NOT NULL);
          INSERT INTO raw.e${i} SELECT g, timestamp '2026-01-01' + g * interval '1 second' FROM generate_series(1, 2000) g;
          CREATE TABLE analytics.e${i} (id bigint NOT NULL, updated_at timestamp NOT NULL);`);
      const syncs = Array.from(
        { length: n },
        (_, i) =>
          `  - { name: s${i}, from: { table: raw.e${i} }, to: { table: analytics.e${i} }, mode: append, cursor: { column: updated_at } }`,
      );
      const file = path.join(work, 'wharf.yaml');
      fs.writeFileSync(
        file,
        `version: 1\nconnections:\n  wh: { type: postgres, url: "${server.urlFor(db)}" }\nsyncs:\n${syncs.join('\n')}\n`,
      );
      const r = piped(`sync -f "${file}"`);
      expect(r.head).toBe('sync s0 (append): started\n');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      // Every sync ran to its end: all rows loaded, each watermark committed with them.
      for (let i = 0; i < n; i++) {
        const { rows } = await c.query(`SELECT count(*)::int AS n FROM analytics.e${i}`);
        expect(rows[0].n).toBe(2000);
      }
      const { rows } = await c.query('SELECT count(*)::int AS n FROM wharf_state.sync_state');
      expect(rows[0].n).toBe(n);
    } finally {
      await c.end();
    }
  });
});
