// wharf reads a file with a fast parser and falls back to the exact, position-keeping parser
// for anything the fast one cannot vouch for (see fastParse in src/config/load.ts). The two
// must never disagree: on every example, scenario and bad-input fixture, either the fast
// parser steps aside or both produce the same data, and it always steps aside when the exact
// parser reports a syntax error or a duplicate key.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exactParse, fastParse, loadConfigText } from '../src/config/load.js';

const ROOT = path.join(import.meta.dirname, '..');
function yamlFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    // A dot folder is a run's state (the quickstart's .wharf/), not part of the tree.
    if (e.isDirectory()) return e.name.startsWith('.') ? [] : yamlFiles(p);
    return /\.ya?ml$/.test(e.name) ? [p] : [];
  });
}
const files = [
  ...yamlFiles(path.join(ROOT, 'examples')),
  ...yamlFiles(path.join(ROOT, 'test', 'scenarios')),
  ...yamlFiles(path.join(ROOT, 'test', 'fixtures', 'invalid')),
];

describe('fast and exact YAML parsers agree', () => {
  it('covers the examples, scenarios and the bad-input corpus', () => {
    expect(files.length).toBeGreaterThan(60);
  });

  for (const file of files) {
    it(path.relative(ROOT, file), () => {
      const text = fs.readFileSync(file, 'utf8');
      const exact = exactParse(text, file);
      const fast = fastParse(text);
      if (exact.diagnostics.length > 0) expect(fast).toBeUndefined();
      else if (fast !== undefined) expect(fast).toEqual(exact.data);
    });
  }

  it('scalars resolve the same way (YAML 1.2 core schema, no dates, no merge keys)', () => {
    const text = 'a: 2022-01-01\nb: ~\nc: 0o17\nd: True\ne: 1e3\nf: 012\ng: {<<: {x: 1}}\nh: "06"\ni: yes\n';
    expect(fastParse(text)).toEqual(exactParse(text, 'f').data);
    expect(fastParse(text)).toMatchObject({
      a: '2022-01-01',
      c: 15,
      d: true,
      i: 'yes',
      g: { '<<': { x: 1 } },
    });
  });

  it('anchors and aliases stay on the fast path unless they expand far beyond the file', () => {
    const text = 'version: 1\na: &a [1, 2]\nb: *a\n';
    expect(fastParse(text)).toEqual(exactParse(text, 'f').data);
    const bomb = fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'invalid', 'alias-bomb.yaml'), 'utf8');
    expect(fastParse(bomb)).toBeUndefined();
  });

  it('diagnostics found on the fast path still point at the right line and column', () => {
    const text = 'version: 1\nschemas:\n  - name: analytics\n    owner: ghost\n';
    const { diagnostics } = loadConfigText(text, 'w.yaml');
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ line: 4, col: 12, path: 'schemas[0].owner' });
  });
});
