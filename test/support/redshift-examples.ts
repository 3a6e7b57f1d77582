// Files planned and applied on the emulated Redshift (./redshift-harness.ts), for the test files
// that do it: one PostgreSQL server per file, a fresh database and harness per test.
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { type ApplyResult, applyPlan } from '../../src/apply/apply.js';
import { planConfig } from '../../src/commands/plan.js';
import { loadConfigFile } from '../../src/config/load.js';
import type { LoadedConfig } from '../../src/config/types.js';
import type { Plan } from '../../src/plan/plan.js';
import type { WarehouseProvider } from '../../src/providers/provider.js';
import { startTestServer, type TestServer } from './pg.js';
import { type HarnessOptions, type RedshiftHarness, startRedshiftHarness } from './redshift-harness.js';

/** Registers the file's hooks; `fresh()` gives a harness on a new database (`db`), closed after the test. */
export function redshiftHarnesses(database: string): {
  fresh(options?: HarnessOptions): Promise<RedshiftHarness>;
} {
  let server: TestServer;
  const clients: pg.Client[] = [];
  let harness: RedshiftHarness | undefined;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });
  afterAll(async () => {
    for (const c of clients) await c.end();
    await server?.stop();
  });
  return {
    async fresh(options = {}) {
      const db = await server.client(await server.createDatabase(database));
      clients.push(db);
      const h = await startRedshiftHarness(db, options);
      harness = h;
      // The database behind the emulated Redshift, to look at what really landed.
      return Object.assign(h, { db });
    },
  };
}

/** A file loaded without errors. */
export function loadClean(file: string): LoadedConfig {
  const r = loadConfigFile(file);
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return r.loaded!;
}

/** Plans the file on the harness and applies the plan (destroy allowed); the examples' passwords are set. */
export async function planAndApplyOn(
  h: RedshiftHarness,
  loaded: LoadedConfig,
): Promise<{ plan: Plan; result: ApplyResult }> {
  const first = await planConfig(loaded, { open: h.open });
  const providers = new Map<string, WarehouseProvider>(
    [...first.connections].map(([n, c]) => [n, c.provider] as const),
  );
  const result = await applyPlan(first.plan, providers, {
    allowDestroy: true,
    lockTimeoutMs: 0,
    holder: 'wharf test',
    env: { HEAP_PASSWORD: 'Heap-Passw0rd' },
  });
  await first.close();
  return { plan: first.plan, result };
}
