// Redshift string literals, golden SQL inline. Redshift reads a backslash inside '…' as an
// escape and has no E'…' strings: its QUOTE_LITERAL function "doubles any embedded single
// quotation marks and backslashes" (https://docs.aws.amazon.com/redshift/latest/dg/r_QUOTE_LITERAL.html),
// and wharf writes literals the same way. Passwords never appear: CREATE USER gets the md5
// hash the CREATE USER reference documents, 'md5' || md5(password || user name)
// (https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_USER.html). Then a round trip on
// the Redshift stand-in (PostgreSQL with standard_conforming_strings off, Redshift's reading
// of backslashes): a comment full of quotes and backslashes is written, read back equal, and
// the second plan is empty.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../src/apply/apply.js';
import { planConfig } from '../src/commands/plan.js';
import { loadConfigText } from '../src/config/load.js';
import { diff } from '../src/plan/diff.js';
import type { Resource, RoleResource, TableResource } from '../src/plan/model.js';
import type { Change } from '../src/plan/plan.js';
import type { WarehouseProvider } from '../src/providers/provider.js';
import type { DataApiTransport } from '../src/providers/redshift/data-api-transport.js';
import { catalogStatements, REDSHIFT_CAPABILITIES } from '../src/providers/redshift/redshift-introspector.js';
import { RedshiftProvider } from '../src/providers/redshift/redshift-provider.js';
import { compileRedshift } from '../src/providers/redshift/redshift-sql.js';
import { redshiftLiteral } from '../src/providers/redshift/sync-sql.js';
import { quoteRedshiftLiteral } from '../src/providers/sql-quote.js';
import { startTestServer, type TestServer } from './support/pg.js';
import { startRedshiftHarness } from './support/redshift-harness.js';

// C:\temp\new 'quoted' "double" \' ends with a backslash\
const NASTY = `C:\\temp\\new 'quoted' "double" \\' ends with a backslash\\`;

const table = (comment: string | null): TableResource => ({
  kind: 'table',
  schema: 'toplyne',
  name: 'events',
  owner: null,
  columns: [{ name: 'id', type: 'bigint', nullable: true, default: null, encode: null }],
  primaryKey: null,
  partition: null,
  comment,
  redshift: {},
});
const user = (over: Partial<RoleResource> = {}): RoleResource => ({
  kind: 'role',
  name: 'heap',
  login: true,
  memberOf: [],
  passwordRef: '${env:HEAP_PASSWORD}',
  roleKind: 'user',
  ...over,
});
const schema: Resource = { kind: 'schema', name: 'toplyne', owner: null };

function changesOf(have: Resource[], want: Resource[]): Change[] {
  const { changes } = diff({
    connection: 'w',
    desired: want,
    live: have,
    capabilities: REDSHIFT_CAPABILITIES,
  });
  return changes.map((c) => ({ ...c, statements: compileRedshift(c, { namespaceArn: null }) }));
}
const sqlOf = (have: Resource[], want: Resource[]) =>
  changesOf(have, want).flatMap((c) => c.statements.map((s) => s.sql));

describe('Redshift literals', () => {
  it('quotes and backslashes are doubled; no E-strings', () => {
    expect(quoteRedshiftLiteral('plain')).toBe(`'plain'`);
    expect(quoteRedshiftLiteral(`it's`)).toBe(`'it''s'`);
    expect(quoteRedshiftLiteral('a\\b')).toBe(`'a\\\\b'`);
    expect(quoteRedshiftLiteral(`\\'`)).toBe(`'\\\\'''`);
    expect(quoteRedshiftLiteral('')).toBe(`''`);
    expect(() => quoteRedshiftLiteral('a\u0000b')).toThrow(/NUL/);
  });

  it('a table comment on create, on update and removed', () => {
    expect(sqlOf([schema], [schema, table(NASTY)])).toEqual([
      'CREATE TABLE "toplyne"."events" (\n  "id" bigint\n)',
      `COMMENT ON TABLE "toplyne"."events" IS 'C:\\\\temp\\\\new ''quoted'' "double" \\\\'' ends with a backslash\\\\'`,
    ]);
    expect(sqlOf([schema, table('old')], [schema, table('new \\ one')])).toEqual([
      `COMMENT ON TABLE "toplyne"."events" IS 'new \\\\ one'`,
    ]);
    expect(sqlOf([schema, table('old')], [schema, table(null)])).toEqual([
      'COMMENT ON TABLE "toplyne"."events" IS NULL',
    ]);
    for (const sql of sqlOf([schema], [schema, table(NASTY)])) expect(sql).not.toMatch(/\bE'/);
  });

  it('a user password: planned as a reference, sent as the md5 hash, never the clear text', async () => {
    const password = `p@ss'w\\rd "x" $HOME`;
    const changes = changesOf([], [user()]);
    expect(changes.flatMap((c) => c.statements.map((s) => s.sql))).toEqual([
      'CREATE USER "heap" PASSWORD ${env:HEAP_PASSWORD}',
    ]);
    const sent: string[] = [];
    const transport = {
      batch: async (sqls: string[]) => {
        sent.push(...sqls);
      },
      query: async (sql: string) => {
        sent.push(sql);
      },
    } as unknown as DataApiTransport;
    const provider = new RedshiftProvider(transport, {} as never, { database: 'dev' });
    const outcome = await provider.executeMany(changes, { resolveSecret: () => password });
    expect(outcome.failed).toBeUndefined();
    const md5 = createHash('md5').update(`${password}heap`).digest('hex');
    expect(sent).toEqual([`CREATE USER "heap" PASSWORD 'md5${md5}'`]);
  });

  it('datashare consumers and catalog scopes are quoted the Redshift way', () => {
    const share: Resource = {
      kind: 'datashare',
      name: 'toplyne_share',
      publicAccessible: false,
      schemas: [],
      tables: [],
      includeNew: [],
      consumers: [{ type: 'account', id: '388856629077', viaDataCatalog: false, status: 'authorized' }],
    };
    expect(sqlOf([], [share]).filter((s) => s.startsWith('GRANT'))).toEqual([
      `GRANT USAGE ON DATASHARE "toplyne_share" TO ACCOUNT '388856629077'`,
    ]);
    const catalog = catalogStatements({ schemas: [`o'k\\x`], roles: ['heap'] }).join('\n');
    expect(catalog).toContain(`'o''k\\\\x'`);
    expect(catalog).not.toMatch(/\bE'/);
  });

  it('sync values keep their CHR(92) spelling, read alike by Redshift and PostgreSQL', () => {
    expect(redshiftLiteral(`a\\b'c`)).toBe(`('a' || CHR(92) || 'b''c')`);
    expect(redshiftLiteral('plain')).toBe(`'plain'`);
  });
});

describe('Redshift literals on the Redshift stand-in', () => {
  let server: TestServer;
  let db: pg.Client;
  beforeAll(async () => {
    server = await startTestServer();
    db = await server.client(await server.createDatabase('rslit'));
  });
  afterAll(async () => {
    await db?.end();
    await server?.stop();
  });

  it('a comment with quotes and backslashes is written, read back equal, and converges', async () => {
    const h = await startRedshiftHarness(db);
    try {
      const yaml = `version: 1
connections:
  rs: { type: redshift, cluster: analytics, database: dev, dbUser: admin }
schemas: [{ name: toplyne }]
tables:
  - schema: toplyne
    name: events
    comment: ${JSON.stringify(NASTY)}
    columns:
      - { name: id, type: bigint }
`;
      const loaded = loadConfigText(yaml, 'rs.yaml').loaded!;
      const first = await planConfig(loaded, { open: h.open });
      const providers = new Map<string, WarehouseProvider>(
        [...first.connections].map(([n, c]) => [n, c.provider] as const),
      );
      const result = await applyPlan(first.plan, providers, {
        allowDestroy: false,
        lockTimeoutMs: 0,
        holder: 'wharf test',
        env: {},
      });
      await first.close();
      expect(result.results.filter((r) => r.status !== 'done')).toEqual([]);
      const { rows } = await db.query(
        `SELECT obj_description('toplyne.events'::regclass, 'pg_class') AS comment`,
      );
      expect(rows[0].comment).toBe(NASTY);
      const second = await planConfig(loaded, { open: h.open });
      await second.close();
      expect(second.plan.changes).toEqual([]);
    } finally {
      await h.close();
    }
  }, 60_000);
});
