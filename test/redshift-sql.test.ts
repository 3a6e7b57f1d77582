// Golden SQL of the Redshift dialect: one row per change kind, the expected statements
// inline. Each was checked against the AWS Redshift SQL reference (CREATE TABLE, ALTER TABLE,
// CREATE/ALTER/DROP DATASHARE, GRANT/REVOKE incl. USAGE ON DATASHARE, CREATE/ALTER/DROP
// USER and GROUP, ALTER DEFAULT PRIVILEGES) and the control-plane API reference.
import { describe, expect, it } from 'vitest';
import { diff } from '../src/plan/diff.js';
import type { Resource, TableResource } from '../src/plan/model.js';
import type { Change } from '../src/plan/plan.js';
import type { DatashareResource } from '../src/providers/redshift/datashare-model.js';
import { REDSHIFT_CAPABILITIES } from '../src/providers/redshift/redshift-introspector.js';
import { compileRedshift } from '../src/providers/redshift/redshift-sql.js';

const NS = 'arn:aws:redshift:us-east-1:123456789012:namespace:86b5169f-01dc-4a6f-9fbb-e2e24359e9a8';
const SHARE_ARN =
  'arn:aws:redshift:us-east-1:123456789012:datashare:86b5169f-01dc-4a6f-9fbb-e2e24359e9a8/toplyne_share';

function table(over: Partial<TableResource> = {}): TableResource {
  return {
    kind: 'table',
    schema: 'toplyne',
    name: 'events',
    owner: null,
    columns: [
      { name: 'user_id', type: 'bigint', nullable: false, default: null, encode: 'az64' },
      { name: 'event_name', type: 'character varying(256)', nullable: false, default: null, encode: null },
      {
        name: 'timestamp',
        type: 'timestamp without time zone',
        nullable: false,
        default: null,
        encode: null,
      },
      { name: 'event_properties', type: 'super', nullable: true, default: null, encode: null },
    ],
    primaryKey: null,
    partition: null,
    comment: null,
    redshift: {
      distribution: { style: 'key', key: 'user_id' },
      sortKey: { type: 'compound', columns: ['timestamp'] },
    },
    ...over,
  };
}

function share(over: Partial<DatashareResource> = {}): DatashareResource {
  return {
    kind: 'datashare',
    name: 'toplyne_share',
    publicAccessible: true,
    schemas: ['toplyne'],
    tables: ['toplyne.accounts', 'toplyne.events'],
    includeNew: ['toplyne'],
    consumers: [{ type: 'account', id: '388856629077', viaDataCatalog: false, status: 'authorized' }],
    ...over,
  };
}

/** The one change the differ makes for `want` against `have` (live), compiled. */
function sqlOf(have: Resource[], want: Resource[]): string[] {
  const { changes } = diff({
    connection: 'w',
    desired: want,
    live: have,
    capabilities: REDSHIFT_CAPABILITIES,
  });
  // As the provider does: principals' kinds from the live state and the file.
  const roleKinds = new Map<string, 'user' | 'group' | 'role'>();
  for (const r of [...have, ...want])
    if (r.kind === 'role') roleKinds.set(r.name, r.login ? 'user' : (r.roleKind ?? 'group'));
  return changes.flatMap((c: Change) =>
    compileRedshift(c, { namespaceArn: NS, roleKinds }).map((s) => s.sql),
  );
}

const schema = (name = 'toplyne'): Resource => ({ kind: 'schema', name, owner: null });

describe('Redshift SQL per change kind', () => {
  const cases: { name: string; have: Resource[]; want: Resource[]; sql: string[] }[] = [
    {
      name: 'create schema with owner',
      have: [],
      want: [{ kind: 'schema', name: 'main_production', owner: 'heap' }],
      sql: ['CREATE SCHEMA "main_production" AUTHORIZATION "heap"'],
    },
    {
      name: 'alter schema owner',
      have: [{ kind: 'schema', name: 'main_production', owner: 'admin' }],
      want: [{ kind: 'schema', name: 'main_production', owner: 'heap' }],
      sql: ['ALTER SCHEMA "main_production" OWNER TO "heap"'],
    },
    {
      name: 'create table with DISTSTYLE KEY, DISTKEY, compound SORTKEY and ENCODE',
      have: [schema()],
      want: [schema(), table()],
      sql: [
        'CREATE TABLE "toplyne"."events" (\n  "user_id" bigint ENCODE AZ64 NOT NULL,\n  "event_name" character varying(256) NOT NULL,\n  "timestamp" timestamp without time zone NOT NULL,\n  "event_properties" super\n)\nDISTSTYLE KEY\nDISTKEY ("user_id")\nCOMPOUND SORTKEY ("timestamp")',
      ],
    },
    {
      name: 'create table with DISTSTYLE ALL, interleaved sort key, primary key and owner',
      have: [schema()],
      want: [
        schema(),
        table({
          name: 'accounts',
          owner: 'toplyne_owner',
          columns: [{ name: 'account_id', type: 'bigint', nullable: false, default: null }],
          primaryKey: ['account_id'],
          redshift: {
            distribution: { style: 'all', key: null },
            sortKey: { type: 'interleaved', columns: ['account_id'] },
          },
        }),
      ],
      sql: [
        'CREATE TABLE "toplyne"."accounts" (\n  "account_id" bigint NOT NULL,\n  PRIMARY KEY ("account_id")\n)\nDISTSTYLE ALL\nINTERLEAVED SORTKEY ("account_id")',
        'ALTER TABLE "toplyne"."accounts" OWNER TO "toplyne_owner"',
      ],
    },
    {
      name: 'create table with DISTSTYLE AUTO and SORTKEY AUTO',
      have: [schema()],
      want: [
        schema(),
        table({
          redshift: { distribution: { style: 'auto', key: null }, sortKey: { type: 'auto', columns: [] } },
        }),
      ],
      sql: [
        'CREATE TABLE "toplyne"."events" (\n  "user_id" bigint ENCODE AZ64 NOT NULL,\n  "event_name" character varying(256) NOT NULL,\n  "timestamp" timestamp without time zone NOT NULL,\n  "event_properties" super\n)\nDISTSTYLE AUTO\nSORTKEY AUTO',
      ],
    },
    {
      name: 'ALTER DISTSTYLE EVEN',
      have: [schema(), table()],
      want: [
        schema(),
        table({
          redshift: {
            distribution: { style: 'even', key: null },
            sortKey: { type: 'compound', columns: ['timestamp'] },
          },
        }),
      ],
      sql: ['ALTER TABLE "toplyne"."events" ALTER DISTSTYLE EVEN'],
    },
    {
      name: 'ALTER DISTSTYLE KEY DISTKEY',
      have: [
        schema(),
        table({
          redshift: {
            distribution: { style: 'even', key: null },
            sortKey: { type: 'compound', columns: ['timestamp'] },
          },
        }),
      ],
      want: [schema(), table()],
      // https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE.html: the syntax is
      // `ALTER DISTSTYLE KEY DISTKEY column_name`, the column without parentheses (CREATE
      // TABLE's table attribute is `DISTKEY ( column_name )`, kept above).
      sql: ['ALTER TABLE "toplyne"."events" ALTER DISTSTYLE KEY DISTKEY "user_id"'],
    },
    {
      name: 'ALTER DISTKEY (the key column changes, the style stays KEY)',
      have: [
        schema(),
        table({
          redshift: {
            distribution: { style: 'key', key: 'event_name' },
            sortKey: { type: 'compound', columns: ['timestamp'] },
          },
        }),
      ],
      want: [schema(), table()],
      // https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE.html: `ALTER DISTKEY column_name`.
      sql: ['ALTER TABLE "toplyne"."events" ALTER DISTKEY "user_id"'],
    },
    {
      name: 'ALTER COMPOUND SORTKEY',
      have: [schema(), table()],
      want: [
        schema(),
        table({
          redshift: {
            distribution: { style: 'key', key: 'user_id' },
            sortKey: { type: 'compound', columns: ['timestamp', 'user_id'] },
          },
        }),
      ],
      sql: ['ALTER TABLE "toplyne"."events" ALTER COMPOUND SORTKEY ("timestamp", "user_id")'],
    },
    {
      name: 'ALTER SORTKEY AUTO',
      have: [schema(), table()],
      want: [
        schema(),
        table({
          redshift: {
            distribution: { style: 'key', key: 'user_id' },
            sortKey: { type: 'auto', columns: [] },
          },
        }),
      ],
      sql: ['ALTER TABLE "toplyne"."events" ALTER SORTKEY AUTO'],
    },
    {
      name: 'ALTER COLUMN ENCODE',
      have: [schema(), table()],
      want: [
        schema(),
        table({
          columns: table().columns.map((c) => (c.name === 'event_name' ? { ...c, encode: 'zstd' } : c)),
        }),
      ],
      sql: ['ALTER TABLE "toplyne"."events" ALTER COLUMN "event_name" ENCODE ZSTD'],
    },
    {
      name: 'ALTER COLUMN TYPE widens a VARCHAR in place',
      have: [schema(), table()],
      want: [
        schema(),
        table({
          columns: table().columns.map((c) =>
            c.name === 'event_name' ? { ...c, type: 'character varying(1024)' } : c,
          ),
        }),
      ],
      sql: ['ALTER TABLE "toplyne"."events" ALTER COLUMN "event_name" TYPE character varying(1024)'],
    },
    {
      name: 'ADD COLUMN and DROP COLUMN, one per statement',
      have: [schema(), table()],
      want: [
        schema(),
        table({
          columns: [
            ...table().columns.filter((c) => c.name !== 'event_properties'),
            {
              name: 'updated_at',
              type: 'timestamp without time zone',
              nullable: true,
              default: null,
              encode: 'az64',
            },
          ],
        }),
      ],
      sql: [
        'ALTER TABLE "toplyne"."events" ADD COLUMN "updated_at" timestamp without time zone ENCODE AZ64',
        'ALTER TABLE "toplyne"."events" DROP COLUMN "event_properties"',
      ],
    },
    {
      name: 'a non-VARCHAR type change replaces the table',
      have: [schema(), table()],
      want: [
        schema(),
        table({
          columns: table().columns.map((c) => (c.name === 'user_id' ? { ...c, type: 'integer' } : c)),
        }),
      ],
      sql: [
        'DROP TABLE "toplyne"."events"',
        'CREATE TABLE "toplyne"."events" (\n  "user_id" integer ENCODE AZ64 NOT NULL,\n  "event_name" character varying(256) NOT NULL,\n  "timestamp" timestamp without time zone NOT NULL,\n  "event_properties" super\n)\nDISTSTYLE KEY\nDISTKEY ("user_id")\nCOMPOUND SORTKEY ("timestamp")',
      ],
    },
    {
      name: 'create user with a password reference, and group membership',
      have: [{ kind: 'role', name: 'analysts', login: false, memberOf: [], passwordRef: null }],
      want: [
        { kind: 'role', name: 'analysts', login: false, memberOf: [], passwordRef: null },
        {
          kind: 'role',
          name: 'heap',
          login: true,
          memberOf: ['analysts'],
          passwordRef: '${env:HEAP_PASSWORD}',
        },
      ],
      sql: ['CREATE USER "heap" PASSWORD ${env:HEAP_PASSWORD}', 'ALTER GROUP "analysts" ADD USER "heap"'],
    },
    {
      name: 'create user without password, and a group',
      have: [],
      want: [
        { kind: 'role', name: 'analysts', login: false, memberOf: [], passwordRef: null },
        { kind: 'role', name: 'bi', login: true, memberOf: [], passwordRef: null },
      ],
      sql: ['CREATE GROUP "analysts"', 'CREATE USER "bi" PASSWORD DISABLE'],
    },
    {
      name: 'membership removed',
      have: [
        { kind: 'role', name: 'analysts', login: false, memberOf: [], passwordRef: null },
        { kind: 'role', name: 'bi', login: true, memberOf: ['analysts'], passwordRef: null },
      ],
      want: [
        { kind: 'role', name: 'analysts', login: false, memberOf: [], passwordRef: null },
        { kind: 'role', name: 'bi', login: true, memberOf: [], passwordRef: null },
      ],
      sql: ['ALTER GROUP "analysts" DROP USER "bi"'],
    },
    {
      name: 'RBAC roles: create, granted to a user and to a role, privileges to a role',
      have: [schema(), table()],
      want: [
        schema(),
        table(),
        { kind: 'role', name: 'readers', login: false, memberOf: [], passwordRef: null, roleKind: 'role' },
        {
          kind: 'role',
          name: 'analysts',
          login: false,
          memberOf: ['readers'],
          passwordRef: null,
          roleKind: 'role',
        },
        { kind: 'role', name: 'bi', login: true, memberOf: ['analysts'], passwordRef: null },
        {
          kind: 'grant',
          objectType: 'table',
          object: 'toplyne.events',
          grantee: 'readers',
          privileges: ['select'],
          granteeType: 'role',
        },
        {
          kind: 'default_privileges',
          forRole: 'bi',
          schema: 'toplyne',
          objectType: 'tables',
          grantee: 'readers',
          privileges: ['select'],
          granteeType: 'role',
        },
      ],
      sql: [
        'CREATE ROLE "readers"',
        'CREATE ROLE "analysts"',
        'GRANT ROLE "readers" TO ROLE "analysts"',
        'CREATE USER "bi" PASSWORD DISABLE',
        'GRANT ROLE "analysts" TO "bi"',
        // Default privileges after grants (plan order).
        'GRANT SELECT ON TABLE "toplyne"."events" TO ROLE "readers"',
        'ALTER DEFAULT PRIVILEGES FOR USER "bi" IN SCHEMA "toplyne" GRANT SELECT ON TABLES TO ROLE "readers"',
      ],
    },
    {
      name: 'RBAC role membership revoked',
      have: [
        { kind: 'role', name: 'readers', login: false, memberOf: [], passwordRef: null, roleKind: 'role' },
        { kind: 'role', name: 'bi', login: true, memberOf: ['readers'], passwordRef: null },
      ],
      want: [
        { kind: 'role', name: 'readers', login: false, memberOf: [], passwordRef: null, roleKind: 'role' },
        { kind: 'role', name: 'bi', login: true, memberOf: [], passwordRef: null },
      ],
      sql: ['REVOKE ROLE "readers" FROM "bi"'],
    },
    {
      name: 'grant on schema to a user, on a table to a group',
      have: [schema(), table()],
      want: [
        schema(),
        table(),
        {
          kind: 'grant',
          objectType: 'schema',
          object: 'toplyne',
          grantee: 'heap',
          privileges: ['usage', 'create'],
          granteeType: 'user',
        },
        {
          kind: 'grant',
          objectType: 'table',
          object: 'toplyne.events',
          grantee: 'analysts',
          privileges: ['select'],
          granteeType: 'group',
        },
      ],
      sql: [
        'GRANT USAGE, CREATE ON SCHEMA "toplyne" TO "heap"',
        'GRANT SELECT ON TABLE "toplyne"."events" TO GROUP "analysts"',
      ],
    },
    {
      name: 'revoke part of a grant from a group',
      have: [
        schema(),
        table(),
        {
          kind: 'grant',
          objectType: 'table',
          object: 'toplyne.events',
          grantee: 'analysts',
          privileges: ['select', 'insert'],
          granteeType: 'group',
        },
        { kind: 'role', name: 'analysts', login: false, memberOf: [], passwordRef: null },
      ],
      want: [
        schema(),
        table(),
        { kind: 'role', name: 'analysts', login: false, memberOf: [], passwordRef: null },
        {
          kind: 'grant',
          objectType: 'table',
          object: 'toplyne.events',
          grantee: 'analysts',
          privileges: ['select'],
          granteeType: 'group',
        },
      ],
      sql: ['REVOKE INSERT ON TABLE "toplyne"."events" FROM GROUP "analysts"'],
    },
    {
      name: 'default privileges for a user, to a group',
      have: [schema('main_production')],
      want: [
        schema('main_production'),
        {
          kind: 'default_privileges',
          forRole: 'heap',
          schema: 'main_production',
          objectType: 'tables',
          grantee: 'analysts',
          privileges: ['select'],
          granteeType: 'group',
        },
      ],
      sql: [
        'ALTER DEFAULT PRIVILEGES FOR USER "heap" IN SCHEMA "main_production" GRANT SELECT ON TABLES TO GROUP "analysts"',
      ],
    },
    {
      name: 'revoke default privileges no longer declared',
      have: [
        schema('main_production'),
        { kind: 'role', name: 'analysts', login: false, memberOf: [], passwordRef: null },
        {
          kind: 'default_privileges',
          forRole: 'heap',
          schema: 'main_production',
          objectType: 'tables',
          grantee: 'analysts',
          privileges: ['select'],
          granteeType: 'group',
        },
      ],
      want: [
        schema('main_production'),
        { kind: 'role', name: 'analysts', login: false, memberOf: [], passwordRef: null },
      ],
      sql: [
        'ALTER DEFAULT PRIVILEGES FOR USER "heap" IN SCHEMA "main_production" REVOKE SELECT ON TABLES FROM GROUP "analysts"',
      ],
    },
    {
      name: 'revoke a whole grant no longer declared',
      have: [
        schema(),
        table(),
        { kind: 'role', name: 'heap', login: true, memberOf: [], passwordRef: null },
        {
          kind: 'grant',
          objectType: 'schema',
          object: 'toplyne',
          grantee: 'heap',
          privileges: ['usage'],
          granteeType: 'user',
        },
      ],
      want: [schema(), table(), { kind: 'role', name: 'heap', login: true, memberOf: [], passwordRef: null }],
      sql: ['REVOKE USAGE ON SCHEMA "toplyne" FROM "heap"'],
    },
    {
      name: 'a sort key that becomes INTERLEAVED replaces the table',
      have: [schema(), table()],
      want: [
        schema(),
        table({
          redshift: {
            distribution: { style: 'key', key: 'user_id' },
            sortKey: { type: 'interleaved', columns: ['timestamp'] },
          },
        }),
      ],
      sql: [
        'DROP TABLE "toplyne"."events"',
        'CREATE TABLE "toplyne"."events" (\n  "user_id" bigint ENCODE AZ64 NOT NULL,\n  "event_name" character varying(256) NOT NULL,\n  "timestamp" timestamp without time zone NOT NULL,\n  "event_properties" super\n)\nDISTSTYLE KEY\nDISTKEY ("user_id")\nINTERLEAVED SORTKEY ("timestamp")',
      ],
    },
    {
      name: 'table owner and comment',
      have: [schema(), table()],
      want: [schema(), table({ owner: 'heap', comment: "Toplyne's events" })],
      sql: [
        'ALTER TABLE "toplyne"."events" OWNER TO "heap"',
        'COMMENT ON TABLE "toplyne"."events" IS \'Toplyne\'\'s events\'',
      ],
    },
    {
      name: 'create datashare: objects, INCLUDENEW, consumers, authorization',
      have: [schema(), table(), table({ name: 'accounts' })],
      want: [
        schema(),
        table(),
        table({ name: 'accounts' }),
        share({
          consumers: [
            { type: 'account', id: '388856629077', viaDataCatalog: false, status: 'authorized' },
            { type: 'account', id: '111122223333', viaDataCatalog: true, status: 'authorized' },
            {
              type: 'namespace',
              id: 'a1b2c3d4-0000-4000-8000-000000000001',
              viaDataCatalog: false,
              status: 'granted',
            },
          ],
        }),
      ],
      sql: [
        'CREATE DATASHARE "toplyne_share" SET PUBLICACCESSIBLE = TRUE',
        'ALTER DATASHARE "toplyne_share" ADD SCHEMA "toplyne"',
        'ALTER DATASHARE "toplyne_share" ADD TABLE "toplyne"."accounts", "toplyne"."events"',
        'ALTER DATASHARE "toplyne_share" SET INCLUDENEW = TRUE FOR SCHEMA "toplyne"',
        'GRANT USAGE ON DATASHARE "toplyne_share" TO ACCOUNT \'388856629077\'',
        'GRANT USAGE ON DATASHARE "toplyne_share" TO ACCOUNT \'111122223333\' VIA DATA CATALOG',
        'GRANT USAGE ON DATASHARE "toplyne_share" TO NAMESPACE \'a1b2c3d4-0000-4000-8000-000000000001\'',
        `AuthorizeDataShare DataShareArn=${SHARE_ARN} ConsumerIdentifier=388856629077`,
        `AuthorizeDataShare DataShareArn=${SHARE_ARN} ConsumerIdentifier=DataCatalog/111122223333`,
      ],
    },
    {
      name: 'alter datashare: remove a table, add one, public off, INCLUDENEW off, a new consumer',
      have: [
        schema(),
        table(),
        table({ name: 'accounts' }),
        table({ name: 'users' }),
        share({ arn: SHARE_ARN }),
      ],
      want: [
        schema(),
        table(),
        table({ name: 'accounts' }),
        table({ name: 'users' }),
        share({
          publicAccessible: false,
          tables: ['toplyne.events', 'toplyne.users'],
          includeNew: [],
          consumers: [
            { type: 'account', id: '388856629077', viaDataCatalog: false, status: 'authorized' },
            {
              type: 'namespace',
              id: 'a1b2c3d4-0000-4000-8000-000000000001',
              viaDataCatalog: false,
              status: 'granted',
            },
          ],
        }),
      ],
      sql: [
        'ALTER DATASHARE "toplyne_share" REMOVE TABLE "toplyne"."accounts"',
        'ALTER DATASHARE "toplyne_share" ADD TABLE "toplyne"."users"',
        'ALTER DATASHARE "toplyne_share" SET PUBLICACCESSIBLE = FALSE',
        'ALTER DATASHARE "toplyne_share" SET INCLUDENEW = FALSE FOR SCHEMA "toplyne"',
        'GRANT USAGE ON DATASHARE "toplyne_share" TO NAMESPACE \'a1b2c3d4-0000-4000-8000-000000000001\'',
      ],
    },
    {
      name: 'tables Redshift added to an INCLUDENEW schema are kept',
      have: [
        schema(),
        table(),
        table({ name: 'accounts' }),
        table({ name: 'later' }),
        share({ arn: SHARE_ARN, tables: ['toplyne.accounts', 'toplyne.events', 'toplyne.later'] }),
      ],
      want: [schema(), table(), table({ name: 'accounts' }), table({ name: 'later' }), share()],
      sql: [],
    },
    {
      name: 'a consumer granted but never authorized is authorized',
      have: [
        schema(),
        table(),
        table({ name: 'accounts' }),
        share({
          arn: SHARE_ARN,
          consumers: [{ type: 'account', id: '388856629077', viaDataCatalog: false, status: 'granted' }],
        }),
      ],
      want: [schema(), table(), table({ name: 'accounts' }), share()],
      sql: [`AuthorizeDataShare DataShareArn=${SHARE_ARN} ConsumerIdentifier=388856629077`],
    },
    {
      name: 'a consumer removed: deauthorize, then revoke usage',
      have: [
        schema(),
        table(),
        table({ name: 'accounts' }),
        share({
          arn: SHARE_ARN,
          consumers: [{ type: 'account', id: '388856629077', viaDataCatalog: false, status: 'active' }],
        }),
      ],
      want: [schema(), table(), table({ name: 'accounts' }), share({ consumers: [] })],
      sql: [
        `DeauthorizeDataShare DataShareArn=${SHARE_ARN} ConsumerIdentifier=388856629077`,
        'REVOKE USAGE ON DATASHARE "toplyne_share" FROM ACCOUNT \'388856629077\'',
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(sqlOf(c.have, c.want)).toEqual(c.sql);
    });
  }

  it('drops: table, schema, user, group, datashare', () => {
    const ch = (before: Resource): Change => ({
      address: 'x',
      connection: 'w',
      kind: before.kind,
      action: 'delete',
      destructive: true,
      reasons: [],
      fields: [],
      statements: [],
      dependsOn: [],
      before,
      after: null,
    });
    const sql = [
      table(),
      schema(),
      { kind: 'role', name: 'heap', login: true, memberOf: [], passwordRef: null } as Resource,
      { kind: 'role', name: 'analysts', login: false, memberOf: [], passwordRef: null } as Resource,
      share(),
    ].map((r) => compileRedshift(ch(r), { namespaceArn: NS })[0]!.sql);
    expect(sql).toEqual([
      'DROP TABLE "toplyne"."events"',
      'DROP SCHEMA "toplyne" RESTRICT',
      'DROP USER "heap"',
      'DROP GROUP "analysts"',
      'DROP DATASHARE "toplyne_share"',
    ]);
  });

  it('marks ALTER COLUMN TYPE as non-transactional and control-plane calls as API calls', () => {
    const { changes } = diff({
      connection: 'w',
      live: [schema(), table()],
      desired: [
        schema(),
        table({
          columns: table().columns.map((c) =>
            c.name === 'event_name' ? { ...c, type: 'character varying(512)' } : c,
          ),
        }),
      ],
      capabilities: REDSHIFT_CAPABILITIES,
    });
    expect(compileRedshift(changes[0]!, { namespaceArn: NS })[0]!.transactional).toBe(false);
    const created = diff({
      connection: 'w',
      live: [schema(), table()],
      desired: [schema(), table(), share({ tables: ['toplyne.events'] })],
      capabilities: REDSHIFT_CAPABILITIES,
    });
    const api = compileRedshift(created.changes[0]!, { namespaceArn: NS }).find((s) => s.api);
    expect(api?.api).toEqual({
      service: 'redshift',
      operation: 'AuthorizeDataShare',
      input: { DataShareArn: SHARE_ARN, ConsumerIdentifier: '388856629077' },
    });
  });

  // https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_DATASHARE.html: SET PUBLICACCESSIBLE
  // on an existing share is reported not to run in a transaction block, so it is submitted alone;
  // CREATE DATASHARE … SET PUBLICACCESSIBLE stays in the batch with the share's other statements.
  it('marks ALTER DATASHARE … SET PUBLICACCESSIBLE as non-transactional, alone in its change', () => {
    const { changes } = diff({
      connection: 'w',
      live: [schema(), table(), share()],
      desired: [schema(), table(), share({ publicAccessible: false })],
      capabilities: REDSHIFT_CAPABILITIES,
    });
    expect(changes.map((c) => c.address)).toEqual(['w.datashare:toplyne_share']);
    expect(compileRedshift(changes[0]!, { namespaceArn: NS })).toEqual([
      { sql: 'ALTER DATASHARE "toplyne_share" SET PUBLICACCESSIBLE = FALSE', transactional: false },
    ]);
    const created = diff({
      connection: 'w',
      live: [schema(), table()],
      desired: [schema(), table(), share({ tables: ['toplyne.events'] })],
      capabilities: REDSHIFT_CAPABILITIES,
    });
    const first = compileRedshift(created.changes[0]!, { namespaceArn: NS })[0]!;
    expect(first).toEqual({ sql: 'CREATE DATASHARE "toplyne_share" SET PUBLICACCESSIBLE = TRUE' });
  });

  // `all` expands to what each statement accepts. ALTER DEFAULT PRIVILEGES … ON TABLES:
  // SELECT, INSERT, UPDATE, DELETE, DROP, REFERENCES, TRUNCATE, no ALTER
  // (https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_DEFAULT_PRIVILEGES.html); GRANT …
  // ON TABLE adds ALTER (https://docs.aws.amazon.com/redshift/latest/dg/r_GRANT.html).
  it('expands all to the privileges each statement accepts', () => {
    const grant: Resource = {
      kind: 'grant',
      objectType: 'table',
      object: 'toplyne.events',
      grantee: 'bi',
      privileges: ['all'],
      granteeType: 'user',
    };
    const defaults: Resource = {
      kind: 'default_privileges',
      forRole: 'loader',
      schema: 'toplyne',
      objectType: 'tables',
      grantee: 'bi',
      privileges: ['all'],
      granteeType: 'user',
    };
    const live = [schema(), table()];
    expect(sqlOf(live, [...live, grant])).toEqual([
      'GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, ALTER, DROP ON TABLE "toplyne"."events" TO "bi"',
    ]);
    expect(sqlOf(live, [...live, defaults])).toEqual([
      'ALTER DEFAULT PRIVILEGES FOR USER "loader" IN SCHEMA "toplyne" GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, DROP ON TABLES TO "bi"',
    ]);
    // Read back as the seven privileges, `all` converges: no change.
    const seven = ['select', 'insert', 'update', 'delete', 'truncate', 'references', 'drop'];
    expect(sqlOf([...live, { ...defaults, privileges: seven }], [...live, defaults])).toEqual([]);
  });

  it('quotes hostile identifiers', () => {
    const sql = sqlOf([], [{ kind: 'schema', name: 'a"; DROP TABLE x; --', owner: null }]);
    expect(sql).toEqual(['CREATE SCHEMA "a""; DROP TABLE x; --"']);
  });
});
