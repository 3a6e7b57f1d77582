// The sync runner against a real PostgreSQL server, same engine and across connections: each
// mode's result equals a reference computed from the source alone, over several rounds of
// changes with equal timestamps, late rows, duplicated and out-of-order CDC events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSyncs } from '../src/sync/run.js';
import { startTestServer, type TestServer } from './support/pg.js';
import {
  ALL_SYNCS,
  DEST_DDL,
  expectReference,
  type REFERENCE,
  rng,
  SOURCE_DDL,
  SourceWriter,
} from './support/sync-data.js';
import { type SyncFixture, syncFixture } from './support/sync-fixture.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

async function setup(cross: boolean): Promise<SyncFixture> {
  const f = await syncFixture(server, cross);
  await f.src.query(SOURCE_DDL);
  await f.dst.query(DEST_DDL);
  return f;
}

const expectMatches = (f: SyncFixture, names: (keyof typeof REFERENCE)[]) =>
  expectReference(f.src, f.dst, names);

describe.each([
  ['same engine', false],
  ['across connections', true],
])('sync modes (%s)', (_label, cross) => {
  it('append, merge, cdc and full equal their references after every round', async () => {
    const f = await setup(cross);
    try {
      const loaded = f.config(ALL_SYNCS);
      const w = new SourceWriter(f.src, rng(cross ? 7 : 3));
      for (let round = 0; round < 6; round++) {
        await w.round(round === 2 ? 0 : 25);
        if (round === 5) await w.flush();
        const res = await runSyncs(loaded, { batchRows: 7 });
        expect(res.syncs.map((s) => [s.name, s.status, s.error])).toEqual([
          ['events', 'ok', undefined],
          ['users', 'ok', undefined],
          ['cart', 'ok', undefined],
          ['users_full', 'ok', undefined],
        ]);
        // Held-back CDC events arrive later, so cart matches only once they are all in.
        await expectMatches(
          f,
          round === 5 ? ['events', 'users', 'cart', 'users_full'] : ['events', 'users', 'users_full'],
        );
      }
      // A run that finds nothing new changes nothing.
      const again = await runSyncs(loaded, { batchRows: 7 });
      for (const s of again.syncs.filter((x) => x.mode !== 'full'))
        expect({ name: s.name, rows: s.rows }).toEqual({
          name: s.name,
          rows: { inserted: 0, updated: 0, deleted: 0 },
        });
      await expectMatches(f, ['events', 'users', 'cart', 'users_full']);
    } finally {
      await f.close();
    }
  });

  it('ties: rows that arrive later with a cursor equal to the stored watermark are loaded by the next run', async () => {
    const f = await setup(cross);
    try {
      const loaded = f.config(`- name: events
  from: { $FROMtable: raw.events }
  to: { table: analytics.events }
  mode: append
  cursor: { column: updated_at }
- name: users
  from: { $FROMtable: raw.users }
  to: { table: analytics.users }
  mode: merge
  primaryKey: [user_id]
  cursor: { column: updated_at }`);
      const t = '2026-03-01 10:00:00';
      await f.src.query(`INSERT INTO raw.events VALUES (1, 1, 'a', $1), (2, 1, 'b', $1)`, [t]);
      await f.src.query(`INSERT INTO raw.users VALUES (1, 'a@x', 'free', $1)`, [t]);
      const first = await runSyncs(loaded, { batchRows: 1 });
      expect(first.syncs.map((s) => s.watermark)).toEqual([t, t]);
      // Later, rows with exactly the watermark's value, and an in-place update at the same instant.
      await f.src.query(`INSERT INTO raw.events VALUES (3, 2, 'c', $1), (2, 1, 'b', $1)`, [t]);
      await f.src.query(`INSERT INTO raw.users VALUES (2, 'b@x', 'pro', $1)`, [t]);
      await f.src.query(`UPDATE raw.users SET plan = 'pro' WHERE user_id = 1`);
      const second = await runSyncs(loaded, { batchRows: 1 });
      expect(second.syncs.map((s) => s.rows)).toEqual([
        { inserted: 2, updated: 0, deleted: 0 },
        { inserted: 1, updated: 1, deleted: 0 },
      ]);
      await expectMatches(f, ['events', 'users']);
    } finally {
      await f.close();
    }
  });
});
