// merge keeps a destination row whose copy has a later cursor than the source's (latest cursor
// wins). When the source's row went backwards (a long transaction committed an older
// updated_at after a newer copy was loaded) the run says so: a count and a few keys, in the
// text output and in --json. A source with several rows per key (a history table) re-reads
// older versions of a key beside its newest: those are not reported, across batches too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { startTestServer, type TestServer } from './support/pg.js';
import { type SyncFixture, withSyncFixture } from './support/sync-fixture.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const emails = async (f: SyncFixture) =>
  (await f.dst.query('SELECT user_id, email FROM analytics.users ORDER BY user_id')).rows.map(
    (r) => `${r.user_id}:${r.email}`,
  );

async function sync(f: SyncFixture, batchRows = 1000) {
  const text = await runCli(['sync', '-f', f.file, '--batch-rows', String(batchRows)]);
  expect(text.code).toBe(0);
  return text.stdout;
}

describe.each([
  ['same engine', false],
  ['across connections', true],
])('merge keeps rows whose source cursor went backwards (%s)', (_label, cross) => {
  it('a source keyed like the sync: the run reports the kept rows, text and --json', async () => {
    await withSyncFixture(server, cross, async (f) => {
      f.config(`- name: users
  from: { $FROMtable: raw.users }
  to: { table: analytics.users }
  mode: merge
  primaryKey: [user_id]
  cursor: { column: updated_at, lookback: 1h }`);
      await f.src.query(
        `INSERT INTO raw.users SELECT g, 'v1', 'free', '2026-01-01 10:00' FROM generate_series(1, 5) g`,
      );
      expect(await sync(f)).toContain('5 inserted');
      await f.src.query(
        `UPDATE raw.users SET email = 'v2', updated_at = '2026-01-01 10:30' WHERE user_id = 3`,
      );
      const second = await sync(f, 2);
      expect(second).toContain('0 inserted, 1 updated');
      expect(second).not.toContain('kept');
      // A late commit: older cursors than the copies already loaded (3 at 10:30, 5 at 10:00 is
      // older only for 3; 5 gets a later one, a normal update); 6 is new.
      await f.src.query(`UPDATE raw.users SET email = 'late', updated_at = '2026-01-01 10:20' WHERE user_id = 3;
        UPDATE raw.users SET email = 'v2', updated_at = '2026-01-01 10:10' WHERE user_id = 5;
        UPDATE raw.users SET email = 'late', updated_at = '2026-01-01 09:50' WHERE user_id = 2;
        INSERT INTO raw.users VALUES (6, 'v1', 'free', '2026-01-01 10:40')`);
      // 2 went from 10:00 to 09:50: also older than its loaded copy.
      const json = JSON.parse((await runCli(['sync', '-f', f.file, '--json', '--batch-rows', '2'])).stdout);
      expect(json.syncs[0].status).toBe('ok');
      expect(json.syncs[0].rows).toEqual({ inserted: 1, updated: 1, deleted: 0 });
      expect(json.syncs[0].kept).toEqual({ rows: 2, keys: ['2', '3'] });
      expect(await emails(f)).toEqual(['1:v1', '2:v1', '3:v2', '4:v1', '5:v2', '6:v1']);
      // Every later run re-reading them says so again, in text.
      const text = await sync(f);
      expect(text).toContain(
        "warning: kept 2 destination rows whose source copies have an older cursor than the destination's (keys 2, 3): the source's cursor went backwards for them",
      );
      expect(text).toContain('"Rows kept" in the README');
      // A row whose copy is not older is never reported.
      await f.src.query(
        `UPDATE raw.users SET email = 'v3', updated_at = '2026-01-01 10:45' WHERE user_id IN (2, 3)`,
      );
      const fixed = JSON.parse((await runCli(['sync', '-f', f.file, '--json'])).stdout);
      expect(fixed.syncs[0].kept).toBeUndefined();
      expect(fixed.syncs[0].rows.updated).toBe(2);
    });
  });

  it('a source with several rows per key: older versions beside the newest are not reported, even split across batches', async () => {
    await withSyncFixture(server, cross, async (f) => {
      await f.src.query(
        'CREATE TABLE raw.user_history (user_id bigint NOT NULL, email text, plan text, updated_at timestamp NOT NULL)',
      );
      f.config(`- name: users
  from: { $FROMtable: raw.user_history }
  to: { table: analytics.users }
  mode: merge
  primaryKey: [user_id]
  cursor: { column: updated_at, lookback: 1h }`);
      await f.src.query(`INSERT INTO raw.user_history VALUES
        (1, 'a1', 'free', '2026-01-01 10:00'), (2, 'b1', 'free', '2026-01-01 10:00'),
        (1, 'a2', 'free', '2026-01-01 10:30'), (2, 'b2', 'free', '2026-01-01 10:30')`);
      expect(await sync(f)).toContain('2 inserted');
      // Key 2's newest version is rewritten away: the source now only has an older one.
      // Key 1 keeps both; with one row per batch its versions fall in different batches.
      await f.src.query(`DELETE FROM raw.user_history WHERE user_id = 2 AND updated_at = '2026-01-01 10:30';
        INSERT INTO raw.user_history VALUES (3, 'c1', 'free', '2026-01-01 10:40')`);
      const json = JSON.parse((await runCli(['sync', '-f', f.file, '--json', '--batch-rows', '1'])).stdout);
      expect(json.syncs[0].status).toBe('ok');
      expect(json.syncs[0].rows.inserted).toBe(1);
      expect(json.syncs[0].kept).toEqual({ rows: 1, keys: ['2'] });
      expect(await emails(f)).toEqual(['1:a2', '2:b2', '3:c1']);
    });
  });
});
