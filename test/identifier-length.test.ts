// Name lengths by engine, in bytes of UTF-8: PostgreSQL keeps 63 bytes (NAMEDATALEN - 1,
// https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS, and
// truncates longer names silently), Redshift 127 bytes
// (https://docs.aws.amazon.com/redshift/latest/dg/r_names.html). A longer name is an error at
// its own place; names exactly at the limit are accepted, and converge on a real PostgreSQL.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../src/apply/apply.js';
import { planConfig } from '../src/commands/plan.js';
import { loadConfigText } from '../src/config/load.js';
import type { WarehouseProvider } from '../src/providers/provider.js';
import { startTestServer, type TestServer } from './support/pg.js';

/** A name of exactly `bytes` bytes: `e` repeated, or `é` (2 bytes) repeated when `multibyte`. */
function nameOf(bytes: number, multibyte = false): string {
  if (!multibyte) return `n${'e'.repeat(bytes - 1)}`;
  return `n${'é'.repeat((bytes - 1) >> 1)}${(bytes - 1) % 2 ? 'e' : ''}`;
}

const RS = 'rs: { type: redshift, cluster: analytics, database: dev, dbUser: admin }';
const PG = 'pg: { type: postgres, url: "${env:WHARF_LEN_URL}" }';

function config(connection: string, schema: string, table: string, column: string): string {
  return `version: 1
connections:
  ${connection}
schemas:
  - name: ${schema}
tables:
  - schema: ${schema}
    name: ${table}
    columns:
      - { name: ${column}, type: int }
`;
}

const lengthErrors = (text: string) =>
  loadConfigText(text, 'f.yaml')
    .diagnostics.filter((d) => d.code === 'identifier-length')
    .map((d) => `${d.line}:${d.col} ${d.path} ${d.message}`);

describe('name lengths, counted in bytes, by engine', () => {
  it('the byte counts of the names used here are what they say', () => {
    for (const n of [63, 64, 127, 128])
      for (const mb of [false, true]) expect(Buffer.byteLength(nameOf(n, mb))).toBe(n);
    expect(nameOf(64, true).length).toBe(33); // 33 characters, 64 bytes
  });

  it('PostgreSQL: 63 bytes are accepted, 64 refused at their place, multibyte names counted in bytes', () => {
    expect(lengthErrors(config(PG, nameOf(63), nameOf(63, true), nameOf(63)))).toEqual([]);
    const long = nameOf(64, true);
    expect(lengthErrors(config(PG, 's', long, nameOf(64)))).toEqual([
      `8:11 tables[0].name name "${long}" is 64 bytes long; PostgreSQL allows at most 63 bytes`,
      `10:17 tables[0].columns[0].name name "${nameOf(64)}" is 64 bytes long; PostgreSQL allows at most 63 bytes`,
    ]);
  });

  it('Redshift: 127 bytes are accepted, 128 refused at their place, multibyte names counted in bytes', () => {
    expect(lengthErrors(config(RS, nameOf(127), nameOf(127, true), nameOf(127)))).toEqual([]);
    const long = nameOf(128, true);
    expect(lengthErrors(config(RS, long, 't', 'c'))).toEqual([
      `5:11 schemas[0].name name "${long}" is 128 bytes long; Redshift allows at most 127 bytes`,
      `7:13 tables[0].schema name "${long}" is 128 bytes long; Redshift allows at most 127 bytes`,
    ]);
    // The same 64-byte name that PostgreSQL refuses is fine on Redshift.
    expect(lengthErrors(config(RS, 's', nameOf(64, true), nameOf(64)))).toEqual([]);
  });

  it('references and grants are checked on the connection they belong to', () => {
    const role = nameOf(64);
    const text = `version: 1
connections:
  ${PG}
  ${RS}
defaultConnection: pg
roles:
  - { name: ${role}, connection: rs }
  - { name: ${role}x }
grants:
  - { to: ${role}x, privileges: [usage], schema: s }
schemas: [{ name: s }]
`;
    expect(lengthErrors(text)).toEqual([
      `8:13 roles[1].name name "${role}x" is 65 bytes long; PostgreSQL allows at most 63 bytes`,
      `10:11 grants[0].to name "${role}x" is 65 bytes long; PostgreSQL allows at most 63 bytes`,
    ]);
  });
});

describe('names of exactly 63 bytes converge on PostgreSQL', () => {
  let server: TestServer;
  let db: pg.Client;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await db?.end();
    await server?.stop();
  });

  it('applies a schema, table and column named with 63 bytes (one multibyte), then plans nothing', async () => {
    const name = await server.createDatabase('len63');
    db = await server.client(name);
    const [schema, table, column] = [nameOf(63, true), nameOf(63), nameOf(63, true).replace('n', 'c')];
    const loaded = loadConfigText(config(PG, schema, table, column), 'f.yaml');
    expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    process.env.WHARF_LEN_URL = server.rawUrl(name);
    try {
      const first = await planConfig(loaded.loaded!);
      const providers = new Map<string, WarehouseProvider>(
        [...first.connections].map(([n, c]) => [n, c.provider] as const),
      );
      const result = await applyPlan(first.plan, providers, {
        allowDestroy: false,
        lockTimeoutMs: 0,
        holder: 'test',
      });
      await first.close();
      expect(result.ok).toBe(true);
      const second = await planConfig(loaded.loaded!);
      await second.close();
      expect(second.plan.changes).toEqual([]);
    } finally {
      delete process.env.WHARF_LEN_URL;
    }
    // Kept whole, not truncated.
    const { rows } = await db.query(
      `SELECT n.nspname, c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE a.attnum > 0 AND n.nspname = $1`,
      [schema],
    );
    expect(rows).toEqual([{ nspname: schema, relname: table, attname: column }]);
  });
});
