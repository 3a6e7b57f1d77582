// `wharf inspect` on Redshift, against the emulator (test/support/redshift-harness.ts: the Data
// API fake over a real PostgreSQL with Redshift's catalog views, and the loopback control plane).
// The Redshift examples are applied, inspected, and the inspected file plans nothing: layout
// (distribution, sort key, encodings), Redshift's type names, users and groups, grants to
// groups, default privileges, the datashare and its consumer.
import { describe, expect, it } from 'vitest';
import { inspectConfig } from '../src/commands/inspect.js';
import { planConfig } from '../src/commands/plan.js';
import { loadConfigText } from '../src/config/load.js';
import type { LoadedConfig } from '../src/config/types.js';
import { loadClean, planAndApplyOn, redshiftHarnesses } from './support/redshift-examples.js';
import type { RedshiftHarness } from './support/redshift-harness.js';

const harnesses = redshiftHarnesses('rsinspect');

async function apply(h: RedshiftHarness, loaded: LoadedConfig) {
  const { result } = await planAndApplyOn(h, loaded);
  expect(result.results.filter((r) => r.status !== 'done')).toEqual([]);
}

describe('wharf inspect on Redshift (emulated)', () => {
  for (const example of ['toplyne-redshift.yaml', 'heap-redshift.yaml']) {
    it(`${example}: apply, inspect, plan plans nothing`, async () => {
      const h = await harnesses.fresh();
      const loaded = loadClean(`examples/${example}`);
      await apply(h, loaded);
      const planned = await planConfig(loaded, { open: h.open });
      await planned.close();
      const result = await inspectConfig(loaded, {
        connections: ['warehouse'],
        schemas: (loaded.config.schemas ?? []).map((s) => s.name),
        roles: (loaded.config.roles ?? []).map((r) => r.name),
        buckets: [],
        open: h.open,
      });
      // The same read as plan's, in the same number of round trips.
      expect(result.roundTrips.warehouse).toBe(planned.roundTrips.warehouse);
      expect(result.residual).toEqual([]);
      expect(result.text).not.toContain('Heap-Passw0rd');
      const inspected = loadConfigText(result.text, 'inspected.yaml');
      expect(inspected.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const again = await planConfig(inspected.loaded!, { open: h.open });
      await again.close();
      expect(again.plan.changes.map((c) => c.address)).toEqual([]);
      if (example === 'heap-redshift.yaml') {
        expect(result.text).toContain('distribution: { style: key, key: user_id }');
        expect(result.text).toContain('sortKey: { columns: [time] }');
        expect(result.text).toContain('{ name: user_id, type: bigint, nullable: false, encode: az64 }');
        expect(result.text).toMatch(/\{ name: analysts, type: group \}/);
        expect(result.text).toContain('password: "${env:HEAP_PASSWORD}"');
      } else {
        expect(result.text).toMatch(/datashares:\n {2}- name: toplyne_share/);
        expect(result.text).toContain('account: "388856629077"');
      }
    }, 60_000);
  }
});
