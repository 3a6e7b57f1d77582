// The hostile corpus: files a hostile contributor could put in a pull request, where wharf
// runs `plan` with warehouse credentials before anyone reviews the change. Each file in
// test/fixtures/hostile/ says in its header what must happen:
//
//   # class: <what it attacks>
//   # expect: validate | plan | converge
//   # message: <what the user must read on stderr>
//   # at: <line>:<col>            (optional: where the diagnostic must point)
//
// validate: `wharf validate` exits 1 with the positioned message; plan and apply exit 1.
// plan:     validate passes; plan exits 1 with the message; apply exits 1.
// converge: apply succeeds, then `plan --detailed-exitcode` exits 0.
// Every file runs in a folder of its own (with the corpus's sub-folders) against a fresh database holding public.canary, a
// table outside the file; the canary, its rows and everything attached to it, the roles and
// (unless the file converges) the rest of the catalog must be exactly as before.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from './support/cli.js';
import { startTestServer, type TestServer } from './support/pg.js';

const CORPUS = path.join(import.meta.dirname, 'fixtures', 'hostile');

interface Case {
  file: string;
  klass: string;
  expect: 'validate' | 'plan' | 'converge';
  message: string | null;
  at: string | null;
}

function readCase(file: string): Case {
  const head = fs.readFileSync(path.join(CORPUS, file), 'utf8').split(/\r\n|\r|\n/, 12);
  const field = (k: string) => {
    const line = head.find((l) => l.startsWith(`# ${k}:`));
    return line === undefined ? null : line.slice(k.length + 3).trim();
  };
  const expectKind = field('expect');
  if (expectKind !== 'validate' && expectKind !== 'plan' && expectKind !== 'converge')
    throw new Error(`${file}: header "# expect:" must be validate, plan or converge`);
  return {
    file,
    klass: field('class') ?? 'unclassified',
    expect: expectKind,
    message: field('message'),
    at: field('at'),
  };
}

const cases = fs
  .readdirSync(CORPUS)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map(readCase);

/** Everything about the canary, and (outside the file's schemas) the catalog, as text. */
async function snapshot(c: pg.Client, whole: boolean): Promise<string> {
  const parts: unknown[] = [];
  parts.push((await c.query('SELECT * FROM public.canary ORDER BY id')).rows);
  parts.push(
    (
      await c.query(`
    SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull, a.attisdropped,
           pg_get_expr(d.adbin, d.adrelid) AS def
      FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid = 'public.canary'::regclass AND a.attnum > 0 ORDER BY a.attnum`)
    ).rows,
  );
  parts.push(
    (
      await c.query(`
    SELECT conname, pg_get_constraintdef(oid) AS def, conrelid::regclass::text AS rel FROM pg_constraint
     WHERE conrelid = 'public.canary'::regclass OR confrelid = 'public.canary'::regclass ORDER BY 1, 3`)
    ).rows,
  );
  parts.push(
    (await c.query(`SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.canary'::regclass ORDER BY 1`))
      .rows,
  );
  parts.push(
    (
      await c.query(`SELECT inhrelid::regclass::text AS child FROM pg_inherits
                      WHERE inhparent = 'public.canary'::regclass ORDER BY 1`)
    ).rows,
  );
  parts.push((await c.query(`SELECT relacl::text FROM pg_class WHERE oid = 'public.canary'::regclass`)).rows);
  parts.push((await c.query('SELECT count(*)::int AS n FROM pg_largeobject_metadata')).rows);
  parts.push(
    (await c.query(`SELECT rolname, rolcanlogin, rolsuper FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1`))
      .rows,
  );
  if (whole) {
    parts.push(
      (
        await c.query(`
      SELECT n.nspname, c.relname, c.relkind, c.relacl::text AS acl,
             (SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod), ',' ORDER BY attnum)
                FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped) AS cols
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
       ORDER BY 1, 2`)
      ).rows,
    );
    parts.push((await c.query('SELECT nspname, nspacl::text FROM pg_namespace ORDER BY 1')).rows);
    parts.push((await c.query('SELECT pubname FROM pg_publication ORDER BY 1')).rows);
    parts.push(
      (await c.query('SELECT defaclrole::regrole::text, defaclacl::text FROM pg_default_acl ORDER BY 1, 2'))
        .rows,
    );
  }
  return JSON.stringify(parts);
}

/** The files of a folder, recursively, relative to it. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
}, 120_000);

afterAll(async () => {
  await server?.stop();
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe('the hostile corpus', () => {
  it('covers every class the trust review found, with at least 60 files', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
    const classes = new Set(cases.map((c) => c.klass.split('-')[0]));
    for (const k of ['sql', 'secret', 'path', 'bounds', 'yaml', 'output', 'connecting', 'date', 'bucket'])
      expect(classes, `class ${k}`).toContain(k);
  });

  it.each(cases.map((c) => [c.file, c] as const))(
    '%s',
    async (_name, c) => {
      const db = await server.createDatabase('hostile');
      const admin = await server.client(db);
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-hostile-'));
      try {
        await admin.query(`CREATE TABLE public.canary (id int PRIMARY KEY, payload text NOT NULL)`);
        await admin.query(`INSERT INTO public.canary VALUES (1, 'alive'), (2, 'still alive')`);
        vi.stubEnv('WHARF_HOSTILE_URL', server.rawUrl(db));
        const file = path.join(work, c.file);
        fs.copyFileSync(path.join(CORPUS, c.file), file);
        // Folders beside the files (e.g. one that is not wharf's) come along.
        for (const e of fs.readdirSync(CORPUS, { withFileTypes: true }))
          if (e.isDirectory())
            fs.cpSync(path.join(CORPUS, e.name), path.join(work, e.name), { recursive: true });
        const filesBefore = listFiles(work);
        const before = await snapshot(admin, c.expect !== 'converge');
        const noTrace = (stderr: string) => {
          expect(stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
          expect(stderr).not.toContain('unexpected');
        };

        const validate = await runCli(['validate', '-f', file]);
        noTrace(validate.stderr);
        if (c.expect === 'validate') {
          expect(validate.code, validate.stderr).toBe(1);
          if (c.at) expect(validate.stderr).toContain(`${file}:${c.at}`);
          else expect(validate.stderr).toMatch(new RegExp(`${escapeRe(file)}:\\d+:\\d+`));
          if (c.message) expect(validate.stderr).toContain(c.message);
        } else expect(validate.code, validate.stderr).toBe(0);

        const plan = await runCli(['plan', '-f', file]);
        noTrace(plan.stderr);
        if (c.expect === 'converge') {
          expect(plan.code, plan.stderr).toBe(0);
          const apply = await runCli(['apply', '-f', file, '--auto-approve']);
          expect(apply.code, apply.stderr + apply.stdout).toBe(0);
          const again = await runCli(['plan', '-f', file, '--detailed-exitcode']);
          expect(again.code, again.stdout + again.stderr).toBe(0);
        } else {
          expect(plan.code, plan.stdout + plan.stderr).toBe(1);
          if (c.message) expect(plan.stderr).toContain(c.message);
          const apply = await runCli([
            'apply',
            '-f',
            file,
            '--auto-approve',
            '--allow-destroy',
            '--allow-widen',
          ]);
          noTrace(apply.stderr);
          expect(apply.code, apply.stdout + apply.stderr).toBe(1);
          // Nothing was written next to the file either: no server, no bucket, no state.
          expect(listFiles(work)).toEqual(filesBefore);
        }
        expect(await snapshot(admin, c.expect !== 'converge')).toBe(before);
      } finally {
        await admin.end();
        fs.rmSync(work, { recursive: true, force: true });
      }
    },
    60_000,
  );
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
