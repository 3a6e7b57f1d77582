// The bad-input corpus: every file under test/fixtures/invalid/ is a wharf file with one or
// more problems, and `<name>.expected` next to it is exactly what a user reads on stderr
// (with the file's path written as <file>). For each file, `validate` and
// `apply --auto-approve` both exit 1 with those diagnostics, no stack trace, and nothing is
// created (no embedded warehouse folder appears). A missing .expected file fails;
// `npm run test:update-golden` rewrites them from the current output: review the diff.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileSchemaValidator, exactParse } from '../src/config/load.js';
import { runCli } from './support/cli.js';
import { golden } from './support/golden.js';

const DIR = path.join(import.meta.dirname, 'fixtures', 'invalid');
const BIN = path.join(import.meta.dirname, '..', 'bin', 'wharf.js');
const fixtures = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

/** Lines that would betray an uncaught exception rather than a diagnostic. */
const STACK = /^\s+at .+[:(]\d+|Error: .*\n\s+at |node:internal/m;

function expectedFor(name: string, actual: string): string {
  return golden(path.join(DIR, name.replace(/\.yaml$/, '.expected')), actual);
}

describe('bad input corpus', () => {
  it('has at least 30 files, each with its expected diagnostics', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(30);
    for (const f of fixtures)
      expect(fs.existsSync(path.join(DIR, f.replace(/\.yaml$/, '.expected')))).toBe(true);
  });

  for (const name of fixtures) {
    it(name, async () => {
      const file = path.join(DIR, name);
      const before = fs.readFileSync(file, 'utf8');
      const v = await runCli(['validate', '-f', file]);
      const shown = v.stderr.split(file).join('<file>');
      expect(v.code).toBe(1);
      expect(v.stdout).toBe('');
      expect(shown).not.toMatch(STACK);
      expect(shown).toBe(expectedFor(name, shown));
      // Every error line points at the file, a line and a column.
      const errors = shown.split('\n').filter((l) => l.includes(' error: '));
      expect(errors.length).toBeGreaterThan(0);
      for (const l of errors) expect(l).toMatch(/^<file>:\d+:\d+ {2}/);

      const a = await runCli(['apply', '-f', file, '--auto-approve']);
      expect(a.code).toBe(1);
      expect(a.stderr.split(file).join('<file>')).toBe(shown);
      expect(fs.existsSync(path.join(DIR, '.wharf'))).toBe(false);
      expect(fs.readFileSync(file, 'utf8')).toBe(before);
    });
  }

  it('the real executable prints the same diagnostics and no stack trace', () => {
    for (const name of [
      'syntax-unclosed-flow-map.yaml',
      'many-problems-at-once.yaml',
      'hostile-identifier-quote.yaml',
    ]) {
      const file = path.join(DIR, name);
      const r = spawnSync(process.execPath, [BIN, 'plan', '-f', file], {
        encoding: 'utf8',
        env: { ...process.env, WHARF_DEBUG: '' },
      });
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).not.toMatch(STACK);
      expect(r.stderr.split(file).join('<file>')).toBe(
        fs.readFileSync(file.replace(/\.yaml$/, '.expected'), 'utf8'),
      );
    }
  });

  it('the schema validator the build precompiles reports exactly what the compiled schema does', () => {
    const prebuilt = createRequire(import.meta.url)(
      path.join(import.meta.dirname, '..', 'dist', 'config', 'schema-validator.cjs'),
    );
    const compiled = compileSchemaValidator();
    const examples = path.join(import.meta.dirname, '..', 'examples');
    const files = [
      ...fixtures.map((f) => path.join(DIR, f)),
      // Only the example files: running the quickstart leaves its .wharf/ folder beside them.
      ...fs
        .readdirSync(examples)
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => path.join(examples, f)),
    ];
    let compared = 0;
    for (const file of files) {
      const { data } = exactParse(fs.readFileSync(file, 'utf8'), file);
      if (data === undefined) continue;
      const a = prebuilt(data);
      const b = compiled(data);
      expect(a).toBe(b);
      const strip = (es: typeof compiled.errors) =>
        (es ?? []).map(({ instancePath, keyword, params }) => ({ instancePath, keyword, params }));
      expect(strip(prebuilt.errors)).toEqual(strip(compiled.errors));
      compared++;
    }
    expect(compared).toBeGreaterThan(30);
  });
});
