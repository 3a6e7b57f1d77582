// Assembly of the Redshift catalog batch into resources, on fixture rows shaped like the
// documented views: sort key order and interleaving from SVV_REDSHIFT_COLUMNS.sortkey, dist
// style codes of PG_CLASS_INFO, owners' own rights and PUBLIC left out of grants, and each
// account consumer's control-plane status.
import { describe, expect, it } from 'vitest';
import type { DataApiResult } from '../src/providers/redshift/data-api-transport.js';
import {
  assembleRedshift,
  catalogFacts,
  catalogStatements,
} from '../src/providers/redshift/redshift-introspector.js';

const NS = 'arn:aws:redshift:us-east-1:123456789012:namespace:86b5169f-01dc-4a6f-9fbb-e2e24359e9a8';
const r = (rows: Record<string, unknown>[]): DataApiResult => ({ columns: [], rows });

const results: DataApiResult[] = [
  r([
    {
      version: 'PostgreSQL 8.0.2 on i686-pc-linux-gnu, Redshift 1.0.77467',
      database_name: 'dev',
      user_name: 'admin',
      namespace: '86b5169f-01dc-4a6f-9fbb-e2e24359e9a8',
    },
  ]),
  r([{ schema_name: 'toplyne', owner: 'admin' }]),
  r([{ user_name: 'admin' }, { user_name: 'heap' }]),
  r([{ group_name: 'analysts' }]),
  r([{ group_name: 'analysts', user_name: 'heap' }]),
  r([
    { schema_name: 'toplyne', table_name: 'events', owner: 'admin', diststyle: 1, comment: null },
    { schema_name: 'toplyne', table_name: 'auto_t', owner: 'admin', diststyle: 12, comment: 'x' },
  ]),
  r([
    {
      schema_name: 'toplyne',
      table_name: 'events',
      column_name: 'user_id',
      data_type: 'bigint',
      column_default: null,
      is_nullable: 'NO',
      encoding: 'az64',
      distkey: true,
      sortkey: -2,
    },
    {
      schema_name: 'toplyne',
      table_name: 'events',
      column_name: 'time',
      data_type: 'timestamp without time zone',
      column_default: null,
      is_nullable: 'NO',
      encoding: 'none',
      distkey: false,
      sortkey: -1,
    },
    {
      schema_name: 'toplyne',
      table_name: 'auto_t',
      column_name: 'id',
      data_type: 'integer',
      column_default: null,
      is_nullable: 'YES',
      encoding: 'az64',
      distkey: true,
      sortkey: 0,
    },
  ]),
  r([]),
  r([
    { namespace_name: 'toplyne', privilege_type: 'USAGE', identity_name: 'analysts', identity_type: 'group' },
    { namespace_name: 'toplyne', privilege_type: 'USAGE', identity_name: 'admin', identity_type: 'user' },
  ]),
  r([
    {
      namespace_name: 'toplyne',
      relation_name: 'events',
      privilege_type: 'SELECT',
      identity_name: 'heap',
      identity_type: 'user',
    },
    {
      namespace_name: 'toplyne',
      relation_name: 'events',
      privilege_type: 'INSERT',
      identity_name: 'heap',
      identity_type: 'user',
    },
    {
      namespace_name: 'toplyne',
      relation_name: 'events',
      privilege_type: 'SELECT',
      identity_name: 'public',
      identity_type: 'public',
    },
  ]),
  r([
    {
      schema_name: 'toplyne',
      owner_name: 'heap',
      privilege_type: 'SELECT',
      grantee_name: 'analysts',
      grantee_type: 'group',
    },
  ]),
  r([
    {
      share_name: 'share',
      is_publicaccessible: true,
      producer_account: '123456789012',
      producer_namespace: 'x',
    },
  ]),
  r([
    { share_name: 'share', object_type: 'schema', object_name: 'toplyne', include_new: true },
    { share_name: 'share', object_type: 'table', object_name: 'toplyne.events', include_new: null },
  ]),
  r([
    { share_name: 'share', consumer_account: '388856629077', consumer_namespace: '' },
    { share_name: 'share', consumer_account: '111122223333', consumer_namespace: '' },
    { share_name: 'share', consumer_account: '', consumer_namespace: 'A1B2C3D4-0000-4000-8000-000000000001' },
  ]),
];

describe('Redshift catalog assembly', () => {
  it('is one batch of fixed statements, whatever the scope', () => {
    expect(catalogStatements({ schemas: ['a'], roles: [] })).toHaveLength(19);
    expect(
      catalogStatements({ schemas: Array.from({ length: 500 }, (_, i) => `s${i}`), roles: ['r'] }),
    ).toHaveLength(19);
    expect(catalogStatements({ schemas: ["it's"], roles: [] })[5]).toContain("'it''s'");
  });

  it('turns the rows into resources', () => {
    const statuses = new Map([
      [
        'share',
        new Map([
          ['388856629077', 'active' as const],
          ['DataCatalog/111122223333', 'authorized' as const],
        ]),
      ],
    ]);
    const out = assembleRedshift(results, statuses, NS);
    const byKind = (k: string) => out.filter((x) => x.kind === k);
    expect(byKind('role')).toEqual([
      { kind: 'role', name: 'admin', login: true, memberOf: [], passwordRef: null },
      { kind: 'role', name: 'heap', login: true, memberOf: ['analysts'], passwordRef: null },
      { kind: 'role', name: 'analysts', login: false, memberOf: [], passwordRef: null, roleKind: 'group' },
    ]);
    const [events, auto] = byKind('table') as never[] as {
      redshift: unknown;
      columns: { encode: string; nullable: boolean }[];
      comment: string | null;
    }[];
    expect(events!.redshift).toEqual({
      distribution: { style: 'key', key: 'user_id' },
      sortKey: { type: 'interleaved', columns: ['time', 'user_id'] },
    });
    expect(events!.columns.map((c) => [c.encode, c.nullable])).toEqual([
      ['az64', false],
      ['raw', false],
    ]);
    // AUTO(KEY): the column SVV_REDSHIFT_COLUMNS marks is the key automatic optimization chose.
    expect(auto!.redshift).toEqual({
      distribution: { style: 'auto', key: 'id' },
      sortKey: { type: 'auto', columns: [] },
    });
    expect(auto!.comment).toBe('x');
    expect(byKind('grant')).toEqual([
      {
        kind: 'grant',
        objectType: 'schema',
        object: 'toplyne',
        grantee: 'analysts',
        privileges: ['usage'],
        granteeType: 'group',
      },
      {
        kind: 'grant',
        objectType: 'table',
        object: 'toplyne.events',
        grantee: 'heap',
        privileges: ['select', 'insert'],
        granteeType: 'user',
      },
    ]);
    expect(byKind('default_privileges')).toEqual([
      {
        kind: 'default_privileges',
        forRole: 'heap',
        schema: 'toplyne',
        objectType: 'tables',
        grantee: 'analysts',
        privileges: ['select'],
        granteeType: 'group',
      },
    ]);
    expect(byKind('datashare')).toEqual([
      {
        kind: 'datashare',
        name: 'share',
        publicAccessible: true,
        schemas: ['toplyne'],
        tables: ['toplyne.events'],
        includeNew: ['toplyne'],
        consumers: [
          { type: 'account', id: '111122223333', viaDataCatalog: true, status: 'authorized' },
          { type: 'account', id: '388856629077', viaDataCatalog: false, status: 'active' },
          {
            type: 'namespace',
            id: 'a1b2c3d4-0000-4000-8000-000000000001',
            viaDataCatalog: false,
            status: 'granted',
          },
        ],
        arn: 'arn:aws:redshift:us-east-1:123456789012:datashare:86b5169f-01dc-4a6f-9fbb-e2e24359e9a8/share',
      },
    ]);
    expect(catalogFacts(results)).toMatchObject({
      namespace: '86b5169f-01dc-4a6f-9fbb-e2e24359e9a8',
      producerAccount: '123456789012',
      outboundShares: 1,
    });
  });
});

// Rows shaped like the reference's own examples:
// - PG_CLASS_INFO.releffectivediststyle 0 EVEN, 1 KEY, 8 ALL, 10 AUTO(ALL), 11 AUTO(EVEN),
//   12 AUTO(KEY) (https://docs.aws.amazon.com/redshift/latest/dg/r_PG_CLASS_INFO.html);
// - SVV_REDSHIFT_COLUMNS as its sample query prints them: is_nullable NO, encoding none for key
//   columns, distkey t/f, sortkey positions
//   (https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_REDSHIFT_COLUMNS.html);
// - SVV_TABLE_INFO.diststyle EVEN, KEY(column), ALL, AUTO(ALL), AUTO(EVEN), AUTO(KEY(column)) and
//   sortkey1 column, AUTO(SORTKEY), AUTO(SORTKEY(column)); superusers only, and no row for an
//   empty table (https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_TABLE_INFO.html).
describe('catalog rows as the reference shows them, with automatic table optimization', () => {
  const cls = (table_name: string, diststyle: number) => ({
    schema_name: 'public',
    table_name,
    owner: 'dwuser',
    diststyle,
    comment: null,
  });
  const column = (
    table_name: string,
    column_name: string,
    distkey: string,
    sortkey: number,
    encoding = 'none',
  ) => ({
    database_name: 'dev',
    schema_name: 'public',
    table_name,
    column_name,
    ordinal_position: 1,
    data_type: 'integer',
    column_default: null,
    is_nullable: 'NO',
    encoding,
    distkey,
    sortkey,
    column_acl: null,
    remarks: null,
  });
  const info = (table: string, diststyle: string, sortkey1: string | null) => ({
    schema_name: 'public',
    table_name: table,
    diststyle,
    sortkey1,
  });
  const catalog = (superuser: string | null, tableInfo: Record<string, unknown>[]): DataApiResult[] => {
    const out: DataApiResult[] = Array.from({ length: 19 }, () => r([]));
    out[0] = r([
      { version: 'Redshift 1.0.77467', database_name: 'dev', user_name: 'dwuser', namespace: 'x' },
    ]);
    out[5] = r([
      cls('customer', 0),
      cls('sales', 1),
      cls('lineitem', 8),
      cls('product', 10),
      cls('shipping', 11),
      cls('orders', 12),
      cls('returns', 12),
    ]);
    out[6] = r([
      column('customer', 'custkey', 'f', 0, 'az64'),
      column('sales', 'salesid', 'f', 0, 'az64'),
      column('sales', 'listid', 't', 1),
      column('sales', 'sellerid', 'f', 2),
      column('lineitem', 'orderkey', 'f', 0, 'az64'),
      column('product', 'productkey', 'f', 0, 'az64'),
      column('shipping', 'shipdate', 'f', 1),
      column('orders', 'custkey', 't', 1),
      column('returns', 'orderkey', 'f', 0, 'az64'),
    ]);
    out[17] = r(superuser === null ? [] : [{ superuser }]);
    out[18] = r(tableInfo);
    return out;
  };
  const layouts = (results: DataApiResult[]) =>
    Object.fromEntries(
      assembleRedshift(results, new Map(), null).flatMap((x) =>
        x.kind === 'table' ? [[x.name, x.redshift] as const] : [],
      ),
    );

  it('reads declared, AUTO and optimizer-chosen layouts so that a file saying auto sees no drift', () => {
    const tableInfo = [
      info('sales', 'KEY(listid)', 'listid'),
      info('lineitem', 'ALL', null),
      info('product', 'AUTO(ALL)', 'AUTO(SORTKEY)'),
      info('shipping', 'AUTO(EVEN)', 'AUTO(SORTKEY(shipdate))'),
      info('orders', 'AUTO(KEY(custkey))', 'AUTO(SORTKEY(custkey))'),
      // What the optimizer chose, when SVV_REDSHIFT_COLUMNS does not mark it.
      info('returns', 'AUTO(KEY(orderkey))', 'AUTO(SORTKEY)'),
    ];
    expect(layouts(catalog('t', tableInfo))).toEqual({
      customer: { distribution: { style: 'even', key: null }, sortKey: { type: 'auto', columns: [] } },
      sales: {
        distribution: { style: 'key', key: 'listid' },
        sortKey: { type: 'compound', columns: ['listid', 'sellerid'] },
      },
      lineitem: { distribution: { style: 'all', key: null }, sortKey: { type: 'auto', columns: [] } },
      product: { distribution: { style: 'auto', key: null }, sortKey: { type: 'auto', columns: [] } },
      shipping: {
        distribution: { style: 'auto', key: null },
        sortKey: { type: 'auto', columns: ['shipdate'] },
      },
      orders: {
        distribution: { style: 'auto', key: 'custkey' },
        sortKey: { type: 'auto', columns: ['custkey'] },
      },
      returns: { distribution: { style: 'auto', key: 'orderkey' }, sortKey: { type: 'auto', columns: [] } },
    });
    expect(catalogFacts(catalog('t', tableInfo)).superuser).toBe(true);
  });

  it('without SVV_TABLE_INFO rows (not a superuser, or empty tables) an optimizer-chosen sort key reads as compound', () => {
    const read = layouts(catalog('f', []));
    expect(read.shipping).toEqual({
      distribution: { style: 'auto', key: null },
      sortKey: { type: 'compound', columns: ['shipdate'] },
    });
    expect(catalogFacts(catalog('f', [])).superuser).toBe(false);
    expect(catalogFacts(catalog(null, [])).superuser).toBeNull();
  });
});
