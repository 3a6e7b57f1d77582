// Golden scenario folders, run against a real PostgreSQL server. Each folder under
// test/scenarios/ holds:
//   live.sql       the starting state, run as superuser in a fresh database
//   wharf.yaml     the desired state (its connection URL is ${env:WHARF_SCENARIO_URL})
//   expected.json  the plan's changes: address, action, destructive, fields, SQL
// For each: plan == expected.json, apply succeeds, and a second plan is empty (convergence).
// A missing expected.json fails; `npm run test:update-golden` rewrites them (review the diff!).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { applyPlan } from '../src/apply/apply.js';
import { planConfig } from '../src/commands/plan.js';
import { loadConfigFile } from '../src/config/load.js';
import type { Plan } from '../src/plan/plan.js';
import { golden } from './support/golden.js';
import { startTestServer, type TestServer } from './support/pg.js';

const ROOT = path.join(import.meta.dirname, 'scenarios');
const NOW = new Date('2026-11-23T12:00:00Z');
const scenarios = fs
  .readdirSync(ROOT)
  .filter((d) => fs.statSync(path.join(ROOT, d)).isDirectory())
  .sort();

let pg: TestServer;
beforeAll(async () => {
  pg = await startTestServer();
});
afterAll(async () => {
  await pg?.stop();
});
afterEach(() => {
  vi.unstubAllEnvs();
});

/** The plan's changes in golden form; the random database name reads as <db>. */
function goldenChanges(plan: Plan, db = '\u0000') {
  return plan.changes.map((c) => ({
    address: c.address,
    action: c.action,
    destructive: c.destructive,
    ...(c.fields.length ? { fields: c.fields } : {}),
    ...(c.reasons.length ? { reasons: c.reasons } : {}),
    sql: c.statements.map((s) => s.sql.split(db).join('<db>')),
  }));
}

describe('golden scenarios', () => {
  it('has scenarios', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(12);
  });

  for (const name of scenarios) {
    it(name, async () => {
      const dir = path.join(ROOT, name);
      const db = await pg.createDatabase('scn');
      const admin = await pg.client(db);
      const rolesBefore = new Set(
        (await admin.query('SELECT rolname FROM pg_roles')).rows.map((r) => r.rolname as string),
      );
      try {
        await admin.query(fs.readFileSync(path.join(dir, 'live.sql'), 'utf8'));
        vi.stubEnv('WHARF_SCENARIO_URL', pg.rawUrl(db));
        const { loaded, diagnostics } = loadConfigFile(path.join(dir, 'wharf.yaml'));
        expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);

        const first = await planConfig(loaded!, { now: NOW });
        try {
          const actual = goldenChanges(first.plan, db);
          const expected = golden(path.join(dir, 'expected.json'), `${JSON.stringify(actual, null, 2)}\n`);
          expect(actual).toEqual(JSON.parse(expected));
          const providers = new Map([...first.connections].map(([n, c]) => [n, c.provider]));
          const result = await applyPlan(first.plan, providers, {
            allowDestroy: true,
            lockTimeoutMs: 5000,
            holder: 'scenario test',
          });
          expect(result.results.filter((r) => r.status !== 'done')).toEqual([]);
        } finally {
          await first.close();
        }
        const second = await planConfig(loaded!, { now: NOW });
        await second.close();
        expect(goldenChanges(second.plan)).toEqual([]);
      } finally {
        await admin.end();
        const c = await pg.client('postgres');
        await c.query(`DROP DATABASE "${db}" WITH (FORCE)`);
        const roles = (await c.query('SELECT rolname FROM pg_roles')).rows.map((r) => r.rolname as string);
        for (const r of roles) if (!rolesBefore.has(r)) await c.query(`DROP ROLE "${r}"`);
        await c.end();
      }
    });
  }
});
