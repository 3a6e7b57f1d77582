// The S3 provider against a real S3-protocol server on loopback (s3rver): bucket existence,
// creation, folder markers and listings, convergence of every example with buckets, and a
// policy statement added out of band that is left alone and reported as unmanaged.
// s3rver has no bucket-policy, public-access-block, ownership-controls or encryption APIs:
// those control calls alone go to a stateful fake (see support/s3.ts) that refuses what S3
// refuses and reads back what S3 stores; their exact request shapes are checked in
// s3-provider.test.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  GetBucketPolicyCommand,
  GetPublicAccessBlockCommand,
  ListObjectsV2Command,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../src/apply/apply.js';
import { planConfig } from '../src/commands/plan.js';
import { loadConfigFile, loadConfigText } from '../src/config/load.js';
import type { LoadedConfig } from '../src/config/types.js';
import type { Plan } from '../src/plan/plan.js';
import type { OpenedConnection } from '../src/providers/connect.js';
import type { Provider } from '../src/providers/provider.js';
import { S3Provider } from '../src/providers/s3/s3-provider.js';
import { readS3Buckets } from '../src/providers/s3/s3-reader.js';
import { runCli } from './support/cli.js';
import {
  type BucketControls,
  bucketsOnly,
  startS3Server,
  type TestS3Server,
  withFakeControls,
} from './support/s3.js';

let s3: TestS3Server;
beforeAll(async () => {
  s3 = await startS3Server();
}, 30_000);
afterAll(async () => {
  await s3?.stop();
});

const EXAMPLES = path.join(import.meta.dirname, '..', 'examples');

function load(file: string): LoadedConfig {
  const { loaded, diagnostics } = loadConfigFile(file);
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return bucketsOnly(loaded!);
}

function loadText(text: string): LoadedConfig {
  const { loaded, diagnostics } = loadConfigText(text, 'inline.yaml');
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return bucketsOnly(loaded!);
}

/** Plans and applies through the S3 provider on s3rver, control calls on the fake. */
function harness() {
  const { client, controls } = withFakeControls(s3.client);
  const provider = new S3Provider(client, { region: 'us-east-1', server: 's3rver' });
  const open = async (
    name: string,
    config: LoadedConfig['connections'][string],
  ): Promise<OpenedConnection> => ({
    name,
    config,
    provider,
    description: 's3rver',
    close: async () => {},
  });
  const plan = async (loaded: LoadedConfig): Promise<Plan> => {
    const run = await planConfig(loaded, { open });
    await run.close();
    return run.plan;
  };
  const apply = async (p: Plan, allowWiden = true) => {
    const providers = new Map<string, Provider>(Object.keys(p.connections).map((n) => [n, provider]));
    return applyPlan(p, providers, { allowDestroy: false, allowWiden, lockTimeoutMs: 0, holder: 'test' });
  };
  return { client, controls, provider, plan, apply };
}

describe('examples converge on an S3-protocol server', () => {
  for (const example of ['toplyne-s3.yaml', 'statsig-s3.yaml']) {
    it(`${example}: plan creates the bucket, apply, then the plan is empty`, async () => {
      const h = harness();
      const loaded = load(path.join(EXAMPLES, example));
      const first = await h.plan(loaded);
      expect(first.changes.map((c) => `${c.action} ${c.address}`)).toEqual([
        `create ${Object.keys(loaded.connections)[0]}.bucket:${loaded.config.buckets![0]!.name}`,
      ]);
      expect(first.decisions.widen).toBe(true);
      await expect(h.apply(first, false)).rejects.toThrow(/widen access; re-run with --allow-widen/);
      const result = await h.apply(first);
      expect(result).toMatchObject({ ok: true });
      const second = await h.plan(loaded);
      expect(second.changes).toEqual([]);
      expect(second.decisions.widen).toBeUndefined();
      expect(second.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    });
  }

  it('statsig-s3.yaml: the folder markers exist on the server after apply', async () => {
    const h = harness();
    // A bucket of its own, so that this test starts from nothing whichever tests ran before it.
    const text = fs.readFileSync(path.join(EXAMPLES, 'statsig-s3.yaml'), 'utf8');
    expect(text).toContain('acme-statsig-drop');
    const loaded = loadText(text.replaceAll('acme-statsig-drop', 'statsig-markers'));
    const p = await h.plan(loaded);
    expect(p.changes.map((c) => c.action)).toEqual(['create']);
    expect(await h.apply(p)).toMatchObject({ ok: true });
    const listed = await s3.client.send(
      new ListObjectsV2Command({ Bucket: 'statsig-markers', Delimiter: '/' }),
    );
    expect((listed.CommonPrefixes ?? []).map((c) => c.Prefix).sort()).toEqual([
      'events/',
      'metrics/',
      'signals/',
    ]);
    expect((await h.plan(loaded)).changes).toEqual([]);
  });
});

const SHARE = (bucket: string, extra = '') => `version: 1
connections:
  share: { type: s3, region: us-east-1 }
buckets:
  - name: ${bucket}
    ${extra}
    folders: [events/, metrics/, exports/daily/]
    policy:
      statements:
        - sid: VendorRead
          principals: ["arn:aws:iam::388856629077:role/Vendor"]
          actions: [s3:GetObject, s3:ListBucket]
          resources: [bucket, objects]
          readOnly: true
        - sid: DenyInsecureTransport
          effect: deny
          principals: "*"
          actions: ["s3:*"]
          resources: [bucket, objects]
          conditions: { Bool: { "aws:SecureTransport": false } }
`;

describe('buckets on an S3-protocol server', () => {
  it('a missing bucket without create: true is an error in the plan, not a change', async () => {
    const h = harness();
    const p = await h.plan(loadText(SHARE('never-created')));
    expect(p.changes).toEqual([]);
    expect(p.diagnostics).toContainEqual(
      expect.objectContaining({ severity: 'error', code: 'bucket-missing' }),
    );
  });

  it('an existing bucket is adopted: settings and policy are put, nothing is created', async () => {
    await s3.client.send(new CreateBucketCommand({ Bucket: 'adopted-share' }));
    const h = harness();
    const loaded = loadText(SHARE('adopted-share'));
    const p = await h.plan(loaded);
    expect(p.changes).toHaveLength(1);
    const ops = p.changes[0]!.statements.map((s) => s.api?.operation);
    expect(ops).toEqual([
      'PutBucketOwnershipControls',
      'PutPublicAccessBlock',
      'PutObject',
      'PutObject',
      'PutObject',
      'PutBucketPolicy',
      'PutBucketTagging',
    ]);
    await h.apply(p);
    expect((await h.plan(loaded)).changes).toEqual([]);
  });

  it('a folder holding data but no marker counts as present; nested folders are found', async () => {
    await s3.client.send(new CreateBucketCommand({ Bucket: 'data-share' }));
    await s3.client.send(
      new PutObjectCommand({ Bucket: 'data-share', Key: 'events/2024-06-22/part-0.parquet', Body: 'x' }),
    );
    await s3.client.send(
      new PutObjectCommand({ Bucket: 'data-share', Key: 'exports/daily/', Body: '', ContentLength: 0 }),
    );
    const read = await readS3Buckets(withFakeControls(s3.client).client, ['data-share', 'missing-share'], {
      'data-share': ['events/', 'exports/daily/', 'metrics/'],
    });
    expect(read.buckets.map((b) => [b.name, b.folders])).toEqual([
      ['data-share', ['events/', 'exports/daily/']],
    ]);
  });

  it('reads a bucket in a fixed number of calls, however many objects it holds', async () => {
    await s3.client.send(new CreateBucketCommand({ Bucket: 'many-objects' }));
    const scope = { 'many-objects': ['events/', 'metrics/'] };
    const before = await readS3Buckets(withFakeControls(s3.client).client, ['many-objects'], scope);
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        s3.client.send(
          new PutObjectCommand({ Bucket: 'many-objects', Key: `events/day-${i}/part.parquet`, Body: 'x' }),
        ),
      ),
    );
    const after = await readS3Buckets(withFakeControls(s3.client).client, ['many-objects'], scope);
    // HeadBucket, policy, public access block, ownership, encryption, tags, one listing per folder.
    expect(before.roundTrips).toBe(8);
    expect(after.roundTrips).toBe(before.roundTrips);
    expect(after.buckets[0]!.folders).toEqual(['events/']);
  });

  it('an out-of-band statement is left alone and reported as unmanaged; a changed owned one is put back', async () => {
    await s3.client.send(new CreateBucketCommand({ Bucket: 'shared-policy' }));
    const h = harness();
    const loaded = loadText(SHARE('shared-policy'));
    await h.apply(await h.plan(loaded));
    const controls = h.controls.get('shared-policy') as BucketControls;
    const live = JSON.parse(controls.policy!) as { Statement: Record<string, unknown>[] };
    const foreign = {
      Sid: 'AnalyticsTeam',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::123456789012:role/analytics' },
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::shared-policy/*',
    };
    live.Statement.push(foreign);
    controls.policy = JSON.stringify(live);

    const p = await h.plan(loaded);
    expect(p.changes).toEqual([]);
    expect(p.unmanaged).toContainEqual({
      address: 'share.bucket:shared-policy/policy:AnalyticsTeam',
      reason: 'bucket policy statement with a Sid the file does not declare',
    });

    // Someone widens the vendor's statement by hand: wharf puts the declared one back and
    // keeps the foreign statement exactly as it was.
    live.Statement[0] = { ...live.Statement[0], Action: ['s3:GetObject', 's3:ListBucket', 's3:PutObject'] };
    controls.policy = JSON.stringify(live);
    const drift = await h.plan(loaded);
    expect(drift.changes).toHaveLength(1);
    expect(drift.changes[0]!.widening).toBeUndefined();
    expect(drift.changes[0]!.policy!.access.join('\n')).toMatch(/Vendor loses s3:PutObject/);
    await h.apply(drift);
    const after = JSON.parse(h.controls.get('shared-policy')!.policy!) as { Statement: unknown[] };
    expect(after.Statement).toContainEqual(foreign);
    expect((await h.plan(loaded)).changes).toEqual([]);
  });

  it('policy.exclusive removes foreign statements, as a destructive change', async () => {
    await s3.client.send(new CreateBucketCommand({ Bucket: 'exclusive-share' }));
    const h = harness();
    h.controls.set('exclusive-share', {
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'Old',
            Effect: 'Allow',
            Principal: '*',
            Action: 's3:GetObject',
            Resource: 'arn:aws:s3:::exclusive-share/*',
          },
        ],
      }),
    });
    const loaded = loadText(
      SHARE('exclusive-share').replace('    policy:\n', '    policy:\n      exclusive: true\n'),
    );
    const p = await h.plan(loaded);
    expect(p.changes[0]).toMatchObject({ destructive: true });
    expect(p.changes[0]!.reasons.join('\n')).toMatch(/removes 1 policy statement\(s\).*Old/);
    expect(p.decisions.destroy).toBe(true);
  });
});

describe('the CLI on an s3 connection with an endpoint', () => {
  it('builds its client from the file and the AWS environment, plans, and reports a failed call per change', async () => {
    const keys = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'] as const;
    const saved = keys.map((k) => process.env[k]);
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-s3cli-'));
    try {
      const file = path.join(dir, 'wharf.yaml');
      fs.writeFileSync(
        file,
        `version: 1
connections:
  share: { type: s3, endpoint: "${s3.endpoint}", forcePathStyle: true }
buckets:
  - name: cli-share
    create: true
    folders: [events/]
  - name: cli-missing
`,
      );
      const missing = await runCli(['plan', '-f', file]);
      expect(missing.code).toBe(1);
      expect(missing.stdout).toContain(`Read share (s3, S3-compatible server at ${s3.endpoint})`);
      expect(missing.stdout).toContain(
        `${file}:8:5  buckets[1]  error: share.bucket:cli-missing: bucket cli-missing does not exist`,
      );

      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('  - name: cli-missing\n', ''));
      const plan = await runCli(['plan', '-f', file, '--detailed-exitcode']);
      expect(plan.code).toBe(2);
      expect(plan.stdout).toContain('s3:CreateBucket Bucket=cli-share');
      // s3rver creates buckets but has no ownership-controls API: the change fails at that
      // call, after CreateBucket, and the report says so.
      const applied = await runCli(['apply', '-f', file, '--auto-approve']);
      expect(applied.code).toBe(1);
      expect(applied.stdout).toContain('failed   share.bucket:cli-share');
      expect(applied.stdout).toContain(
        'connection share: s3:PutBucketOwnershipControls on bucket cli-share failed (BucketAlreadyExists',
      );
      expect(applied.stdout).toContain('while running: -- s3:PutBucketOwnershipControls');
    } finally {
      keys.forEach((k, i) => {
        if (saved[i] === undefined) delete process.env[k];
        else process.env[k] = saved[i];
      });
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The fake behind the control calls enforces S3's rules, so convergence is tested against
// what S3 accepts and stores, not against an echo.
describe("S3's rules for bucket settings", () => {
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (e: { name?: string; message?: string; $metadata?: { httpStatusCode?: number } }) => ({
        name: e.name,
        status: e.$metadata?.httpStatusCode,
        message: e.message,
      }),
    );
  const statement = (extra: Record<string, unknown>) =>
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'S',
          Effect: 'Allow',
          Principal: { AWS: 'arn:aws:iam::388856629077:role/Vendor' },
          Action: 's3:GetObject',
          Resource: 'arn:aws:s3:::rules-share/*',
          ...extra,
        },
      ],
    });

  it('refuses malformed policies and principals, and public policies while BlockPublicPolicy is on', async () => {
    const { client } = withFakeControls(s3.client);
    await s3.client.send(new CreateBucketCommand({ Bucket: 'rules-share' }));
    await client.send(new CreateBucketCommand({ Bucket: 'rules-share-2' })).catch(() => {});
    const put = (Policy: string) =>
      failure(client.send(new PutBucketPolicyCommand({ Bucket: 'rules-share', Policy })));
    // https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html (MalformedPolicy)
    expect(await put('{"Version": "2012-10-17", "Statement": [')).toMatchObject({
      name: 'MalformedPolicy',
      status: 400,
    });
    for (const principal of [
      { AWS: 'arn:aws:iam::38885662907:role/Vendor' },
      { AWS: 'Vendor' },
      { AWS: [] },
      { Users: 'arn:aws:iam::388856629077:root' },
    ])
      expect(await put(statement({ Principal: principal }))).toEqual({
        name: 'MalformedPolicy',
        status: 400,
        message: 'Invalid principal in policy',
      });
    expect(await put(statement({ Principal: undefined }))).toMatchObject({ name: 'MalformedPolicy' });
    expect(await put(statement({ Resource: 'arn:aws:s3:::another-bucket/*' }))).toMatchObject({
      message: 'Policy has invalid resource',
    });
    expect(await put(statement({ Actions: 's3:GetObject' }))).toMatchObject({
      message: 'Unknown field Actions',
    });
    // A policy is public when it allows a wildcard principal without a fixing condition:
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status
    await client.send(
      new PutPublicAccessBlockCommand({
        Bucket: 'rules-share',
        PublicAccessBlockConfiguration: { BlockPublicPolicy: true },
      }),
    );
    expect(await put(statement({ Principal: '*' }))).toEqual({
      name: 'AccessDenied',
      status: 403,
      message: 'Access Denied',
    });
    expect(
      await put(
        statement({ Principal: '*', Condition: { StringEquals: { 'aws:SourceAccount': '388856629077' } } }),
      ),
    ).toBeNull();
    expect(await put(statement({ Principal: '*', Effect: 'Deny' }))).toBeNull();
  });

  it('refuses unknown elements (MalformedXML) and reads settings back as S3 stores them', async () => {
    const { client, controls } = withFakeControls(s3.client);
    await client.send(new CreateBucketCommand({ Bucket: 'rules-readback' }));
    // A new bucket has every Block Public Access flag on, ACLs disabled and SSE-S3:
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/create-bucket-overview.html
    expect(controls.get('rules-readback')).toMatchObject({
      publicAccessBlock: {
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      },
      ownership: 'BucketOwnerEnforced',
    });
    expect(
      await failure(
        client.send(
          new PutPublicAccessBlockCommand({
            Bucket: 'rules-readback',
            PublicAccessBlockConfiguration: { BlockPublicPolicy: false, BlockEverything: true } as never,
          }),
        ),
      ),
    ).toMatchObject({ name: 'MalformedXML', status: 400 });
    expect(
      await failure(
        client.send(
          new PutBucketOwnershipControlsCommand({
            Bucket: 'rules-readback',
            OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwner' as never }] },
          }),
        ),
      ),
    ).toMatchObject({ name: 'MalformedXML' });
    expect(
      await failure(
        client.send(
          new PutBucketTaggingCommand({
            Bucket: 'rules-readback',
            Tagging: { TagSet: [{ Key: 'aws:owner', Value: 'x' }] },
          }),
        ),
      ),
    ).toMatchObject({ name: 'InvalidTag' });
    // Flags left out of the PUT read back false.
    await client.send(
      new PutPublicAccessBlockCommand({
        Bucket: 'rules-readback',
        PublicAccessBlockConfiguration: { BlockPublicAcls: true },
      }),
    );
    expect(
      (await client.send(new GetPublicAccessBlockCommand({ Bucket: 'rules-readback' })))
        .PublicAccessBlockConfiguration,
    ).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: false,
      BlockPublicPolicy: false,
      RestrictPublicBuckets: false,
    });
    // An account id as principal comes back as the account's root ARN:
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-accounts
    await client.send(
      new PutBucketPolicyCommand({
        Bucket: 'rules-readback',
        Policy: JSON.stringify(
          {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'S',
                Effect: 'Allow',
                Principal: { AWS: ['388856629077', 'arn:aws:iam::111122223333:role/R'] },
                Action: 's3:GetObject',
                Resource: 'arn:aws:s3:::rules-readback/*',
              },
            ],
          },
          null,
          2,
        ),
      }),
    );
    const stored = (await client.send(new GetBucketPolicyCommand({ Bucket: 'rules-readback' }))).Policy!;
    expect(JSON.parse(stored).Statement[0].Principal).toEqual({
      AWS: ['arn:aws:iam::388856629077:root', 'arn:aws:iam::111122223333:role/R'],
    });
    expect(stored).not.toContain('\n');
  });

  // ReaderRoles passes wharf's lint (the caller is pinned by aws:PrincipalArn), but for S3 it is
  // public: a wildcard in the pinning value is not a fixed value (any account can make a role
  // named Reader), so S3 refuses it while BlockPublicPolicy is on.
  const PUBLIC = (bucket: string, bpa: string) => `version: 1
connections:
  share: { type: s3, region: us-east-1 }
buckets:
  - name: ${bucket}
    create: true
    blockPublicAccess: ${bpa}
    policy:
      statements:
        - sid: VendorAccount
          principals: ["388856629077"]
          actions: [s3:GetObject]
          resources: [objects]
          readOnly: true
          conditions: { ArnLike: { "aws:PrincipalArn": "arn:aws:iam::388856629077:role/Vendor" } }
${
  bpa === 'false'
    ? `        - sid: ReaderRoles
          principals: "*"
          actions: [s3:GetObject]
          resources: [objects]
          readOnly: true
          conditions: { ArnLike: { "aws:PrincipalArn": "arn:aws:iam::*:role/Reader" } }
`
    : ''
}`;

  it('an account-id principal converges although S3 stores it as the root ARN', async () => {
    const h = harness();
    const loaded = loadText(PUBLIC('account-principal', 'true'));
    const first = await h.plan(loaded);
    expect((await h.apply(first)).ok).toBe(true);
    const stored = JSON.parse(
      (await h.client.send(new GetBucketPolicyCommand({ Bucket: 'account-principal' }))).Policy,
    );
    expect(stored.Statement[0].Principal.AWS).toEqual(['arn:aws:iam::388856629077:root']);
    expect((await h.plan(loaded)).changes).toEqual([]);
  });

  it('a public policy lands only after block public access is turned off, on create and on update', async () => {
    // Create: the new bucket has BlockPublicPolicy on until wharf's PutPublicAccessBlock.
    const h = harness();
    const created = loadText(PUBLIC('public-create', 'false'));
    const c = await h.apply(await h.plan(created));
    expect(c.results.map((r) => [r.status, r.error?.message])).toEqual([['done', undefined]]);
    expect((await h.plan(created)).changes).toEqual([]);
    // Update: an existing bucket with every flag on opens up.
    const closed = loadText(PUBLIC('public-update', 'true'));
    expect((await h.apply(await h.plan(closed))).ok).toBe(true);
    const opened = loadText(PUBLIC('public-update', 'false'));
    const p = await h.plan(opened);
    expect(p.changes[0]!.statements.map((s) => s.api?.operation)).toEqual([
      'PutPublicAccessBlock',
      'PutBucketPolicy',
      'PutBucketTagging',
    ]);
    const u = await h.apply(p);
    expect(u.results.map((r) => [r.status, r.error?.message])).toEqual([['done', undefined]]);
    expect((await h.plan(opened)).changes).toEqual([]);
  });
});
