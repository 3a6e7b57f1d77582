// The bucket differ, pure: a live policy written differently but meaning the same is no
// change; statements with other Sids stay and are reported unmanaged; widening is marked;
// a missing bucket is an error unless create: true; settings diff field by field.
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../src/plan/build.js';
import { diffBuckets } from '../src/providers/s3/bucket-diff.js';
import type { BucketResource } from '../src/providers/s3/bucket-model.js';
import { bucketResource } from '../src/providers/s3/desired.js';
import type { IamPolicy } from '../src/providers/s3/policy/index.js';

const ROLE_A = 'arn:aws:iam::388856629077:role/A';
const ROLE_B = 'arn:aws:iam::388856629077:role/B';

const desired = bucketResource({
  name: 'share',
  folders: ['events/'],
  policy: {
    statements: [
      {
        sid: 'VendorRead',
        principals: [ROLE_A, ROLE_B],
        actions: ['s3:GetObject', 's3:ListBucket'],
        resources: ['bucket', 'objects'],
        readOnly: true,
      },
    ],
  },
});

function live(policy: IamPolicy | null, patch: Partial<BucketResource> = {}): BucketResource {
  const { create: _c, policyExclusive: _e, ...rest } = desired;
  return { ...rest, policy, ...patch };
}

describe('bucket diff', () => {
  it('principal and action order, a string for a one-element list and key order are no change', () => {
    const written: IamPolicy = {
      Statement: [
        {
          Resource: ['arn:aws:s3:::share/*', 'arn:aws:s3:::share'],
          Action: ['s3:listbucket', 's3:GetObject'],
          Principal: { AWS: [ROLE_B, ROLE_A] },
          Effect: 'Allow',
          Sid: 'VendorRead',
        },
      ],
      Version: '2012-10-17',
    };
    expect(diffBuckets('s3', [desired], [live(written)])).toEqual({
      changes: [],
      unmanaged: [],
      diagnostics: [],
    });
  });

  it('other Sids are left in place and listed as unmanaged', () => {
    const foreign = {
      Sid: 'Other',
      Effect: 'Allow' as const,
      Principal: '*' as const,
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::share/x',
    };
    const d = diffBuckets('s3', [desired], [live({ Version: '2012-10-17', Statement: [foreign] })]);
    expect(d.unmanaged).toEqual([
      {
        address: 's3.bucket:share/policy:Other',
        reason: 'bucket policy statement with a Sid the file does not declare',
      },
    ]);
    const after = d.changes[0]!.after as BucketResource;
    expect(after.policy!.Statement[0]).toEqual(foreign);
    expect(after.policy!.Statement.map((s) => s.Sid)).toEqual(['Other', 'VendorRead']);
    expect(d.changes[0]!.widening).toBe(true);
  });

  it('narrowing a declared statement is neither widening nor destructive', () => {
    const wider = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'VendorRead',
          Effect: 'Allow' as const,
          Principal: { AWS: [ROLE_A, ROLE_B] },
          Action: ['s3:GetObject', 's3:ListBucket', 's3:PutObject'],
          Resource: ['arn:aws:s3:::share', 'arn:aws:s3:::share/*'],
        },
      ],
    };
    const [c] = diffBuckets('s3', [desired], [live(wider)]).changes;
    expect(c).toMatchObject({ action: 'update', destructive: false });
    expect(c!.widening).toBeUndefined();
    expect(c!.policy!.access).toEqual([
      `${ROLE_A} loses s3:PutObject on arn:aws:s3:::share/*`,
      `${ROLE_B} loses s3:PutObject on arn:aws:s3:::share/*`,
    ]);
    expect(c!.policy!.diff).toContain('-        "s3:PutObject"');
  });

  it('a missing bucket is an error diagnostic, or a create with create: true', () => {
    expect(diffBuckets('s3', [desired], []).diagnostics).toEqual([
      {
        severity: 'error',
        code: 'bucket-missing',
        message:
          's3.bucket:share: bucket share does not exist; create it, or set "create: true" to let wharf create it',
      },
    ]);
    const created = diffBuckets('s3', [{ ...desired, create: true }], []);
    expect(created.diagnostics).toEqual([]);
    expect(created.changes[0]).toMatchObject({ action: 'create', widening: true, before: null });
  });

  it('settings and folders diff field by field; ACLs enabled again widens access', () => {
    const have = live(desired.policy, {
      objectOwnership: 'BucketOwnerEnforced',
      encryption: null,
      folders: [],
    });
    const want = {
      ...desired,
      objectOwnership: 'ObjectWriter' as const,
      encryption: { algorithm: 'AES256' as const, kmsKeyId: null },
    };
    const [c] = diffBuckets('s3', [want], [have]).changes;
    expect(c!.fields.map((f) => [f.path, f.before, f.after])).toEqual([
      ['objectOwnership', 'BucketOwnerEnforced', 'ObjectWriter'],
      ['encryption', null, { algorithm: 'AES256', kmsKeyId: null }],
      ['folders.events/', null, 'events/'],
    ]);
    expect(c!.reasons).toContain('object ownership ObjectWriter enables ACLs again');
    expect(c!.widening).toBe(true);
  });

  it('a file without policy manages no statement: every live one is unmanaged and none is touched', () => {
    const d = diffBuckets(
      's3',
      [{ ...desired, policy: null }],
      [
        live({
          Version: '2012-10-17',
          Statement: [{ Sid: 'X', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: '*' }],
        }),
      ],
    );
    expect(d.changes).toEqual([]);
    expect(d.unmanaged.map((u) => u.address)).toEqual(['s3.bucket:share/policy:X']);
  });

  it('buildPlan records decisions.widen and passes bucket diagnostics on', () => {
    const plan = buildPlan({
      configFile: 'f.yaml',
      baseDir: '/',
      now: new Date(0),
      diagnostics: [],
      connections: [
        {
          name: 's3',
          type: 's3',
          spec: { type: 's3' },
          scope: { schemas: [], roles: [], buckets: ['share', 'gone'] },
          desired: [
            { ...desired, create: true },
            { ...desired, name: 'gone' },
          ],
          live: [],
          capabilities: { allPrivileges: { schema: [], table: [] } },
          server: 'test',
          compile: () => [],
        },
      ],
    });
    expect(plan.decisions).toEqual({ destroy: false, widen: true });
    expect(plan.diagnostics.map((d) => d.code)).toEqual(['bucket-missing']);
  });
});
