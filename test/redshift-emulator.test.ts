// Rules of the AWS Redshift SQL reference that the Redshift emulator enforces, through the
// fake Data API on real PostgreSQL: statements Redshift refuses inside a transaction block fail
// inside a BatchExecuteStatement (one transaction) and run when submitted alone, and a DISTKEY
// must name a column of the table.
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DataApiTransport } from '../src/providers/redshift/data-api-transport.js';
import { startTestServer, type TestServer } from './support/pg.js';
import { type RedshiftHarness, startRedshiftHarness } from './support/redshift-harness.js';

let server: TestServer;
let h: RedshiftHarness;
let db: pg.Client;
let api: DataApiTransport;
let n = 0;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});
beforeEach(async () => {
  db = await server.client(await server.createDatabase(`emu${n++}`));
  h = await startRedshiftHarness(db);
  const opened = await h.open('rs', {
    type: 'redshift',
    cluster: 'analytics',
    database: 'dev',
    dbUser: 'admin',
  });
  api = opened.dataApi!;
});
afterEach(async () => {
  await h?.close();
  await db?.end();
});

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  throw new Error('expected the statement to fail');
}

const shareIsPublic = async () =>
  (await db.query('SELECT is_publicaccessible FROM rsemu.datashares WHERE share_name = $1', ['s'])).rows[0]
    ?.is_publicaccessible;

describe('statements not allowed in a transaction block', () => {
  // https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_DATASHARE.html (SET PUBLICACCESSIBLE,
  // reported to fail in a transaction block).
  it('ALTER DATASHARE … SET PUBLICACCESSIBLE fails in a batch, and the batch commits nothing', async () => {
    await api.query('CREATE DATASHARE "s" SET PUBLICACCESSIBLE = TRUE');
    const message = await failure(
      api.batch(['CREATE SCHEMA "x"', 'ALTER DATASHARE "s" SET PUBLICACCESSIBLE = FALSE']),
    );
    expect(message).toContain('ALTER DATASHARE SET PUBLICACCESSIBLE cannot run inside a transaction block');
    expect(await shareIsPublic()).toBe(true);
    expect((await db.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'x'`)).rowCount).toBe(0);
    // Alone, it runs.
    await api.query('ALTER DATASHARE "s" SET PUBLICACCESSIBLE = FALSE');
    expect(await shareIsPublic()).toBe(false);
  });

  // https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE.html (ALTER COLUMN … TYPE),
  // r_VACUUM_command.html, r_CREATE_DATABASE.html, r_DROP_DATABASE.html.
  it('ALTER COLUMN … TYPE, VACUUM, CREATE and DROP DATABASE fail in a batch', async () => {
    await api.query('CREATE TABLE "public"."t" (\n  "a" varchar(8)\n)');
    for (const [sql, what] of [
      ['ALTER TABLE "public"."t" ALTER COLUMN "a" TYPE varchar(16)', 'ALTER TABLE ALTER COLUMN'],
      ['VACUUM "public"."t"', 'VACUUM'],
      ['CREATE DATABASE "other"', 'CREATE DATABASE'],
      ['DROP DATABASE "other"', 'DROP DATABASE'],
    ] as const)
      expect(await failure(api.batch(['SELECT 1', sql]))).toContain(
        `${what} cannot run inside a transaction block`,
      );
    await api.query('ALTER TABLE "public"."t" ALTER COLUMN "a" TYPE varchar(16)');
    const { rows } = await db.query(
      `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'public.t'::regclass AND attname = 'a'`,
    );
    expect(rows[0]?.t).toBe('character varying(16)');
  });
});

describe('DISTKEY', () => {
  // https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_NEW.html: DISTKEY ( column_name ).
  it('CREATE TABLE refuses a DISTKEY that is not a column', async () => {
    const message = await failure(
      api.query('CREATE TABLE "public"."t" (\n  "a" bigint,\n  "b" bigint\n)\nDISTSTYLE KEY\nDISTKEY ("c")'),
    );
    expect(message).toContain('column "c" named in DISTKEY does not exist');
    expect((await db.query(`SELECT to_regclass('public.t') AS t`)).rows[0]?.t).toBeNull();
    await api.query(
      'CREATE TABLE "public"."t" (\n  "a" bigint,\n  "b" bigint\n)\nDISTSTYLE KEY\nDISTKEY ("b")',
    );
  });

  // https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE.html: ALTER DISTKEY column_name,
  // ALTER DISTSTYLE KEY DISTKEY column_name; the column without parentheses.
  it('ALTER … DISTKEY refuses a missing column and the parenthesized form', async () => {
    await api.query('CREATE TABLE "public"."t" (\n  "a" bigint,\n  "b" bigint\n)\nDISTSTYLE EVEN');
    expect(await failure(api.query('ALTER TABLE "public"."t" ALTER DISTSTYLE KEY DISTKEY "c"'))).toContain(
      'column "c" named in DISTKEY does not exist',
    );
    expect(await failure(api.query('ALTER TABLE "public"."t" ALTER DISTKEY "c"'))).toContain(
      'column "c" named in DISTKEY does not exist',
    );
    await failure(api.query('ALTER TABLE "public"."t" ALTER DISTSTYLE KEY DISTKEY ("a")'));
    await api.query('ALTER TABLE "public"."t" ALTER DISTSTYLE KEY DISTKEY "a"');
    await api.query('ALTER TABLE "public"."t" ALTER DISTKEY "b"');
    const { rows } = await db.query(
      `SELECT diststyle, distkey FROM rsemu.table_meta WHERE schema_name = 'public' AND table_name = 't'`,
    );
    expect(rows).toEqual([{ diststyle: 'key', distkey: 'b' }]);
  });
});
