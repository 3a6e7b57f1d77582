// The vendors' export conventions (src/sync/export/conventions.ts): every rule stays silent on
// the column sets the vendors' own guides show (Toplyne's S3 sharing guide, Statsig's S3
// ingestion guide), and fires, with its severity and a message that names the fix, when one
// column of such a set is dropped, retyped or the partition moves.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkConventions,
  describeConvention,
  EXPORT_CONVENTIONS,
  type ExportConvention,
} from '../src/sync/export/conventions.js';

type Col = { name: string; type: string };

// Statsig's metrics table: unit_id, id_type, date, metric_name, metric_value, numerator,
// denominator, as a Redshift export would carry them (format_type spelling).
const STATSIG_METRICS: Col[] = [
  { name: 'unit_id', type: 'character varying(256)' },
  { name: 'id_type', type: 'character varying(64)' },
  { name: 'date', type: 'date' },
  { name: 'metric_name', type: 'character varying(127)' },
  { name: 'metric_value', type: 'double precision' },
  { name: 'numerator', type: 'double precision' },
  { name: 'denominator', type: 'double precision' },
];
// Toplyne's sample event table: USER_ID, ACCOUNT_ID, EVENT_NAME, TIMESTAMP, UPDATED_AT,
// EVENT_PROPERTIES (JSON), folded as the catalog returns them.
const TOPLYNE_EVENTS: Col[] = [
  { name: 'user_id', type: 'bigint' },
  { name: 'account_id', type: 'bigint' },
  { name: 'event_name', type: 'character varying(256)' },
  { name: 'timestamp', type: 'timestamp without time zone' },
  { name: 'updated_at', type: 'timestamp without time zone' },
  { name: 'event_properties', type: 'super' },
];
// Toplyne's sample user table and account table.
const TOPLYNE_USERS: Col[] = [
  { name: 'user_id', type: 'bigint' },
  { name: 'user_creation_time', type: 'timestamp without time zone' },
  { name: 'updated_at', type: 'timestamp without time zone' },
  { name: 'email', type: 'character varying(256)' },
  { name: 'country', type: 'character varying(64)' },
  { name: 'current_plan', type: 'text' },
];
const TOPLYNE_ACCOUNTS: Col[] = [
  { name: 'account_id', type: 'integer' },
  { name: 'account_creation_time', type: 'timestamp with time zone' },
  { name: 'updated_at', type: 'timestamp with time zone' },
  { name: 'account_name', type: 'character varying(256)' },
  { name: 'country', type: 'character(2)' },
  { name: 'plan', type: 'character varying(64)' },
];

const without = (cols: Col[], ...names: string[]) => cols.filter((c) => !names.includes(c.name));
const retype = (cols: Col[], name: string, type: string) =>
  cols.map((c) => (c.name === name ? { name, type } : c));
/** The findings without their messages, for exact comparison. */
const brief = (conv: ExportConvention, cols: Col[], partitionBy?: string) =>
  checkConventions(conv, cols, partitionBy).map(({ column, severity }) => ({ column, severity }));
const only = (conv: ExportConvention, cols: Col[], partitionBy?: string) => {
  const found = checkConventions(conv, cols, partitionBy);
  expect(found).toHaveLength(1);
  return found[0]!;
};

describe('statsig-metrics', () => {
  it('is silent on the full metrics schema, and on a string date', () => {
    expect(checkConventions('statsig-metrics', STATSIG_METRICS)).toEqual([]);
    expect(
      checkConventions('statsig-metrics', retype(STATSIG_METRICS, 'date', 'character varying(10)')),
    ).toEqual([]);
  });

  it('requires unit_id, id_type, date and metric_name, each named with the fix', () => {
    for (const name of ['unit_id', 'id_type', 'date', 'metric_name']) {
      const f = only('statsig-metrics', without(STATSIG_METRICS, name));
      expect(f).toMatchObject({ column: name, severity: 'error' });
      expect(f.message).toMatch(new RegExp(`^${name} is missing: .*add it to the export$`));
    }
  });

  it('refuses non-string ids and names, with the cast to write', () => {
    const f = only('statsig-metrics', retype(STATSIG_METRICS, 'unit_id', 'bigint'));
    expect(f).toMatchObject({ column: 'unit_id', severity: 'error' });
    expect(f.message).toContain(`cast it in the sync's query: "unit_id"::varchar`);
    expect(brief('statsig-metrics', retype(STATSIG_METRICS, 'id_type', 'integer'))).toEqual([
      { column: 'id_type', severity: 'error' },
    ]);
    const n = only('statsig-metrics', retype(STATSIG_METRICS, 'metric_name', 'jsonb'));
    expect(n).toMatchObject({ column: 'metric_name', severity: 'error' });
    expect(n.message).toContain('"metric_name"::varchar(127)');
  });

  it('warns that padded character ids do not match logged unit ids', () => {
    const f = only('statsig-metrics', retype(STATSIG_METRICS, 'unit_id', 'character(36)'));
    expect(f).toMatchObject({ column: 'unit_id', severity: 'warning' });
    expect(f.message).toContain('rtrim("unit_id")::varchar');
  });

  it('refuses a timestamp or number as the date', () => {
    for (const type of ['timestamp without time zone', 'integer']) {
      const f = only('statsig-metrics', retype(STATSIG_METRICS, 'date', type));
      expect(f).toMatchObject({ column: 'date', severity: 'error' });
      expect(f.message).toContain(`"date"::date`);
    }
  });

  it('warns when metric_name may reach 128 characters, and not at 127', () => {
    for (const type of ['character varying(128)', 'character varying(256)', 'text', 'character varying']) {
      const f = only('statsig-metrics', retype(STATSIG_METRICS, 'metric_name', type));
      expect(f).toMatchObject({ column: 'metric_name', severity: 'warning' });
      expect(f.message).toContain('varchar(127)');
    }
    expect(
      checkConventions('statsig-metrics', retype(STATSIG_METRICS, 'metric_name', 'character varying(127)')),
    ).toEqual([]);
  });

  it('refuses every value column that is not a double, integers and numerics included', () => {
    for (const col of ['metric_value', 'numerator', 'denominator'])
      for (const type of ['bigint', 'integer', 'numeric(18,4)', 'real', 'character varying(32)']) {
        const f = only('statsig-metrics', retype(STATSIG_METRICS, col, type));
        expect(f).toMatchObject({ column: col, severity: 'error' });
        expect(f.message).toContain(`cast it in the sync's query: "${col}"::double precision`);
      }
  });

  it('needs metric_value or both numerator and denominator', () => {
    const none = only(
      'statsig-metrics',
      without(STATSIG_METRICS, 'metric_value', 'numerator', 'denominator'),
    );
    expect(none).toMatchObject({ column: 'metric_value', severity: 'error' });
    expect(none.message).toContain('metric_value, or both numerator and denominator');
    expect(brief('statsig-metrics', without(STATSIG_METRICS, 'metric_value', 'denominator'))).toEqual([
      { column: 'denominator', severity: 'error' },
    ]);
    expect(brief('statsig-metrics', without(STATSIG_METRICS, 'metric_value', 'numerator'))).toEqual([
      { column: 'numerator', severity: 'error' },
    ]);
  });

  it('warns about a lone numerator beside metric_value, and asks for omitted value columns as null doubles', () => {
    const lone = only('statsig-metrics', without(STATSIG_METRICS, 'denominator'));
    expect(lone).toMatchObject({ column: 'numerator', severity: 'warning' });
    expect(lone.message).toContain('ignored');
    expect(brief('statsig-metrics', without(STATSIG_METRICS, 'numerator', 'denominator'))).toEqual([
      { column: 'numerator', severity: 'warning' },
      { column: 'denominator', severity: 'warning' },
    ]);
    const ratio = only('statsig-metrics', without(STATSIG_METRICS, 'metric_value'));
    expect(ratio).toMatchObject({ column: 'metric_value', severity: 'warning' });
    expect(ratio.message).toContain('cast(null as double precision) as "metric_value"');
  });
});

// Statsig's S3 events, as its guide names them: `timestamp` (a UTC timestamp) and `event_name`
// (under 128 characters), next to the unit ids, a value and metadata it passes through
// (https://docs.statsig.com/integrations/data-imports/redshift).
const STATSIG_EVENTS: Col[] = [
  { name: 'user_id', type: 'character varying(256)' },
  { name: 'event_name', type: 'character varying(127)' },
  { name: 'event_value', type: 'character varying(256)' },
  { name: 'event_metadata', type: 'jsonb' },
  { name: 'timestamp', type: 'timestamp without time zone' },
];

describe('statsig-events', () => {
  it("is silent on Statsig's event columns, with a timestamp with or without time zone", () => {
    expect(checkConventions('statsig-events', STATSIG_EVENTS, 'timestamp')).toEqual([]);
    expect(
      checkConventions(
        'statsig-events',
        retype(STATSIG_EVENTS, 'timestamp', 'timestamp with time zone'),
        'timestamp',
      ),
    ).toEqual([]);
    expect(describeConvention('statsig-events')).toContain('event_name');
  });
  it('needs the time and the name of each event', () => {
    const noTime = only('statsig-events', without(STATSIG_EVENTS, 'timestamp'));
    expect(noTime).toMatchObject({ column: 'timestamp', severity: 'error' });
    expect(noTime.message).toContain('timestamp is missing');
    expect(only('statsig-events', without(STATSIG_EVENTS, 'event_name'))).toMatchObject({
      column: 'event_name',
      severity: 'error',
    });
  });
  it('refuses an epoch number as the time, and names the conversion', () => {
    const epoch = only('statsig-events', retype(STATSIG_EVENTS, 'timestamp', 'bigint'));
    expect(epoch).toMatchObject({ column: 'timestamp', severity: 'error' });
    expect(epoch.message).toContain('to_timestamp("timestamp")');
  });
  it('warns when event_name may hold 128 characters or more, and refuses a number', () => {
    expect(only('statsig-events', retype(STATSIG_EVENTS, 'event_name', 'text'))).toMatchObject({
      column: 'event_name',
      severity: 'warning',
    });
    expect(only('statsig-events', retype(STATSIG_EVENTS, 'event_name', 'integer'))).toMatchObject({
      column: 'event_name',
      severity: 'error',
    });
  });
});

describe('toplyne-events', () => {
  it("is silent on Toplyne's sample event table partitioned on timestamp", () => {
    expect(checkConventions('toplyne-events', TOPLYNE_EVENTS, 'timestamp')).toEqual([]);
    expect(
      checkConventions('toplyne-events', without(TOPLYNE_EVENTS, 'event_properties'), 'timestamp'),
    ).toEqual([]);
    expect(
      checkConventions('toplyne-events', retype(TOPLYNE_EVENTS, 'event_properties', 'jsonb'), 'timestamp'),
    ).toEqual([]);
  });

  it('requires user_id, event_name, timestamp and updated_at', () => {
    for (const name of ['user_id', 'event_name', 'timestamp', 'updated_at']) {
      const f = only('toplyne-events', without(TOPLYNE_EVENTS, name), 'timestamp');
      expect(f).toMatchObject({ column: name, severity: 'error' });
      expect(f.message).toMatch(new RegExp(`^${name} is missing: Toplyne needs .*add it to the export$`));
    }
  });

  it('warns that account-level analytics need account_id', () => {
    const f = only('toplyne-events', without(TOPLYNE_EVENTS, 'account_id'), 'timestamp');
    expect(f).toMatchObject({ column: 'account_id', severity: 'warning' });
    expect(f.message).toContain('account-level analytics');
  });

  it('refuses timestamp and updated_at that are not timestamps', () => {
    for (const [col, type] of [
      ['timestamp', 'character varying(32)'],
      ['timestamp', 'bigint'],
      ['timestamp', 'date'],
      ['updated_at', 'character varying(32)'],
    ] as const) {
      const f = only('toplyne-events', retype(TOPLYNE_EVENTS, col, type), 'timestamp');
      expect(f).toMatchObject({ column: col, severity: 'error' });
      expect(f.message).toContain(`cast it in the sync's query: "${col}"::timestamp`);
    }
  });

  it('warns when event_properties is not JSON', () => {
    const f = only('toplyne-events', retype(TOPLYNE_EVENTS, 'event_properties', 'integer'), 'timestamp');
    expect(f).toMatchObject({ column: 'event_properties', severity: 'warning' });
    expect(f.message).toContain('JSON');
  });

  it('warns unless partitioned on timestamp', () => {
    const none = only('toplyne-events', TOPLYNE_EVENTS);
    expect(none).toMatchObject({ column: 'timestamp', severity: 'warning' });
    expect(none.message).toContain("set the destination's partition to timestamp");
    const other = only('toplyne-events', TOPLYNE_EVENTS, 'updated_at');
    expect(other).toMatchObject({ column: 'updated_at', severity: 'warning' });
    expect(other.message).toContain('partition on timestamp instead');
  });
});

describe('toplyne-profiles', () => {
  it("is silent on Toplyne's sample user and account tables partitioned on updated_at", () => {
    expect(checkConventions('toplyne-profiles', TOPLYNE_USERS, 'updated_at')).toEqual([]);
    expect(checkConventions('toplyne-profiles', TOPLYNE_ACCOUNTS, 'updated_at')).toEqual([]);
    expect(
      checkConventions('toplyne-profiles', without(TOPLYNE_USERS, 'user_creation_time'), 'updated_at'),
    ).toEqual([]);
  });

  it('requires a user_id or account_id key', () => {
    const f = only('toplyne-profiles', without(TOPLYNE_USERS, 'user_id'), 'updated_at');
    expect(f).toMatchObject({ column: 'user_id', severity: 'error' });
    expect(f.message).toContain('user_id or account_id is missing');
  });

  it('requires updated_at as a timestamp', () => {
    const gone = checkConventions('toplyne-profiles', without(TOPLYNE_USERS, 'updated_at'), 'updated_at');
    expect(gone).toEqual([
      expect.objectContaining({
        column: 'updated_at',
        severity: 'error',
        message: expect.stringMatching(/^updated_at is missing/),
      }),
    ]);
    const text = only('toplyne-profiles', retype(TOPLYNE_USERS, 'updated_at', 'text'), 'updated_at');
    expect(text).toMatchObject({ column: 'updated_at', severity: 'error' });
    expect(text.message).toContain('"updated_at"::timestamp');
  });

  it('warns when a creation time is not a timestamp', () => {
    const f = only(
      'toplyne-profiles',
      retype(TOPLYNE_ACCOUNTS, 'account_creation_time', 'character varying(32)'),
      'updated_at',
    );
    expect(f).toMatchObject({ column: 'account_creation_time', severity: 'warning' });
  });

  it('warns unless partitioned on updated_at', () => {
    expect(brief('toplyne-profiles', TOPLYNE_USERS)).toEqual([{ column: 'updated_at', severity: 'warning' }]);
    expect(brief('toplyne-profiles', TOPLYNE_USERS, 'user_creation_time')).toEqual([
      { column: 'user_creation_time', severity: 'warning' },
    ]);
  });
});

describe('describeConvention and the documentation', () => {
  const doc = fs.readFileSync(path.join(import.meta.dirname, '..', 'docs', 'export-conventions.md'), 'utf8');

  it('gives every convention one line naming its key columns', () => {
    const keys: Record<ExportConvention, string[]> = {
      'statsig-metrics': ['unit_id', 'id_type', 'date', 'metric_name', 'metric_value', 'double precision'],
      'statsig-events': ['timestamp', 'event_name', 'under 128 characters'],
      'toplyne-events': ['user_id', 'event_name', 'timestamp', 'updated_at', 'partitioned on timestamp'],
      'toplyne-profiles': ['user_id or account_id', 'updated_at', 'partitioned on updated_at'],
    };
    for (const conv of EXPORT_CONVENTIONS) {
      const line = describeConvention(conv);
      expect(line).not.toContain('\n');
      for (const k of keys[conv]) expect(line).toContain(k);
    }
  });

  it('documents every convention under its own heading', () => {
    for (const conv of EXPORT_CONVENTIONS) expect(doc).toMatch(new RegExp(`^## \`${conv}\`$`, 'm'));
  });
});
