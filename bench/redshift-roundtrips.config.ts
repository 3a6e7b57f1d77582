// Runs bench/redshift-roundtrips.ts and bench/redshift-sync.ts (benchmarks, not tests) with
// vitest, which compiles the TypeScript test stand-ins they use: `npm run bench:redshift`
// (`-- bench/redshift-sync.ts` for one of them).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['bench/redshift-roundtrips.ts', 'bench/redshift-sync.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // The engines the core looks up (src/engines.ts), as in the tests.
    setupFiles: ['test/support/engines.ts'],
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
