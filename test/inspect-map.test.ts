// The pure part of `wharf inspect` (src/commands/inspect-map.ts): live resources -> file entries,
// on hand-built live states, for the cases a real server makes awkward to reach.
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { expressible, fileType, inspectWarehouse, passwordEnvName } from '../src/commands/inspect-map.js';
import { renderInspected } from '../src/commands/inspect-yaml.js';
import type { Resource, TableResource } from '../src/plan/model.js';

const NOW = new Date('2026-11-23T12:00:00Z');
const scope = { connection: 'warehouse', connectingRoles: ['admin'], now: NOW };

function table(name: string, extra: Partial<TableResource> = {}): TableResource {
  return {
    kind: 'table',
    schema: 'app',
    name,
    owner: 'admin',
    columns: [{ name: 'id', type: 'bigint', nullable: false, default: null }],
    primaryKey: null,
    partition: null,
    comment: null,
    ...extra,
  };
}

const base: Resource[] = [
  { kind: 'schema', name: 'app', owner: 'admin', marked: false },
  { kind: 'role', name: 'admin', login: true, memberOf: [], passwordRef: null },
];

describe('inspect: types and names', () => {
  it('writes the short spelling of a type when it reads back the same, and refuses what the file cannot write', () => {
    expect(fileType('character varying(64)')).toBe('varchar(64)');
    expect(fileType('timestamp with time zone')).toBe('timestamptz');
    expect(fileType('numeric(10,2)')).toBe('numeric(10,2)');
    expect(fileType('timestamp(3) without time zone')).toBe('timestamp(3) without time zone');
    expect(fileType('integer[]')).toBe('integer[]');
    expect(fileType('"char"')).toBeUndefined();
    expect(fileType('public.mood')).toBeUndefined();
  });

  it('knows which names the file can write, and names password variables after the role', () => {
    expect(expressible('sales')).toBe(true);
    expect(expressible('Sales')).toBe(false);
    expect(expressible('line items')).toBe(false);
    expect(passwordEnvName('vendor')).toBe('VENDOR_PASSWORD');
    expect(passwordEnvName('bi-reader')).toBe('BI_READER_PASSWORD');
  });
});

describe('inspect: what the file cannot say', () => {
  it('a partitioned table without a partition for the current period is left out, its schema unpruned', () => {
    const old = table('events', {
      partition: {
        by: 'ts',
        granularity: 'month',
        partitions: [{ name: 'events_2020_01', from: '2020-01-01', to: '2020-02-01' }],
      },
    });
    const out = inspectWarehouse([...base, old], { ...scope, schemas: ['app'], roles: [] });
    expect(out.tables).toEqual([]);
    expect(out.schemas.map((s) => s.value)).toEqual([{ name: 'app', prune: false }]);
    expect(out.notes[0]!.reason).toMatch(/no partition for the current month \(2026-11-01\)/);
  });

  it('the partitions ahead and the unbroken run before the current one become ahead and from', () => {
    const parts = ['2026-09-01', '2026-10-01', '2026-11-01', '2026-12-01', '2027-01-01'].map((from) => ({
      name: `p${from}`,
      from,
      to: from,
    }));
    const withGap = [{ name: 'old', from: '2026-01-01', to: '2026-02-01' }, ...parts];
    const t = table('events', { partition: { by: 'ts', granularity: 'month', partitions: withGap } });
    const out = inspectWarehouse([...base, t], { ...scope, schemas: ['app'], roles: [] });
    expect(out.tables[0]!.value.partition).toEqual({
      by: 'ts',
      granularity: 'month',
      ahead: 2,
      from: '2026-09-01',
    });
  });

  it("a declared role's grant on a table the file cannot write is reported as a revoke", () => {
    const live: Resource[] = [
      ...base,
      table('orders'),
      table('Orders'),
      { kind: 'role', name: 'reader', login: false, memberOf: [], passwordRef: null },
      { kind: 'grant', objectType: 'table', object: 'app.Orders', grantee: 'reader', privileges: ['select'] },
      { kind: 'grant', objectType: 'table', object: 'app.orders', grantee: 'reader', privileges: ['select'] },
    ];
    const out = inspectWarehouse(live, { ...scope, schemas: ['app'], roles: ['reader'] });
    expect(out.grants.map((g) => g.value)).toEqual([
      { to: 'reader', privileges: ['select'], tables: ['app.orders'] },
    ]);
    expect(out.notes.map((n) => n.reason)).toContainEqual(expect.stringMatching(/apply would revoke it/));
  });

  it('schemas and roles wharf created are written even when not asked for; the session role gets no password', () => {
    const live: Resource[] = [
      ...base,
      { kind: 'schema', name: 'made', owner: 'admin', marked: true },
      { kind: 'role', name: 'bot', login: true, memberOf: [], passwordRef: null, marked: true },
    ];
    const out = inspectWarehouse(live, { ...scope, schemas: [], roles: ['admin'] });
    expect(out.schemas.map((s) => s.value.name)).toEqual(['made']);
    expect(out.roles.map((r) => r.value)).toEqual([
      { name: 'admin', type: 'user' },
      { name: 'bot', type: 'user', password: '${env:BOT_PASSWORD}' },
    ]);
    expect(out.passwordEnv).toEqual(['BOT_PASSWORD']);
  });
});

describe('inspect: the written YAML', () => {
  it('names from the warehouse cannot break out of a comment or a value', () => {
    const hostile = 'evil\rroles: [{ name: intruder }]\u2028\nschemas: []';
    const text = renderInspected({
      schemaRef: '../schemas/wharf.schema.json',
      header: [`inspected ${hostile}`],
      connections: { warehouse: { type: 'postgres', url: '${env:DATABASE_URL}' } },
      sections: [['schemas', [{ value: { name: hostile }, comment: hostile }]]],
      notes: [{ object: `table app."${hostile}"`, reason: 'a quoted name' }],
    });
    const doc = parseYaml(text) as Record<string, unknown>;
    expect(Object.keys(doc).sort()).toEqual(['connections', 'schemas', 'version']);
    expect(doc.schemas).toEqual([{ name: hostile }]);
    expect(text).not.toMatch(/\r/);
  });
});
