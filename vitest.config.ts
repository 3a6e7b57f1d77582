import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Builds dist/ if stale and hosts the shared PostgreSQL servers (test/support/pg.ts).
    globalSetup: ['test/support/global-setup.ts'],
    // The engines the core looks up by connection type and resource kind (src/engines.ts).
    setupFiles: ['test/support/engines.ts'],
    // The AWS SDK's notice that its 2027 releases need Node 22 (the CLI keeps it off as well).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
