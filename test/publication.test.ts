// A datashare on PostgreSQL is a publication over the same objects: tables listed one by one,
// and whole schemas (TABLES IN SCHEMA) for `includeNew`. Applied on a real server, then planned
// again: empty; then reshaped (a schema becomes whole, another stops being whole): converges.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../src/apply/apply.js';
import { planConfig } from '../src/commands/plan.js';
import { loadConfigText } from '../src/config/load.js';
import { CATALOG_QUERY, CATALOG_QUERY_BEFORE_15 } from '../src/providers/postgres/postgres-introspector.js';
import type { WarehouseProvider } from '../src/providers/provider.js';
import { startTestServer, type TestServer } from './support/pg.js';

let server: TestServer;
let db: string;
let client: pg.Client;

beforeAll(async () => {
  server = await startTestServer();
  db = await server.createDatabase('pub');
  client = await server.client(db);
});
afterAll(async () => {
  await client?.end();
  await server?.stop();
});

const file = (share: string) => `
version: 1
connections: { pg: { type: postgres, url: "${server.urlFor(db)}" } }
schemas: [{ name: s1 }, { name: s2 }]
tables:
  - { schema: s1, name: a, columns: [{ name: id, type: bigint }] }
  - { schema: s1, name: b, columns: [{ name: id, type: bigint }] }
  - { schema: s2, name: c, columns: [{ name: id, type: bigint }] }
datashares:
  - ${share}
`;

async function converge(text: string) {
  const loaded = loadConfigText(text, 'pub.yaml');
  expect(loaded.diagnostics).toEqual([]);
  const run = await planConfig(loaded.loaded!);
  const providers = new Map<string, WarehouseProvider>(
    [...run.connections].map(([n, c]) => [n, c.provider] as const),
  );
  const result = await applyPlan(run.plan, providers, {
    allowDestroy: true,
    lockTimeoutMs: 0,
    holder: 'test',
  });
  await run.close();
  const again = await planConfig(loaded.loaded!);
  await again.close();
  const { rows } = await client.query(
    "SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables WHERE pubname = 'vendor_share' ORDER BY 1",
  );
  return { plan: run.plan, result, again: again.plan, published: rows.map((r) => r.t as string) };
}

describe('datashares on PostgreSQL are publications', () => {
  it('creates the publication and converges', async () => {
    const r = await converge(
      file('{ name: vendor_share, tables: [s1.a], schemas: [{ name: s2, includeNew: true }] }'),
    );
    expect(r.plan.changes.find((c) => c.kind === 'datashare')!.statements.map((s) => s.sql)).toEqual([
      'CREATE PUBLICATION "vendor_share"',
      'ALTER PUBLICATION "vendor_share" ADD TABLES IN SCHEMA "s2"',
      'ALTER PUBLICATION "vendor_share" ADD TABLE "s1"."a"',
    ]);
    expect(r.result.ok).toBe(true);
    expect(r.again.changes).toEqual([]);
    expect(r.published).toEqual(['s1.a', 's2.c']);
  });

  it('reshapes it in place: s1 becomes whole, s2 is listed table by table', async () => {
    const r = await converge(
      file('{ name: vendor_share, tables: [s2.c], schemas: [{ name: s1, includeNew: true }] }'),
    );
    expect(r.plan.changes.map((c) => c.statements.map((s) => s.sql))).toEqual([
      [
        'ALTER PUBLICATION "vendor_share" DROP TABLE "s1"."a"',
        'ALTER PUBLICATION "vendor_share" DROP TABLES IN SCHEMA "s2"',
        'ALTER PUBLICATION "vendor_share" ADD TABLES IN SCHEMA "s1"',
        'ALTER PUBLICATION "vendor_share" ADD TABLE "s2"."c"',
      ],
    ]);
    expect(r.result.ok).toBe(true);
    expect(r.again.changes).toEqual([]);
    expect(r.published).toEqual(['s1.a', 's1.b', 's2.c']);
  });

  it('reads servers older than PostgreSQL 15 without schema publications', () => {
    expect(CATALOG_QUERY).toContain('pg_publication_namespace');
    expect(CATALOG_QUERY_BEFORE_15).not.toContain('pg_publication_namespace');
    expect(CATALOG_QUERY_BEFORE_15).toContain("'publicationSchemas', '[]'::json");
  });
});
