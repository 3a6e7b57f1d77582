// The compiled bucket policies, evaluated by an IAM policy simulator (@cloud-copilot/iam-simulate,
// used in tests only): proof that they grant what the vendors need and nothing more.
//
// How requests are evaluated, following IAM's rules as the simulator implements them:
//   - Toplyne's role lives in the vendor's account (cross-account). Such a request needs both an
//     identity policy in the vendor's account and the bucket policy. The vendor's side is not
//     ours, so the role gets an identity policy allowing s3:* on *: the bucket policy is then
//     the only thing standing between the role and the data, which is what is under test.
//   - Statsig's identity lives in the bucket owner's account (same account). There a bucket
//     policy naming the role suffices on its own, so the identity policies are empty: anything
//     allowed is allowed by the bucket policy alone.
import { type EvaluationResult, runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import {
  compilePolicy,
  type IamPolicy,
  type PolicyStatementConfig,
} from '../src/providers/s3/policy/index.js';

const OWNER = '123456789012';
const BUCKET = 'acme-share';
const B = `arn:aws:s3:::${BUCKET}`;
const TOPLYNE_ROLE = 'arn:aws:iam::388856629077:role/ToplyneServiceRoleForCustomerDataAccess';
const STATSIG_ROLE = `arn:aws:iam::${OWNER}:role/statsig-export`;

const TOPLYNE: PolicyStatementConfig = {
  sid: 'ToplyneRead',
  principals: [TOPLYNE_ROLE],
  actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:ListBucket', 's3:GetBucketLocation'],
  resources: ['bucket', 'objects'],
  readOnly: true,
};

const STATSIG: PolicyStatementConfig = {
  sid: 'StatsigRead',
  principals: [STATSIG_ROLE],
  actions: ['s3:GetObject', 's3:ListBucket'],
  resources: [{ prefix: 'events/' }, { prefix: 'metrics/' }, { prefix: 'signals/' }],
  readOnly: true,
};

const DENY_INSECURE: PolicyStatementConfig = {
  sid: 'DenyInsecureTransport',
  effect: 'deny',
  principals: '*',
  actions: ['s3:*'],
  resources: ['bucket', 'objects'],
  conditions: { Bool: { 'aws:SecureTransport': 'false' } },
};

const VENDOR_IDENTITY = {
  name: 'vendor-s3-everything',
  policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] },
};

interface Request {
  principal: string;
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
}

/** The simulator's decision; a request it cannot evaluate fails the test. */
async function decide(policy: IamPolicy, req: Request): Promise<EvaluationResult> {
  const crossAccount = !req.principal.includes(`::${OWNER}:`);
  const result = await runSimulation(
    {
      request: {
        principal: req.principal,
        action: req.action,
        resource: { resource: req.resource, accountId: OWNER },
        contextVariables: { 'aws:SecureTransport': 'true', ...req.context },
      },
      identityPolicies: crossAccount ? [VENDOR_IDENTITY] : [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: policy,
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
  return result.overallResult;
}

/** Every action/resource pair a vendor might try, allowed or not. */
const OBJECT_ACTIONS = [
  's3:GetObject',
  's3:GetObjectVersion',
  's3:GetObjectAcl',
  's3:GetObjectTagging',
  's3:PutObject',
  's3:PutObjectAcl',
  's3:DeleteObject',
  's3:DeleteObjectVersion',
  's3:RestoreObject',
];
const BUCKET_ACTIONS = [
  's3:ListBucket',
  's3:ListBucketVersions',
  's3:GetBucketLocation',
  's3:GetBucketPolicy',
  's3:GetBucketAcl',
  's3:PutBucketPolicy',
  's3:DeleteBucket',
];

async function allowedPairs(policy: IamPolicy, principal: string, key: string): Promise<string[]> {
  const out: string[] = [];
  const pairs = [
    ...OBJECT_ACTIONS.map((a) => [a, `${B}/${key}`] as const),
    ...BUCKET_ACTIONS.map((a) => [a, B] as const),
  ];
  for (const [action, resource] of pairs) {
    const context: Record<string, string> = action.startsWith('s3:ListBucket') ? { 's3:prefix': key } : {};
    if ((await decide(policy, { principal, action, resource, context })) === 'Allowed')
      out.push(`${action} ${resource}`);
  }
  return out;
}

describe('Toplyne bucket policy, simulated', () => {
  const policy = compilePolicy(BUCKET, { statements: [TOPLYNE, DENY_INSECURE] });

  it('allows the vendor role exactly GetObject/GetObjectVersion on objects and ListBucket/GetBucketLocation on the bucket', async () => {
    expect(await allowedPairs(policy, TOPLYNE_ROLE, 'exports/2026/part-0.parquet')).toEqual([
      `s3:GetObject ${B}/exports/2026/part-0.parquet`,
      `s3:GetObjectVersion ${B}/exports/2026/part-0.parquet`,
      `s3:ListBucket ${B}`,
      `s3:GetBucketLocation ${B}`,
    ]);
  });

  it('denies writes and deletes', async () => {
    for (const action of ['s3:PutObject', 's3:DeleteObject']) {
      expect(await decide(policy, { principal: TOPLYNE_ROLE, action, resource: `${B}/x.csv` }), action).toBe(
        'ImplicitlyDenied',
      );
    }
  });

  it('denies another principal, even in the vendor account', async () => {
    for (const principal of [
      'arn:aws:iam::388856629077:role/SomeOtherRole',
      'arn:aws:iam::444455556666:role/reader',
    ]) {
      expect(await allowedPairs(policy, principal, 'x.csv'), principal).toEqual([]);
    }
  });

  it('denies the vendor role over plain HTTP', async () => {
    const insecure = { 'aws:SecureTransport': 'false' };
    expect(
      await decide(policy, {
        principal: TOPLYNE_ROLE,
        action: 's3:GetObject',
        resource: `${B}/x.csv`,
        context: insecure,
      }),
    ).toBe('ExplicitlyDenied');
    expect(
      await decide(policy, {
        principal: TOPLYNE_ROLE,
        action: 's3:ListBucket',
        resource: B,
        context: insecure,
      }),
    ).toBe('ExplicitlyDenied');
  });

  it('without the deny statement, plain HTTP is not refused by the policy', async () => {
    const open = compilePolicy(BUCKET, { statements: [TOPLYNE] });
    const insecure = { 'aws:SecureTransport': 'false' };
    expect(
      await decide(open, {
        principal: TOPLYNE_ROLE,
        action: 's3:GetObject',
        resource: `${B}/x.csv`,
        context: insecure,
      }),
    ).toBe('Allowed');
  });
});

describe('Statsig bucket policy on folders, simulated', () => {
  const policy = compilePolicy(BUCKET, { statements: [STATSIG, DENY_INSECURE] });
  const get = (key: string) =>
    decide(policy, { principal: STATSIG_ROLE, action: 's3:GetObject', resource: `${B}/${key}` });
  const list = (prefix?: string) =>
    decide(policy, {
      principal: STATSIG_ROLE,
      action: 's3:ListBucket',
      resource: B,
      context: prefix === undefined ? {} : { 's3:prefix': prefix },
    });

  it('allows reading objects in the three folders only', async () => {
    for (const key of ['events/2026/11/23/part-0.json', 'metrics/daily.csv', 'signals/a']) {
      expect(await get(key), key).toBe('Allowed');
    }
    for (const key of ['exports/x.csv', 'eventsx/part-0.json', 'top-level.csv', 'Events/part-0.json']) {
      expect(await get(key), key).toBe('ImplicitlyDenied');
    }
  });

  it('allows listing inside the folders only', async () => {
    for (const prefix of ['events/', 'events/2026/', 'metrics/', 'signals/2026-11-23']) {
      expect(await list(prefix), prefix).toBe('Allowed');
    }
    for (const prefix of [undefined, '', 'events', 'exports/', 'other']) {
      expect(await list(prefix), String(prefix)).toBe('ImplicitlyDenied');
    }
  });

  it('grants nothing beyond read and list in the folders', async () => {
    expect(await allowedPairs(policy, STATSIG_ROLE, 'events/2026/part-0.json')).toEqual([
      `s3:GetObject ${B}/events/2026/part-0.json`,
      `s3:ListBucket ${B}`,
    ]);
  });

  it('denies writes and deletes in the folders', async () => {
    for (const action of ['s3:PutObject', 's3:DeleteObject']) {
      const decision = await decide(policy, {
        principal: STATSIG_ROLE,
        action,
        resource: `${B}/events/x.json`,
      });
      expect(decision, action).toBe('ImplicitlyDenied');
    }
  });

  it('denies another principal of the same account', async () => {
    expect(await allowedPairs(policy, `arn:aws:iam::${OWNER}:role/analyst`, 'events/x.json')).toEqual([]);
  });

  it('denies reads and listing over plain HTTP', async () => {
    const insecure = { 'aws:SecureTransport': 'false' };
    const read = {
      principal: STATSIG_ROLE,
      action: 's3:GetObject',
      resource: `${B}/events/x.json`,
      context: insecure,
    };
    expect(await decide(policy, read)).toBe('ExplicitlyDenied');
    const listing = {
      principal: STATSIG_ROLE,
      action: 's3:ListBucket',
      resource: B,
      context: { ...insecure, 's3:prefix': 'events/' },
    };
    expect(await decide(policy, listing)).toBe('ExplicitlyDenied');
  });

  it('needs the split: one statement with the prefix condition would deny the reads', async () => {
    // The tempting single statement: reads and listing together under the s3:prefix condition.
    const naive: IamPolicy = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'StatsigRead',
          Effect: 'Allow',
          Principal: { AWS: STATSIG_ROLE },
          Action: ['s3:GetObject', 's3:ListBucket'],
          Resource: [B, `${B}/events/*`],
          Condition: { StringLike: { 's3:prefix': ['events/*'] } },
        },
      ],
    };
    const read = await decide(naive, {
      principal: STATSIG_ROLE,
      action: 's3:GetObject',
      resource: `${B}/events/x.json`,
    });
    expect(read).toBe('ImplicitlyDenied');
  });
});
