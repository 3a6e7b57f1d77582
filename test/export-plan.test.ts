// What `wharf plan` says about bucket exports before any file is written: each export with its
// file types and row estimate, who the bucket policy lets read its prefix (a warning when
// nobody may), and the vendor conventions checked at the sync's line. Plan writes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { exportFixture } from './support/export.js';
import { startTestServer, type TestServer } from './support/pg.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const POLICY = (principal: string, prefix: string) => `    policy:
      statements:
        - sid: VendorRead
          principals: ["${principal}"]
          actions: [s3:GetObject, s3:ListBucket]
          resources: [{ prefix: ${prefix} }]
          readOnly: true
`;

describe('plan of a bucket export', () => {
  it('lists the export, its file types and who may read it, and writes nothing', async () => {
    const f = await exportFixture(server);
    try {
      f.write(
        `  - name: vendor-events
    from: { table: raw.events }
    to: { bucket: ${f.bucket}, prefix: events/, partition: { by: timestamp, timeZone: Europe/Berlin, style: hive } }
    mode: append
    cursor: { column: updated_at }`,
        { buckets: POLICY('arn:aws:iam::123456789012:role/vendor', 'events/') },
      );
      await runCli(['apply', '-f', f.file, '--auto-approve', '--allow-widen']);
      await f.src.query(
        `INSERT INTO raw.events SELECT g, g, 'e', now()::timestamp, now()::timestamp, g, NULL FROM generate_series(1, 500) g`,
      );
      await f.src.query('ANALYZE raw.events');
      const before = await f.keys();
      const r = await runCli(['plan', '-f', f.file, '--json']);
      expect(r.code).toBe(0);
      const plan = JSON.parse(r.stdout);
      expect(plan.exports).toHaveLength(1);
      const e = plan.exports[0];
      expect(e).toMatchObject({
        sync: 'vendor-events',
        bucket: f.bucket,
        prefix: 'events/',
        format: 'parquet',
        compression: 'zstd',
        mode: 'append',
        watermark: null,
        readers: ['arn:aws:iam::123456789012:role/vendor'],
        partition: 'day of timestamp in Europe/Berlin: events/date=YYYY-MM-DD/',
      });
      expect(e.estimatedRows).toBeGreaterThan(400);
      expect(
        Object.fromEntries(e.columns.map((c: { name: string; fileType: string }) => [c.name, c.fileType])),
      ).toMatchObject({
        event_id: expect.stringMatching(/INT64/),
        amount: expect.stringMatching(/DECIMAL\(18, ?2\)/),
        properties: expect.stringMatching(/JSON/),
      });
      expect(await f.keys()).toEqual(before);
      const text = await runCli(['plan', '-f', f.file]);
      expect(text.stdout).toContain('readable by: arn:aws:iam::123456789012:role/vendor');
      // The markdown for a pull request carries it too.
      const md = await runCli(['plan', '-f', f.file, '--markdown']);
      expect(md.stdout).toContain('Exports (written by wharf sync)');
    } finally {
      await f.close();
    }
  });

  it('warns at the sync when the bucket policy lets nobody read the prefix', async () => {
    const f = await exportFixture(server);
    try {
      f.write(
        `  - name: hidden
    from: { table: raw.events }
    to: { bucket: ${f.bucket}, prefix: events/ }
    mode: full`,
        { buckets: POLICY('arn:aws:iam::123456789012:role/vendor', 'metrics/') },
      );
      const r = await runCli(['plan', '-f', f.file]);
      expect(r.stdout + r.stderr).toMatch(
        /wharf\.yaml:\d+:\d+.*no principal in bucket .*'s policy may read events\/ .*the vendor cannot read these files/,
      );
    } finally {
      await f.close();
    }
  });

  it("checks the vendor's conventions at the sync's line: Statsig metrics need double values", async () => {
    const f = await exportFixture(server);
    try {
      await f.src.query(`CREATE TABLE raw.metrics (unit_id text, id_type text, date date, metric_name varchar(100),
                           metric_value bigint, updated_at timestamp)`);
      f.write(`  - name: metrics
    from: { table: raw.metrics }
    to: { bucket: ${f.bucket}, prefix: metrics/, conventions: statsig-metrics, partition: { by: date } }
    mode: append
    cursor: { column: updated_at }`);
      const plan = await runCli(['plan', '-f', f.file]);
      expect(plan.stdout + plan.stderr).toMatch(/wharf\.yaml:\d+:\d+.*metric_value is bigint.*double/);
      const sync = await runCli(['sync', '-f', f.file]);
      expect(sync.code).not.toBe(0);
      expect(sync.stdout + sync.stderr).toMatch(/metric_value is bigint/);
      expect(await f.keys()).toEqual([]);
    } finally {
      await f.close();
    }
  });
});
