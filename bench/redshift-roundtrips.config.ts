// Runs bench/redshift-roundtrips.ts (a benchmark, not a test) with vitest, which compiles the
// TypeScript test stand-ins it uses: `npm run bench:redshift`.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['bench/redshift-roundtrips.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 300_000,
    pool: 'forks',
  },
});
