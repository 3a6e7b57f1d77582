// The S3 provider's bucket-configuration calls, checked with aws-sdk-client-mock for their
// exact request shapes: what the reader asks and how it reads S3's "not configured" and
// "access denied" answers, and what apply sends for a create and for updates.
import {
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  GetBucketEncryptionCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutBucketEncryptionCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Change } from '../src/plan/plan.js';
import { diffBuckets } from '../src/providers/s3/bucket-diff.js';
import type { BucketResource } from '../src/providers/s3/bucket-model.js';
import { bucketResource } from '../src/providers/s3/desired.js';
import { S3Provider } from '../src/providers/s3/s3-provider.js';
import { s3Error } from './support/s3.js';

const client = new S3Client({ region: 'eu-west-1' });
const mock = mockClient(client);
const provider = new S3Provider(client, { region: 'eu-west-1', server: 'S3 eu-west-1' });
const ROLE = 'arn:aws:iam::388856629077:role/ToplyneServiceRoleForCustomerDataAccess';

const POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'ToplyneRead',
      Effect: 'Allow',
      Principal: { AWS: ROLE },
      Action: ['s3:GetObject', 's3:ListBucket'],
      Resource: ['arn:aws:s3:::share', 'arn:aws:s3:::share/*'],
    },
  ],
};

function configured(): void {
  mock.on(HeadBucketCommand).resolves({});
  mock.on(GetBucketPolicyCommand).resolves({ Policy: JSON.stringify(POLICY) });
  mock.on(GetPublicAccessBlockCommand).resolves({
    PublicAccessBlockConfiguration: {
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    },
  });
  mock.on(GetBucketOwnershipControlsCommand).resolves({
    OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
  });
  mock.on(GetBucketEncryptionCommand).resolves({
    ServerSideEncryptionConfiguration: {
      Rules: [
        { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/share' } },
      ],
    },
  });
  mock
    .on(ListObjectsV2Command, { Prefix: 'events/' })
    .resolves({ KeyCount: 1, Contents: [{ Key: 'events/' }] });
  mock.on(ListObjectsV2Command, { Prefix: 'metrics/' }).resolves({ KeyCount: 0 });
  mock.on(GetBucketTaggingCommand).resolves({
    TagSet: [
      { Key: 'team', Value: 'data' },
      { Key: 'wharf:policy-sids', Value: 'ToplyneRead' },
    ],
  });
}

beforeEach(() => {
  mock.reset();
});

describe('reading a bucket', () => {
  it('sends one request of each kind, with exactly these inputs, and normalizes the answers', async () => {
    configured();
    const snap = await provider.read({
      schemas: [],
      roles: [],
      buckets: ['share'],
      folders: { share: ['events/', 'metrics/'] },
    });
    expect(mock.commandCalls(HeadBucketCommand).map((c) => c.args[0].input)).toEqual([{ Bucket: 'share' }]);
    for (const C of [
      GetBucketPolicyCommand,
      GetPublicAccessBlockCommand,
      GetBucketOwnershipControlsCommand,
      GetBucketEncryptionCommand,
      GetBucketTaggingCommand,
    ]) {
      expect(mock.commandCalls(C).map((c) => c.args[0].input)).toEqual([{ Bucket: 'share' }]);
    }
    expect(mock.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input)).toEqual([
      { Bucket: 'share', Prefix: 'events/', MaxKeys: 1 },
      { Bucket: 'share', Prefix: 'metrics/', MaxKeys: 1 },
    ]);
    expect(snap.roundTrips).toBe(8);
    expect(snap.resources).toEqual([
      {
        kind: 'bucket',
        name: 'share',
        blockPublicAccess: {
          BlockPublicAcls: true,
          IgnorePublicAcls: true,
          BlockPublicPolicy: true,
          RestrictPublicBuckets: true,
        },
        objectOwnership: 'BucketOwnerEnforced',
        encryption: { algorithm: 'aws:kms', kmsKeyId: 'alias/share' },
        folders: ['events/'],
        policy: POLICY,
        ownedSids: ['ToplyneRead'],
        tags: { team: 'data', 'wharf:policy-sids': 'ToplyneRead' },
      },
    ]);
  });

  it('reads "not configured" answers as S3 defaults: no policy yet (NoSuchBucketPolicy) and the others', async () => {
    mock.on(HeadBucketCommand).resolves({});
    mock.on(GetBucketPolicyCommand).rejects(s3Error('NoSuchBucketPolicy', 404));
    mock.on(GetPublicAccessBlockCommand).rejects(s3Error('NoSuchPublicAccessBlockConfiguration', 404));
    mock.on(GetBucketOwnershipControlsCommand).rejects(s3Error('OwnershipControlsNotFoundError', 404));
    mock
      .on(GetBucketEncryptionCommand)
      .rejects(s3Error('ServerSideEncryptionConfigurationNotFoundError', 404));
    mock.on(GetBucketTaggingCommand).rejects(s3Error('NoSuchTagSet', 404));
    const snap = await provider.read({ schemas: [], roles: [], buckets: ['share'] });
    expect(snap.resources).toEqual([
      {
        kind: 'bucket',
        name: 'share',
        blockPublicAccess: {
          BlockPublicAcls: false,
          IgnorePublicAcls: false,
          BlockPublicPolicy: false,
          RestrictPublicBuckets: false,
        },
        objectOwnership: 'ObjectWriter',
        encryption: null,
        folders: [],
        policy: null,
        ownedSids: [],
        tags: {},
      },
    ]);
  });

  it('a bucket that does not exist (HeadBucket 404) is absent, and nothing else is asked', async () => {
    mock.on(HeadBucketCommand).rejects(s3Error('NotFound', 404));
    const snap = await provider.read({ schemas: [], roles: [], buckets: ['gone'] });
    expect(snap.resources).toEqual([]);
    expect(mock.calls()).toHaveLength(1);
  });

  it('access denied on the policy is an error that names the permission wharf needs', async () => {
    configured();
    mock.on(GetBucketPolicyCommand).rejects(s3Error('AccessDenied', 403));
    await expect(provider.read({ schemas: [], roles: [], buckets: ['share'] })).rejects.toThrow(
      'bucket share: access denied (AccessDenied); wharf needs s3:GetBucketPolicy on this bucket',
    );
  });

  it('access denied on HeadBucket (403) is an error, not a missing bucket', async () => {
    mock.on(HeadBucketCommand).rejects(s3Error('Forbidden', 403));
    await expect(provider.read({ schemas: [], roles: [], buckets: ['share'] })).rejects.toThrow(
      /access denied/,
    );
  });

  it('a live policy that is not valid JSON policy is reported, not guessed at', async () => {
    configured();
    mock.on(GetBucketPolicyCommand).resolves({ Policy: '{"Statement": "nope"}' });
    await expect(provider.read({ schemas: [], roles: [], buckets: ['share'] })).rejects.toThrow(
      /bucket share: the live bucket policy cannot be read/,
    );
  });
});

function change(live: BucketResource | null, desired: BucketResource): Change {
  const d = diffBuckets('share', [desired], live ? [live] : []);
  expect(d.changes).toHaveLength(1);
  const c = d.changes[0]!;
  c.statements = provider.compile(c);
  return c;
}

describe('applying bucket changes', () => {
  const desired = bucketResource({
    name: 'share',
    create: true,
    encryption: { type: 'sse-kms', kmsKeyId: 'alias/share' },
    folders: ['events'],
    policy: {
      statements: [
        {
          sid: 'ToplyneRead',
          principals: [ROLE],
          actions: ['s3:GetObject', 's3:ListBucket'],
          resources: ['bucket', 'objects'],
          readOnly: true,
        },
      ],
    },
  });

  it('a create sends these calls, in this order, with these inputs', async () => {
    mock.onAnyCommand().resolves({});
    const c = change(null, desired);
    await provider.execute(c);
    const sent = mock.calls().map((call) => {
      const cmd = call.args[0] as { constructor: { name: string }; input: unknown };
      return [cmd.constructor.name, cmd.input];
    });
    expect(sent).toEqual([
      [
        'CreateBucketCommand',
        { Bucket: 'share', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } },
      ],
      [
        'PutBucketOwnershipControlsCommand',
        { Bucket: 'share', OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] } },
      ],
      [
        'PutPublicAccessBlockCommand',
        {
          Bucket: 'share',
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            IgnorePublicAcls: true,
            BlockPublicPolicy: true,
            RestrictPublicBuckets: true,
          },
        },
      ],
      [
        'PutBucketEncryptionCommand',
        {
          Bucket: 'share',
          ServerSideEncryptionConfiguration: {
            Rules: [
              {
                ApplyServerSideEncryptionByDefault: {
                  SSEAlgorithm: 'aws:kms',
                  KMSMasterKeyID: 'alias/share',
                },
              },
            ],
          },
        },
      ],
      ['PutObjectCommand', { Bucket: 'share', Key: 'events/', Body: '', ContentLength: 0 }],
      ['PutBucketPolicyCommand', { Bucket: 'share', Policy: expect.any(String) }],
      [
        'PutBucketTaggingCommand',
        { Bucket: 'share', Tagging: { TagSet: [{ Key: 'wharf:policy-sids', Value: 'ToplyneRead' }] } },
      ],
    ]);
    const policy = JSON.parse(mock.commandCalls(PutBucketPolicyCommand)[0]!.args[0].input.Policy!);
    expect(policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ToplyneRead',
          Effect: 'Allow',
          Principal: { AWS: [ROLE] },
          Action: ['s3:GetObject', 's3:ListBucket'],
          Resource: ['arn:aws:s3:::share', 'arn:aws:s3:::share/*'],
        },
      ],
    });
  });

  it('an update sends only the calls of the fields that changed', async () => {
    mock.onAnyCommand().resolves({});
    const live: BucketResource = {
      ...desired,
      create: undefined,
      policyExclusive: undefined,
      blockPublicAccess: { ...desired.blockPublicAccess, RestrictPublicBuckets: false },
    };
    const c = change(live, desired);
    expect(c.statements.map((s) => s.api!.operation)).toEqual(['PutPublicAccessBlock']);
    await provider.execute(c);
    expect(mock.commandCalls(PutPublicAccessBlockCommand)).toHaveLength(1);
    expect(mock.commandCalls(PutBucketPolicyCommand)).toHaveLength(0);
    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('an exclusive policy with no statements left deletes the bucket policy', async () => {
    mock.onAnyCommand().resolves({});
    const live: BucketResource = { ...desired, create: undefined, policyExclusive: undefined };
    const c = change(live, {
      ...desired,
      policy: { Version: '2012-10-17', Statement: [] },
      policyExclusive: true,
    });
    expect(c.destructive).toBe(true);
    await provider.execute(c);
    expect(mock.commandCalls(DeleteBucketPolicyCommand).map((x) => x.args[0].input)).toEqual([
      { Bucket: 'share' },
    ]);
  });

  it('a statement removed from the file is removed from the bucket (destructive), other statements and tags stay', async () => {
    mock.onAnyCommand().resolves({});
    const other = {
      Sid: 'Analysts',
      Effect: 'Allow' as const,
      Principal: { AWS: 'arn:aws:iam::123456789012:role/analysts' },
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::share/*',
    };
    const live: BucketResource = {
      ...desired,
      create: undefined,
      policyExclusive: undefined,
      policy: { Version: '2012-10-17', Statement: [...desired.policy!.Statement, other] },
      ownedSids: ['ToplyneRead'],
      tags: { team: 'data', 'wharf:policy-sids': 'ToplyneRead' },
    };
    const want = bucketResource({
      name: 'share',
      encryption: { type: 'sse-kms', kmsKeyId: 'alias/share' },
      folders: ['events'],
      policy: {
        statements: [
          {
            sid: 'DenyInsecureTransport',
            effect: 'deny',
            principals: '*',
            actions: ['s3:*'],
            resources: ['bucket', 'objects'],
            conditions: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      },
    });
    const c = change(live, want);
    expect(c.destructive).toBe(true);
    expect(c.widening).toBeUndefined();
    expect(c.reasons).toContain('removes 1 policy statement(s) the file no longer declares: ToplyneRead');
    expect(c.policy!.access).toContain(`${ROLE} loses s3:GetObject on arn:aws:s3:::share/*`);
    await provider.execute(c);
    const put = JSON.parse(mock.commandCalls(PutBucketPolicyCommand)[0]!.args[0].input.Policy!);
    expect(put.Statement.map((s: { Sid: string }) => s.Sid)).toEqual(['Analysts', 'DenyInsecureTransport']);
    expect(mock.commandCalls(PutBucketTaggingCommand)[0]!.args[0].input).toEqual({
      Bucket: 'share',
      Tagging: {
        TagSet: [
          { Key: 'team', Value: 'data' },
          { Key: 'wharf:policy-sids', Value: 'DenyInsecureTransport' },
        ],
      },
    });
  });

  it('access denied on PutBucketPolicy fails the change with the call it was running', async () => {
    mock.onAnyCommand().resolves({});
    mock.on(PutBucketPolicyCommand).rejects(s3Error('AccessDenied', 403));
    const c = change(null, desired);
    const err = await provider.execute(c).catch((e: unknown) => e as Error & { sql: string; detail: string });
    expect(err).toMatchObject({
      message: 's3:PutBucketPolicy failed: AccessDenied',
      sql: '-- s3:PutBucketPolicy: put the bucket policy of share (1 statement)',
      detail: 'HTTP 403',
    });
    expect(mock.commandCalls(CreateBucketCommand)).toHaveLength(1);
    expect(mock.commandCalls(PutBucketEncryptionCommand)).toHaveLength(1);
    expect(mock.commandCalls(PutBucketOwnershipControlsCommand)).toHaveLength(1);
  });
});
