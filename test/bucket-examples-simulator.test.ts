// The bucket policy of every example file, as wharf compiles it from the YAML, evaluated by an
// IAM policy simulator (@cloud-copilot/iam-simulate, tests only): the vendor principal is
// allowed exactly the declared actions on the declared resources, and denied writes, other
// principals and plain-HTTP requests. Cross-account principals get an identity policy that
// allows s3:* on *, so the bucket policy alone decides (see bucket-policy-simulator.test.ts).
import fs from 'node:fs';
import path from 'node:path';
import { type EvaluationResult, runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../src/config/load.js';
import { toDesired } from '../src/config/to-desired.js';
import type { BucketResource } from '../src/providers/s3/bucket-model.js';
import type { IamPolicy } from '../src/providers/s3/policy/index.js';

const EXAMPLES = path.join(import.meta.dirname, '..', 'examples');
const OWNER = '111122223333';
const STRANGER = 'arn:aws:iam::444455556666:role/reader';

function bucketsOf(file: string): BucketResource[] {
  const { loaded } = loadConfigFile(path.join(EXAMPLES, file));
  return [...toDesired(loaded!, new Date()).values()]
    .flat()
    .filter((r): r is BucketResource => r.kind === 'bucket');
}

async function decide(
  policy: IamPolicy,
  principal: string,
  action: string,
  resource: string,
  context: Record<string, string> = {},
): Promise<EvaluationResult> {
  const crossAccount = !principal.includes(`::${OWNER}:`);
  const result = await runSimulation(
    {
      request: {
        principal,
        action,
        resource: { resource, accountId: OWNER },
        contextVariables: { 'aws:SecureTransport': 'true', ...context },
      },
      identityPolicies: crossAccount
        ? [
            {
              name: 'all-s3',
              policy: {
                Version: '2012-10-17',
                Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
              },
            },
          ]
        : [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: policy,
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
  return result.overallResult;
}

const OBJECT_ACTIONS = [
  's3:GetObject',
  's3:GetObjectVersion',
  's3:GetObjectAcl',
  's3:PutObject',
  's3:PutObjectAcl',
  's3:DeleteObject',
];
const BUCKET_ACTIONS = [
  's3:ListBucket',
  's3:GetBucketLocation',
  's3:GetBucketPolicy',
  's3:PutBucketPolicy',
  's3:DeleteBucket',
];

/** Every probed action/resource pair the principal is allowed, for one object key. */
async function allowed(policy: IamPolicy, bucket: string, principal: string, key: string): Promise<string[]> {
  const b = `arn:aws:s3:::${bucket}`;
  const out: string[] = [];
  for (const a of OBJECT_ACTIONS)
    if ((await decide(policy, principal, a, `${b}/${key}`)) === 'Allowed') out.push(`${a} ${key}`);
  for (const a of BUCKET_ACTIONS) {
    const context: Record<string, string> = a === 's3:ListBucket' ? { 's3:prefix': key } : {};
    if ((await decide(policy, principal, a, b, context)) === 'Allowed') out.push(`${a} bucket`);
  }
  return out;
}

describe('every example with buckets has its policy simulated', () => {
  it('covers all of them', () => {
    const withBuckets = fs
      .readdirSync(EXAMPLES)
      .filter((f) => f.endsWith('.yaml') && bucketsOf(f).some((b) => b.policy !== null))
      .sort();
    expect(withBuckets).toEqual(['quickstart.yaml', 'statsig-s3.yaml', 'toplyne-s3.yaml']);
  });
});

describe('toplyne-s3.yaml', () => {
  const [bucket] = bucketsOf('toplyne-s3.yaml');
  const policy = bucket!.policy!;
  const role = 'arn:aws:iam::388856629077:role/ToplyneServiceRoleForCustomerDataAccess';

  it("allows Toplyne's role exactly the guide's actions on the bucket and its objects", async () => {
    expect(await allowed(policy, bucket!.name, role, 'events/2026/part-0.parquet')).toEqual([
      's3:GetObject events/2026/part-0.parquet',
      's3:GetObjectVersion events/2026/part-0.parquet',
      's3:ListBucket bucket',
      's3:GetBucketLocation bucket',
    ]);
  });

  it('allows nothing to another principal, even in the vendor account', async () => {
    expect(await allowed(policy, bucket!.name, STRANGER, 'x.csv')).toEqual([]);
    expect(await allowed(policy, bucket!.name, 'arn:aws:iam::388856629077:role/Other', 'x.csv')).toEqual([]);
  });

  it('denies plain-HTTP requests explicitly', async () => {
    const key = `arn:aws:s3:::${bucket!.name}/x.csv`;
    expect(await decide(policy, role, 's3:GetObject', key, { 'aws:SecureTransport': 'false' })).toBe(
      'ExplicitlyDenied',
    );
  });
});

describe('statsig-s3.yaml', () => {
  const [bucket] = bucketsOf('statsig-s3.yaml');
  const policy = bucket!.policy!;
  const user = `arn:aws:iam::${OWNER}:user/statsig-ingest`;

  it('allows the Statsig user to read and list inside events/, metrics/ and signals/ only', async () => {
    for (const folder of ['events/', 'metrics/', 'signals/']) {
      expect(await allowed(policy, bucket!.name, user, `${folder}2022-06-22/part-0.parquet`)).toEqual([
        `s3:GetObject ${folder}2022-06-22/part-0.parquet`,
        's3:ListBucket bucket',
      ]);
    }
    expect(await allowed(policy, bucket!.name, user, 'private/salaries.csv')).toEqual([]);
  });

  it('denies the root listing, writes, other principals and plain HTTP', async () => {
    const b = `arn:aws:s3:::${bucket!.name}`;
    expect(await decide(policy, user, 's3:ListBucket', b, { 's3:prefix': '' })).not.toBe('Allowed');
    expect(await decide(policy, user, 's3:PutObject', `${b}/events/x.parquet`)).not.toBe('Allowed');
    expect(await allowed(policy, bucket!.name, STRANGER, 'events/x.parquet')).toEqual([]);
    expect(
      await decide(policy, user, 's3:GetObject', `${b}/events/x.parquet`, { 'aws:SecureTransport': 'false' }),
    ).toBe('ExplicitlyDenied');
  });
});

describe('quickstart.yaml', () => {
  const [bucket] = bucketsOf('quickstart.yaml');

  it('grants nobody anything and refuses plain HTTP', async () => {
    const policy = bucket!.policy!;
    expect(await allowed(policy, bucket!.name, STRANGER, 'events/x.parquet')).toEqual([]);
    expect(
      await decide(policy, STRANGER, 's3:GetObject', `arn:aws:s3:::${bucket!.name}/events/x`, {
        'aws:SecureTransport': 'false',
      }),
    ).toBe('ExplicitlyDenied');
  });
});
