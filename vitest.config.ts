import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two files at a time: most of a test's time is spent waiting on servers and child
    // processes, so two workers on two cores finish the suite in about two thirds of the time
    // (each worker has its own PostgreSQL server, test/support/pg.ts).
    maxWorkers: 2,
    // Builds dist/ if stale and hosts the shared PostgreSQL servers (test/support/pg.ts).
    globalSetup: ['test/support/global-setup.ts'],
    // The engines the core looks up by connection type and resource kind (src/engines.ts).
    setupFiles: ['test/support/engines.ts'],
    // The AWS SDK's notice that its 2027 releases need Node 22 (the CLI keeps it off as well).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // GitHub's workflow parser (test/pipelines.test.ts) imports its schema as JSON without an
    // import attribute, which Node refuses: let vite load it instead.
    server: { deps: { inline: ['@actions/workflow-parser'] } },
  },
});
