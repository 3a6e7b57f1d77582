// Sync state: keyed by destination table and sync name, adopted from the earlier name-keyed
// layout, and never shown in plans as an unmanaged schema. Real PostgreSQL.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planConfig } from '../src/commands/plan.js';
import { loadConfigText } from '../src/config/load.js';
import { runSyncs } from '../src/sync/run.js';
import { keysTableName } from '../src/sync/state.js';
import { startTestServer, type TestServer } from './support/pg.js';
import { type SyncFixture, syncFixture } from './support/sync-fixture.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const DDL = `
CREATE SCHEMA raw; CREATE SCHEMA a; CREATE SCHEMA b;
CREATE TABLE raw.events (event_id bigint NOT NULL, updated_at timestamp NOT NULL);
CREATE TABLE a.events (LIKE raw.events); CREATE TABLE b.events (LIKE raw.events);
INSERT INTO raw.events SELECT g, '2026-01-01'::timestamp + g * interval '1 hour' FROM generate_series(1, 10) g;`;

const eventsInto = (table: string) => `- name: events
  from: { table: raw.events }
  to: { table: ${table} }
  mode: append
  cursor: { column: updated_at }`;

async function count(f: SyncFixture, table: string): Promise<number> {
  return Number((await f.dst.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
}

describe('sync state', () => {
  it('two files with a sync of the same name into different tables keep separate watermarks', async () => {
    const f = await syncFixture(server, false);
    try {
      await f.dst.query(DDL);
      const first = f.config(eventsInto('a.events'));
      expect((await runSyncs(first)).syncs[0]!.rows.inserted).toBe(10);
      await f.dst.query(
        "INSERT INTO raw.events SELECT g, '2026-01-01'::timestamp + g * interval '1 hour' FROM generate_series(11, 12) g",
      );
      // The second file's sync has never run: it loads everything, not only the two new rows.
      const second = f.config(eventsInto('b.events'));
      expect((await runSyncs(second)).syncs[0]!.rows.inserted).toBe(12);
      expect((await runSyncs(first)).syncs[0]!.rows.inserted).toBe(2);
      expect(await count(f, 'a.events')).toBe(12);
      expect(await count(f, 'b.events')).toBe(12);
      const { rows } = await f.dst.query(
        'SELECT target, name, watermark FROM wharf_state.sync_state ORDER BY target',
      );
      expect(rows).toEqual([
        { target: '"a"."events"', name: 'events', watermark: '2026-01-01 12:00:00' },
        { target: '"b"."events"', name: 'events', watermark: '2026-01-01 12:00:00' },
      ]);
    } finally {
      await f.close();
    }
  });

  it('adopts a watermark of the earlier name-keyed layout once, then removes it', async () => {
    const f = await syncFixture(server, false);
    try {
      await f.dst.query(DDL);
      // The earlier layout: rows 1..6 loaded, watermark at row 6.
      await f.dst.query(`CREATE SCHEMA wharf_state;
        CREATE TABLE wharf_state.syncs (name text PRIMARY KEY, mode text NOT NULL, watermark text, last_sequence text,
          rows_loaded bigint NOT NULL DEFAULT 0, updated_at timestamptz NOT NULL DEFAULT now());
        INSERT INTO wharf_state.syncs (name, mode, watermark) VALUES ('events', 'append', '2026-01-01 06:00:00');
        INSERT INTO a.events SELECT * FROM raw.events WHERE event_id <= 6;`);
      const loaded = f.config(eventsInto('a.events'));
      const r = await runSyncs(loaded);
      expect(r.syncs[0]!.rows.inserted).toBe(4);
      expect(await count(f, 'a.events')).toBe(10);
      expect((await f.dst.query('SELECT * FROM wharf_state.syncs')).rows).toEqual([]);
      expect((await f.dst.query('SELECT watermark FROM wharf_state.sync_state')).rows).toEqual([
        { watermark: '2026-01-01 10:00:00' },
      ]);
      // The next run reads its own row.
      expect((await runSyncs(loaded)).syncs[0]!.rows.inserted).toBe(0);
    } finally {
      await f.close();
    }
  });

  it('wharf_state is not reported by plan, and a file may not declare it', async () => {
    const f = await syncFixture(server, false);
    try {
      await f.dst.query(DDL);
      f.config(eventsInto('a.events'));
      const text = fs.readFileSync(f.file, 'utf8').replace('syncs:', 'schemas:\n  - name: vendor\nsyncs:');
      expect((await runSyncs(loadConfigText(text, f.file).loaded!)).ok).toBe(true);
      expect(
        (await f.dst.query("SELECT to_regclass('wharf_state.sync_state') IS NOT NULL AS ok")).rows[0],
      ).toEqual({ ok: true });
      const run = await planConfig(loadConfigText(text, f.file).loaded!);
      await run.close();
      expect(JSON.stringify(run.plan)).not.toContain('wharf_state');
      expect(run.plan.changes.map((c) => `${c.action} ${c.address}`)).toEqual([
        'create warehouse.schema:vendor',
      ]);

      const declared = loadConfigText(text.replace('- name: vendor', '- name: wharf_state'), f.file);
      expect(declared.diagnostics.map((d) => d.message)).toContain(
        'schema "wharf_state" is where wharf keeps its own state (sync watermarks, locks) and cannot be declared',
      );
    } finally {
      await f.close();
    }
  });

  it('names cdc key tables after the destination table and the sync, within 63 bytes', () => {
    expect(keysTableName({ schema: 'analytics', name: 'cart' }, 'cart')).toBe('cdc_analytics_cart_cart');
    const long = keysTableName({ schema: 's'.repeat(40), name: 't'.repeat(40) }, 'n');
    expect(Buffer.byteLength(long)).toBe(63);
    expect(long).not.toBe(keysTableName({ schema: 's'.repeat(40), name: 't'.repeat(40) }, 'm'));
  });
});
