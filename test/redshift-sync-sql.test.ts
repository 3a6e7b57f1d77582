// The statements of a sync inside Redshift, checked as text where the Redshift reference has
// rules the PostgreSQL stand-in cannot enforce.
import { describe, expect, it } from 'vitest';
import {
  fingerprint,
  type RedshiftRunInput,
  redshiftLiteral,
  redshiftRunStatements,
} from '../src/providers/redshift/sync-sql.js';
import type { ColumnInfo } from '../src/sync/catalog.js';
import { syncKey } from '../src/sync/state.js';

const col = (name: string, type: string, category: string): ColumnInfo => ({
  name,
  type,
  category,
  notNull: false,
});

function input(over: Partial<RedshiftRunInput> = {}, width = 4): RedshiftRunInput {
  const columns = [
    col('user_id', 'bigint', 'N'),
    col('updated_at', 'timestamp without time zone', 'D'),
    col('active', 'boolean', 'B'),
    col('props', 'super', 'U'),
    ...Array.from({ length: width - 4 }, (_, i) => col(`c${i}`, 'character varying(65535)', 'S')),
  ];
  return {
    shape: {
      mode: 'merge',
      target: { schema: 'analytics', name: 'users' },
      columns: columns.map((c) => c.name),
      key: ['user_id'],
      cursor: { column: 'updated_at', type: 'timestamp without time zone' },
    },
    relation: '"raw"."users"',
    key: syncKey('users', { schema: 'analytics', name: 'users' }),
    readColumns: columns,
    stored: { watermark: '2026-01-01 00:00:00', lastSequence: null, exists: true, runId: 'r1' },
    fullRefresh: false,
    dryRun: false,
    runId: 'r2',
    stateExists: true,
    keysExist: true,
    ...over,
  };
}

describe('Redshift sync statements', () => {
  it('LOCK the state table first (the snapshot starts with the first statement), and drop nothing before creating', () => {
    const { sqls } = redshiftRunStatements(input());
    expect(sqls[0]).toBe('LOCK wharf_state.sync_state');
    const firstCreate = sqls.findIndex((s) => s.startsWith('CREATE TEMP TABLE'));
    expect(sqls.slice(0, firstCreate).some((s) => s.startsWith('DROP'))).toBe(false);
    expect(sqls.length).toBeLessThanOrEqual(40);
  });

  it('a dry run takes no lock and writes nothing', () => {
    const { sqls } = redshiftRunStatements(input({ dryRun: true }));
    expect(sqls.filter((s) => /^(LOCK|DELETE|INSERT|UPDATE|CREATE TABLE)/.test(s))).toEqual([]);
  });

  it('fingerprints keep SQL NULL apart from JSON null, hash booleans without casting them, and stay short', () => {
    const fp = fingerprint('d', input().readColumns);
    expect(fp).toContain('CASE WHEN d."props" IS NULL THEN NULL ELSE JSON_SERIALIZE(d."props") END');
    expect(fp).toContain(`CASE WHEN d."active" THEN 't' WHEN NOT d."active" THEN 'f' END`);
    expect(fp).not.toMatch(/"active"::/);
    // Under the Data API's 100 KB per statement even for a 300-column table.
    for (const s of redshiftRunStatements(input({}, 300)).sqls)
      expect(Buffer.byteLength(s)).toBeLessThan(100_000);
  });

  it('literals spell backslashes as CHR(92), read alike by Redshift and PostgreSQL', () => {
    expect(redshiftLiteral("it's")).toBe("'it''s'");
    expect(redshiftLiteral('a\\b\\')).toBe("('a' || CHR(92) || 'b' || CHR(92) || '')");
  });

  // `::` binds tighter than `||` (https://docs.aws.amazon.com/redshift/latest/dg/r_CAST_function.html,
  // https://docs.aws.amazon.com/redshift/latest/dg/r_concat_op.html): a literal spelled with
  // CHR(92) is cast as a whole, `(… || CHR(92) || …)::type`, never its last piece alone.
  it('a watermark with a backslash is cast as a whole wherever it is typed', () => {
    const cursor = { column: 'code', type: 'character varying(64)' };
    const columns = [col('id', 'bigint', 'N'), col('code', 'character varying(64)', 'S')];
    const w = "('a' || CHR(92) || 'b')";
    const typed = `${w}::character varying(64)`;
    const base = input({
      readColumns: columns,
      stored: { watermark: 'a\\b', lastSequence: null, exists: true, runId: 'r1' },
    });
    const shape = { ...base.shape, mode: 'append' as const, columns: ['id', 'code'], key: [], cursor };
    const { sqls } = redshiftRunStatements({ ...base, shape });
    const all = sqls.join('\n');
    expect(all).toContain(`COALESCE(MAX(wharf_src."code") < ${typed}, true) AS backwards`);
    expect(all).toContain(`SELECT "id", "code" FROM wharf_src WHERE "code" > ${typed}`);
    expect(all).toContain(`WHERE r."code" >= ${typed} AND r."code" <= ${typed}`);
    expect(all).toContain(
      `CASE WHEN r.high IS NULL THEN ${w} WHEN r.high::character varying(64) > ${typed} THEN r.high ELSE ${w} END`,
    );
    // The read itself (one snapshot of the source) uses the same spelling, and no E'' string.
    expect(all).toContain(`WHERE s."code" >= ${typed}`);
    expect(all).not.toMatch(/\bE'/);
    expect(all).not.toMatch(/\|\| 'b'::/);
  });

  it('a cdc sequence with a backslash is cast as a whole', () => {
    const base = input({
      stored: { watermark: null, lastSequence: 'x\\y', exists: true, runId: 'r1' },
      seqType: 'character varying(32)',
      keyTypes: ['bigint'],
    });
    const shape = {
      ...base.shape,
      mode: 'cdc' as const,
      cdc: {
        op: 'op',
        sequence: 'seq',
        insert: 'I',
        update: 'U',
        delete: 'D',
        keysTable: { schema: 'analytics', name: 'users_keys' },
      },
    };
    const readColumns = [
      ...base.readColumns,
      col('_wharf_op', 'character varying(8)', 'S'),
      col('_wharf_seq', 'character varying(32)', 'S'),
      col('_wharf_cur', 'timestamp without time zone', 'D'),
    ];
    const { sqls } = redshiftRunStatements({ ...base, shape, readColumns });
    expect(sqls.join('\n')).toContain(
      "WHEN r.high_seq::character varying(32) > ('x' || CHR(92) || 'y')::character varying(32) THEN r.high_seq",
    );
  });
});
