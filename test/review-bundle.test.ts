// The review screen as `wharf apply` loads it: one bundled module made by the build
// (scripts/bundle-screen.mjs), with ink and React inside and wharf's own modules outside.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const BUNDLE = path.join(import.meta.dirname, '..', 'dist', 'ui', 'review', 'screen.bundle.js');

describe('the bundled review screen', () => {
  it('loads on its own and offers the screen', async () => {
    const text = fs.readFileSync(BUNDLE, 'utf8');
    // ink and React are inside: no import of a package is left but Node's own modules.
    const imports = [...text.matchAll(/^import .* from "([^"]+)";?$/gm)].map((m) => m[1]!);
    for (const spec of imports) expect(spec, spec).toMatch(/^(node:|\.\.\/\.\.\/)/);
    // wharf's own modules stay single copies, imported by their paths from dist.
    expect(imports.filter((s) => s.startsWith('../../')).length).toBeGreaterThan(0);
    const mod = await import(BUNDLE);
    expect(typeof mod.openReviewScreen).toBe('function');
  });
});
