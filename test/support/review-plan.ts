// Plans for the review screen's tests, built from the plan contract alone: `n` changes on a
// warehouse connection (table creates and grant updates), with destructive and widening changes
// where asked, and a bucket change that carries its access summary and policy diff.
import { type Change, PLAN_FORMAT, PLAN_VERSION, type Plan, summarize } from '../../src/plan/plan.js';

export interface SyntheticOptions {
  /** Table deletes (destructive). */
  destructive?: number;
  /** Bucket policy changes that widen access. */
  widening?: number;
}

export function tableCreate(i: number): Change {
  return {
    address: `wh.table:app.t${i}`,
    connection: 'wh',
    kind: 'table',
    action: 'create',
    destructive: false,
    reasons: [],
    fields: [],
    statements: [{ sql: `CREATE TABLE "app"."t${i}" (\n  "id" bigint NOT NULL\n)` }],
    dependsOn: [],
    before: null,
    after: {
      kind: 'table',
      schema: 'app',
      name: `t${i}`,
      owner: null,
      columns: [{ name: 'id', type: 'bigint', nullable: false, default: null }],
      primaryKey: null,
      partition: null,
      comment: null,
    },
  };
}

export function grantUpdate(i: number): Change {
  return {
    address: `wh.grant:table:app.t${i}/vendor`,
    connection: 'wh',
    kind: 'grant',
    action: 'update',
    destructive: false,
    reasons: [],
    fields: [{ path: 'privileges', before: ['select'], after: ['insert', 'select'] }],
    statements: [{ sql: `GRANT INSERT ON TABLE "app"."t${i}" TO "vendor"` }],
    dependsOn: [],
    before: {
      kind: 'grant',
      objectType: 'table',
      object: `app.t${i}`,
      grantee: 'vendor',
      privileges: ['select'],
    },
    after: {
      kind: 'grant',
      objectType: 'table',
      object: `app.t${i}`,
      grantee: 'vendor',
      privileges: ['insert', 'select'],
    },
  };
}

export function tableDelete(i: number): Change {
  return {
    address: `wh.table:old.gone${i}`,
    connection: 'wh',
    kind: 'table',
    action: 'delete',
    destructive: true,
    reasons: ['table is in a schema the file manages but is not declared: dropping it loses its rows'],
    fields: [],
    statements: [{ sql: `DROP TABLE "old"."gone${i}"` }],
    dependsOn: [],
    before: {
      kind: 'table',
      schema: 'old',
      name: `gone${i}`,
      owner: null,
      columns: [],
      primaryKey: null,
      partition: null,
      comment: null,
    },
    after: null,
  };
}

export function bucketWiden(i: number): Change {
  const principal = 'arn:aws:iam::388856629077:role/vendor';
  return {
    address: `files.bucket:drop-${i}`,
    connection: 'files',
    kind: 'bucket',
    action: 'update',
    destructive: false,
    widening: true,
    reasons: [],
    fields: [{ path: 'policy', before: null, after: { Version: '2012-10-17' } }],
    statements: [
      {
        sql: `s3:PutBucketPolicy drop-${i}`,
        api: { service: 's3', operation: 'PutBucketPolicy', input: { Bucket: `drop-${i}`, Policy: '{}' } },
      },
    ],
    dependsOn: [],
    before: null,
    after: null,
    policy: {
      diff: '@@ -1,1 +1,2 @@\n {\n+  "Statement": []',
      access: [`${principal} gains s3:GetObject on arn:aws:s3:::drop-${i}/*`],
    },
  };
}

export function syntheticPlan(n: number, o: SyntheticOptions = {}): Plan {
  const changes: Change[] = [];
  const risky = (o.destructive ?? 0) + (o.widening ?? 0);
  for (let i = 0; changes.length < n - risky; i++)
    changes.push(i % 2 === 0 ? tableCreate(i) : grantUpdate(i));
  for (let i = 0; i < (o.destructive ?? 0); i++) changes.push(tableDelete(i));
  for (let i = 0; i < (o.widening ?? 0); i++) changes.push(bucketWiden(i));
  return planOf(changes);
}

export function planOf(changes: Change[]): Plan {
  return {
    format: PLAN_FORMAT,
    version: PLAN_VERSION,
    createdAt: '2026-01-01T00:00:00.000Z',
    configFile: 'wharf.yaml',
    baseDir: '.',
    connections: {
      wh: {
        type: 'postgres',
        spec: {},
        scope: { schemas: [], roles: [] },
        watch: [],
        fingerprint: '',
        server: 'PostgreSQL 18.4',
      },
      files: {
        type: 's3',
        spec: {},
        scope: { schemas: [], roles: [] },
        watch: [],
        fingerprint: '',
        server: 'S3',
      },
    },
    changes,
    diagnostics: [],
    unmanaged: [],
    summary: summarize(changes),
    decisions: { destroy: changes.some((c) => c.destructive), widen: changes.some((c) => c.widening) },
  };
}
