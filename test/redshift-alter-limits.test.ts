// The Redshift table differ against the documented ALTER TABLE limits, as golden plans: the
// action, whether it is destructive, why, and the exact statements. The limits come from
// https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE.html:
//
// - ALTER COLUMN ... TYPE: "You can't alter a column with compression encodings BYTEDICT,
//   RUNLENGTH, TEXT255, or TEXT32K", "You can't alter columns with default values", "You can't
//   alter columns with UNIQUE, PRIMARY KEY, or FOREIGN KEY". Distribution and sort key columns
//   are reported to fail too ("found unexpected dependency for column",
//   https://github.com/estuary/connectors/issues/4893).
// - ALTER COLUMN ... ENCODE: "You can't alter the encoding for a column in a table with an
//   interleaved sortkey"; ALTER DISTSTYLE ALL/EVEN and ALTER DISTKEY: "not supported for tables
//   with interleaved sort keys".
// - ALTER [COMPOUND] SORTKEY: "You can alter an interleaved sort key to a compound sort key or
//   no sort key. However, you can't alter a compound sort key to an interleaved sort key."
// - ADD COLUMN ... NOT NULL without a DEFAULT is reported to fail ("ALTER TABLE ADD COLUMN
//   defined as NOT NULL must have a non-null default expression").
//
// What Redshift cannot alter forces a replace, marked destructive and explained; ADD COLUMN
// NOT NULL without a default is refused with an error diagnostic.
import { describe, expect, it } from 'vitest';
import { diff } from '../src/plan/diff.js';
import type { ColumnSpec, Resource, TableResource } from '../src/plan/model.js';
import type { SortKey } from '../src/providers/redshift/datashare-model.js';
import { REDSHIFT_CAPABILITIES } from '../src/providers/redshift/redshift-introspector.js';
import { compileRedshift } from '../src/providers/redshift/redshift-sql.js';

const NS = 'arn:aws:redshift:us-east-1:123456789012:namespace:86b5169f-01dc-4a6f-9fbb-e2e24359e9a8';
const schema: Resource = { kind: 'schema', name: 'toplyne', owner: null };

const col = (name: string, type: string, over: Partial<ColumnSpec> = {}): ColumnSpec => ({
  name,
  type,
  nullable: true,
  default: null,
  encode: null,
  ...over,
});

/** toplyne.users of examples/toplyne-redshift.yaml, as Redshift reports it. */
function users(over: Partial<TableResource> = {}, sortKey?: SortKey): TableResource {
  return {
    kind: 'table',
    schema: 'toplyne',
    name: 'users',
    owner: null,
    columns: [
      col('user_id', 'bigint', { nullable: false, encode: 'az64' }),
      col('updated_at', 'timestamp without time zone', { nullable: false, encode: 'raw' }),
      col('country', 'character varying(64)', { encode: 'bytedict' }),
      col('plan', 'character varying(64)', { encode: 'lzo' }),
    ],
    primaryKey: null,
    partition: null,
    comment: null,
    redshift: {
      distribution: { style: 'key', key: 'user_id' },
      sortKey: sortKey ?? { type: 'compound', columns: ['updated_at'] },
    },
    ...over,
  };
}

const withColumn = (t: TableResource, name: string, over: Partial<ColumnSpec>): TableResource => ({
  ...t,
  columns: t.columns.map((c) => (c.name === name ? { ...c, ...over } : c)),
});

function plan(have: TableResource, want: TableResource) {
  const { changes, diagnostics } = diff({
    connection: 'warehouse',
    desired: [schema, want],
    live: [schema, have],
    capabilities: REDSHIFT_CAPABILITIES,
  });
  expect(changes.length).toBeLessThanOrEqual(1);
  const c = changes[0];
  return {
    action: c?.action ?? 'none',
    destructive: c?.destructive ?? false,
    reasons: c?.reasons ?? [],
    sql: c ? compileRedshift(c, { namespaceArn: NS }).map((s) => s.sql) : [],
    diagnostics: (diagnostics ?? []).map((d) => `${d.severity} ${d.code}: ${d.message}`),
  };
}

const REPLACE_TAIL = 'so the table is dropped and re-created with the new definition, and its rows are lost';

describe('VARCHAR widening (ALTER COLUMN ... TYPE) and its limits', () => {
  it('widens an LZO column in place, alone (not in a transaction block)', () => {
    const live = users();
    const p = plan(live, withColumn(live, 'plan', { type: 'character varying(128)' }));
    expect(p).toEqual({
      action: 'update',
      destructive: false,
      reasons: [],
      sql: ['ALTER TABLE "toplyne"."users" ALTER COLUMN "plan" TYPE character varying(128)'],
      diagnostics: [],
    });
  });

  it('users.country is BYTEDICT in the Toplyne example: widening it replaces the table, marked and explained', () => {
    const live = users();
    const p = plan(live, withColumn(live, 'country', { type: 'character varying(128)' }));
    expect(p.action).toBe('replace');
    expect(p.destructive).toBe(true);
    expect(p.reasons).toEqual([
      'column country cannot be widened in place to character varying(128): it is encoded BYTEDICT, and ALTER COLUMN ... TYPE refuses BYTEDICT, RUNLENGTH, TEXT255 and TEXT32K columns (to keep the rows, give it another encoding in the file, e.g. encode: zstd: wharf re-encodes it, then widens it)',
      REPLACE_TAIL,
    ]);
    // (The DISTKEY clause's own syntax is checked in redshift-sql.test.ts.)
    expect(p.sql).toEqual([
      'DROP TABLE "toplyne"."users"',
      expect.stringMatching(
        /^CREATE TABLE "toplyne"\."users" \(\n {2}"user_id" bigint ENCODE AZ64 NOT NULL,\n {2}"updated_at" timestamp without time zone ENCODE RAW NOT NULL,\n {2}"country" character varying\(128\) ENCODE BYTEDICT,\n {2}"plan" character varying\(64\) ENCODE LZO\n\)\nDISTSTYLE KEY\nDISTKEY \(?"user_id"\)?\nCOMPOUND SORTKEY \("updated_at"\)$/,
      ),
    ]);
  });

  it('re-encoded away from BYTEDICT in the same plan: ENCODE first, then TYPE, in place', () => {
    const live = users();
    const p = plan(live, withColumn(live, 'country', { type: 'character varying(128)', encode: 'zstd' }));
    expect(p).toEqual({
      action: 'update',
      destructive: false,
      reasons: [],
      sql: [
        'ALTER TABLE "toplyne"."users" ALTER COLUMN "country" ENCODE ZSTD',
        'ALTER TABLE "toplyne"."users" ALTER COLUMN "country" TYPE character varying(128)',
      ],
      diagnostics: [],
    });
  });

  it.each(['runlength', 'text255', 'text32k'])('a %s column is not widened in place either', (enc) => {
    const live = withColumn(users(), 'plan', { encode: enc });
    const p = plan(live, withColumn(live, 'plan', { type: 'character varying(65535)' }));
    expect(p.action).toBe('replace');
    expect(p.reasons[0]).toContain(`it is encoded ${enc.toUpperCase()}`);
  });

  it('re-encoded TO a BYTEDICT in the same plan: the widening would run on BYTEDICT, so replace', () => {
    const live = users();
    const p = plan(live, withColumn(live, 'plan', { type: 'character varying(128)', encode: 'bytedict' }));
    expect(p.action).toBe('replace');
    expect(p.reasons[0]).toContain('it is encoded BYTEDICT');
  });

  it('a column with a default is not widened in place', () => {
    const live = withColumn(users(), 'plan', { default: "'free'::character varying" });
    const p = plan(live, withColumn(live, 'plan', { type: 'character varying(128)' }));
    expect(p.action).toBe('replace');
    expect(p.reasons).toEqual([
      'column plan cannot be widened in place to character varying(128): it has a default, and ALTER COLUMN ... TYPE refuses columns with a default',
      REPLACE_TAIL,
    ]);
  });

  it('key columns (distribution key, sort key, primary key) are not widened in place', () => {
    const keyed = (over: Partial<TableResource>, sortKey?: SortKey) =>
      withColumn(users(over, sortKey), 'plan', { type: 'character varying(64)' });
    const cases: [TableResource, string][] = [
      [
        keyed({
          redshift: {
            distribution: { style: 'key', key: 'plan' },
            sortKey: { type: 'compound', columns: ['updated_at'] },
          },
        }),
        'it is the distribution key',
      ],
      [keyed({}, { type: 'compound', columns: ['updated_at', 'plan'] }), 'it is in the sort key'],
      // A key automatic table optimization chose is a key all the same.
      [keyed({}, { type: 'auto', columns: ['plan'] }), 'it is in the sort key'],
      [keyed({ primaryKey: ['plan'] }), 'it is in the primary key'],
    ];
    for (const [live, why] of cases) {
      const want = withColumn(
        { ...live, redshift: { ...live.redshift!, sortKey: live.redshift!.sortKey } },
        'plan',
        { type: 'character varying(128)' },
      );
      const p = plan(live, want);
      expect(p.action).toBe('replace');
      expect(p.reasons[0]).toBe(
        `column plan cannot be widened in place to character varying(128): ${why}, and ALTER COLUMN ... TYPE refuses key columns`,
      );
    }
  });
});

describe('interleaved sort keys', () => {
  const interleaved: SortKey = { type: 'interleaved', columns: ['updated_at', 'user_id'] };

  it('interleaved -> compound is altered in place (it was a drop and re-create)', () => {
    const live = users({}, interleaved);
    const p = plan(live, users({}, { type: 'compound', columns: ['updated_at'] }));
    expect(p).toEqual({
      action: 'update',
      destructive: false,
      reasons: [],
      sql: ['ALTER TABLE "toplyne"."users" ALTER COMPOUND SORTKEY ("updated_at")'],
      diagnostics: [],
    });
  });

  it('interleaved -> AUTO goes through NONE, the form the reference allows from interleaved', () => {
    const p = plan(users({}, interleaved), users({}, { type: 'auto', columns: [] }));
    expect(p.action).toBe('update');
    expect(p.sql).toEqual([
      'ALTER TABLE "toplyne"."users" ALTER SORTKEY NONE',
      'ALTER TABLE "toplyne"."users" ALTER SORTKEY AUTO',
    ]);
  });

  it('leaving interleaved makes encodings and distribution alterable: the sort key goes first', () => {
    const live = users({}, interleaved);
    const want = withColumn(
      users({
        redshift: {
          distribution: { style: 'even', key: null },
          sortKey: { type: 'compound', columns: ['updated_at'] },
        },
      }),
      'plan',
      { encode: 'zstd' },
    );
    const p = plan(live, want);
    expect(p.action).toBe('update');
    expect(p.sql).toEqual([
      'ALTER TABLE "toplyne"."users" ALTER COMPOUND SORTKEY ("updated_at")',
      'ALTER TABLE "toplyne"."users" ALTER COLUMN "plan" ENCODE ZSTD',
      'ALTER TABLE "toplyne"."users" ALTER DISTSTYLE EVEN',
    ]);
  });

  it('a distribution or encoding change on a table that stays interleaved replaces it', () => {
    const live = users({}, interleaved);
    const dist = plan(
      live,
      users({ redshift: { distribution: { style: 'all', key: null }, sortKey: interleaved } }),
    );
    expect(dist.action).toBe('replace');
    expect(dist.destructive).toBe(true);
    expect(dist.reasons).toEqual([
      'the distribution changes, and Redshift does not alter that on a table with an interleaved sort key (to keep the rows, change the sort key to compound first: that one Redshift alters in place)',
      REPLACE_TAIL,
    ]);
    const enc = plan(live, withColumn(live, 'plan', { encode: 'zstd' }));
    expect(enc.action).toBe('replace');
    expect(enc.reasons[0]).toMatch(/^column plan changes encoding, and Redshift does not alter that/);
  });

  it('compound -> interleaved cannot be altered: replace', () => {
    const p = plan(users(), users({}, interleaved));
    expect(p.action).toBe('replace');
    expect(p.reasons[0]).toBe(
      'the sort key changes from COMPOUND to INTERLEAVED, which Redshift cannot alter in place',
    );
  });
});

describe('ADD COLUMN', () => {
  it('NOT NULL without a default is refused at plan time, at the column', () => {
    const live = users();
    const want = { ...live, columns: [...live.columns, col('score', 'bigint', { nullable: false })] };
    const p = plan(live, want);
    expect(p.diagnostics).toEqual([
      `error redshift-add-not-null: warehouse.table:toplyne.users: column "score" is added NOT NULL without a default, and Redshift refuses that (ALTER TABLE ADD COLUMN defined as NOT NULL must have a non-null default expression): give it a default in the file (e.g. default: 0, or default: "''"), or add it nullable`,
    ]);
  });

  it('NOT NULL with a default is added in place, DEFAULT before ENCODE before NOT NULL', () => {
    const live = users();
    const want = {
      ...live,
      columns: [...live.columns, col('score', 'bigint', { nullable: false, default: '0', encode: 'az64' })],
    };
    expect(plan(live, want)).toEqual({
      action: 'update',
      destructive: false,
      reasons: [],
      sql: ['ALTER TABLE "toplyne"."users" ADD COLUMN "score" bigint DEFAULT 0 ENCODE AZ64 NOT NULL'],
      diagnostics: [],
    });
  });

  it('a table replaced anyway needs no refusal: CREATE TABLE takes NOT NULL without a default', () => {
    const live = users();
    const want = {
      ...withColumn(live, 'user_id', { type: 'integer' }),
      columns: [
        ...withColumn(live, 'user_id', { type: 'integer' }).columns,
        col('score', 'bigint', { nullable: false }),
      ],
    };
    const p = plan(live, want);
    expect(p.action).toBe('replace');
    expect(p.diagnostics).toEqual([]);
  });
});

describe('AUTO layouts chosen by automatic table optimization', () => {
  it('a declared AUTO sort key or distribution is no drift against the key Redshift chose', () => {
    const live = users({
      redshift: {
        distribution: { style: 'auto', key: 'user_id' },
        sortKey: { type: 'auto', columns: ['updated_at'] },
      },
    });
    const want = users({
      redshift: { distribution: { style: 'auto', key: null }, sortKey: { type: 'auto', columns: [] } },
    });
    expect(plan(live, want).action).toBe('none');
  });

  it('a file without distribution or sortKey leaves the AUTO layout alone', () => {
    const live = users({
      redshift: {
        distribution: { style: 'auto', key: 'user_id' },
        sortKey: { type: 'auto', columns: ['updated_at'] },
      },
    });
    expect(plan(live, users({ redshift: { distribution: null, sortKey: null } })).action).toBe('none');
  });

  it('a declared KEY pins what AUTO(KEY) chose: one ALTER, and the table leaves optimization', () => {
    const live = users({
      redshift: {
        distribution: { style: 'auto', key: 'user_id' },
        sortKey: { type: 'compound', columns: ['updated_at'] },
      },
    });
    const p = plan(live, users());
    expect(p.action).toBe('update');
    expect(p.sql).toHaveLength(1);
    expect(p.sql[0]).toMatch(/^ALTER TABLE "toplyne"\."users" ALTER DISTSTYLE KEY DISTKEY/);
  });
});
