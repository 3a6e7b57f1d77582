// merge's inserted / updated counts into a partitioned destination, on one connection and
// across two. On PostgreSQL 15 and 16 (WHARF_TEST_PG_BIN) merge runs a plain MERGE and takes
// the split from the transaction's row counters of the table and its partitions; on 17+ from
// MERGE … RETURNING. Either way the counts are the rows that changed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSyncs } from '../src/sync/run.js';
import { startTestServer, type TestServer } from './support/pg.js';
import { withSyncFixture } from './support/sync-fixture.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

describe.each([
  ['same engine', false],
  ['across connections', true],
])('merge counts into a partitioned destination (%s)', (_label, cross) => {
  it('inserted and updated are the rows that changed, partition by partition', async () => {
    await withSyncFixture(server, cross, async (f) => {
      await f.dst.query(`CREATE TABLE analytics.users_parts (user_id bigint, email text, plan text, updated_at timestamp NOT NULL,
          PRIMARY KEY (user_id)) PARTITION BY RANGE (user_id);
        CREATE TABLE analytics.users_parts_low PARTITION OF analytics.users_parts FOR VALUES FROM (0) TO (100);
        CREATE TABLE analytics.users_parts_high PARTITION OF analytics.users_parts FOR VALUES FROM (100) TO (MAXVALUE);`);
      const loaded = f.config(`- name: users
  from: { $FROMtable: raw.users }
  to: { table: analytics.users_parts }
  mode: merge
  primaryKey: [user_id]
  cursor: { column: updated_at }`);
      await f.src.query(`INSERT INTO raw.users VALUES (1, 'a', 'free', '2026-01-01'), (150, 'b', 'free', '2026-01-01'),
        (2, 'c', 'free', '2026-01-01')`);
      const first = await runSyncs(loaded);
      expect(first.syncs[0]!.error).toBeUndefined();
      expect(first.syncs[0]!.rows).toEqual({ inserted: 3, updated: 0, deleted: 0 });
      await f.src.query(`UPDATE raw.users SET plan = 'pro', updated_at = '2026-01-02' WHERE user_id IN (1, 150);
        INSERT INTO raw.users VALUES (151, 'd', 'free', '2026-01-02')`);
      const second = await runSyncs(loaded);
      expect(second.syncs[0]!.rows).toEqual({ inserted: 1, updated: 2, deleted: 0 });
      expect(second.syncs[0]!.read).toBe(4); // the inclusive bound re-reads 2
      const { rows } = await f.dst.query('SELECT user_id, plan FROM analytics.users_parts ORDER BY 1');
      expect(rows.map((r) => `${r.user_id}:${r.plan}`)).toEqual(['1:pro', '2:free', '150:pro', '151:free']);
      // Nothing new: nothing written (the re-read boundary rows are equal).
      expect((await runSyncs(loaded)).syncs[0]!.rows).toEqual({ inserted: 0, updated: 0, deleted: 0 });
    });
  });
});
