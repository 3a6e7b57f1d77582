// `wharf inspect` of buckets on the S3 test server (s3rver, with the bucket settings on the
// in-memory fake of test/support/s3.ts): the S3 examples applied by wharf, and a bucket set up by
// hand, are inspected into a file whose plan against the same buckets is empty. Only the
// statements wharf owns (the Sids of its ownership tag) are written; the others are reported.
import fs from 'node:fs';
import path from 'node:path';
import {
  CreateBucketCommand,
  PutBucketEncryptionCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutPublicAccessBlockCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPlan } from '../src/apply/apply.js';
import { inspectConfig } from '../src/commands/inspect.js';
import { planConfig } from '../src/commands/plan.js';
import { loadConfigText } from '../src/config/load.js';
import type { LoadedConfig } from '../src/config/types.js';
import '../src/engines.js';
import type { OpenedConnection } from '../src/providers/connect.js';
import type { Provider } from '../src/providers/provider.js';
import { S3Provider } from '../src/providers/s3/s3-provider.js';
import { bucketsOnly, startS3Server, type TestS3Server, withFakeControls } from './support/s3.js';

let s3: TestS3Server;
beforeAll(async () => {
  s3 = await startS3Server();
}, 30_000);
afterAll(async () => {
  await s3?.stop();
});

const EXAMPLES = path.join(import.meta.dirname, '..', 'examples');

function loadText(text: string, file = path.join(EXAMPLES, 'inline.yaml')): LoadedConfig {
  const { loaded, diagnostics } = loadConfigText(text, file);
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return loaded!;
}

/** Plans, applies and inspects through one S3 provider on s3rver, control calls on the fake. */
function harness() {
  const { client } = withFakeControls(s3.client);
  const provider = new S3Provider(client, { region: 'us-east-1', server: 's3rver' });
  let reads = 0;
  const open = async (
    name: string,
    config: LoadedConfig['connections'][string],
  ): Promise<OpenedConnection> => ({
    name,
    config,
    provider: {
      ...provider,
      type: provider.type,
      read: (scope) => {
        reads++;
        return provider.read(scope);
      },
      compile: (c) => provider.compile(c),
      execute: (c, o) => provider.execute(c, o),
      lock: (h, t) => provider.lock(h, t),
      close: () => provider.close(),
    },
    description: 's3rver',
    close: async () => {},
  });
  const changes = async (loaded: LoadedConfig) => {
    const run = await planConfig(loaded, { open });
    await run.close();
    expect(run.plan.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    return run.plan;
  };
  const apply = async (loaded: LoadedConfig) => {
    const p = await changes(loaded);
    const providers = new Map<string, Provider>(Object.keys(p.connections).map((n) => [n, provider]));
    expect(
      await applyPlan(p, providers, {
        allowDestroy: false,
        allowWiden: true,
        lockTimeoutMs: 0,
        holder: 'test',
      }),
    ).toMatchObject({ ok: true });
  };
  const inspect = async (loaded: LoadedConfig, buckets: string[]) => {
    const before = reads;
    const r = await inspectConfig(loaded, { schemas: [], roles: [], buckets, open });
    return { ...r, reads: reads - before };
  };
  return { client, open, changes, apply, inspect };
}

describe('wharf inspect: buckets on the S3 test server', () => {
  for (const example of ['toplyne-s3.yaml', 'statsig-s3.yaml']) {
    it(`${example}: apply, inspect, plan plans nothing`, async () => {
      const h = harness();
      const text = fs.readFileSync(path.join(EXAMPLES, example), 'utf8');
      // A bucket of this test's own, whatever other test files made on the same server.
      const source = bucketsOnly(loadText(text));
      const name = source.config.buckets![0]!.name;
      const own = `insp-${name}`.slice(0, 63);
      const loaded = bucketsOnly(loadText(text.replaceAll(name, own)));
      await h.apply(loaded);
      const result = await h.inspect(loaded, [own]);
      // The same read as plan's: one provider read for the bucket connection.
      expect(result.reads).toBe(1);
      expect(result.residual).toEqual([]);
      const inspected = loadText(result.text);
      expect((await h.changes(inspected)).changes).toEqual([]);
      // Every statement the example declares comes back under its Sid.
      for (const st of loaded.config.buckets![0]!.policy?.statements ?? [])
        expect(result.text).toContain(`sid: ${st.sid}`);
      expect(result.text.split('\n')[0]).toMatch(/^# yaml-language-server: \$schema=/);
    });
  }

  it('a bucket set up by hand: its settings are written, statements wharf does not own are reported', async () => {
    const h = harness();
    const bucket = 'insp-hand-made';
    await h.client.send(new CreateBucketCommand({ Bucket: bucket }));
    await h.client.send(
      new PutPublicAccessBlockCommand({
        Bucket: bucket,
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          IgnorePublicAcls: true,
          BlockPublicPolicy: false,
          RestrictPublicBuckets: true,
        },
      }),
    );
    await h.client.send(
      new PutBucketOwnershipControlsCommand({
        Bucket: bucket,
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] },
      }),
    );
    await h.client.send(
      new PutBucketEncryptionCommand({
        Bucket: bucket,
        ServerSideEncryptionConfiguration: {
          Rules: [
            {
              ApplyServerSideEncryptionByDefault: {
                SSEAlgorithm: 'aws:kms',
                KMSMasterKeyID: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
              },
            },
          ],
        },
      }),
    );
    await h.client.send(
      new PutBucketPolicyCommand({
        Bucket: bucket,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'VendorRead',
              Effect: 'Allow',
              Principal: { AWS: 'arn:aws:iam::444455556666:root' },
              Action: 's3:GetObject',
              Resource: `arn:aws:s3:::${bucket}/exports/*`,
            },
            {
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:*',
              Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            },
          ],
        }),
      }),
    );
    const connections = loadText('version: 1\nconnections:\n  drop:\n    type: s3\n    region: us-east-1\n');
    const result = await h.inspect(connections, [bucket]);
    expect(result.residual).toEqual([]);
    expect(result.text).toContain('objectOwnership: BucketOwnerPreferred');
    expect(result.text).toMatch(
      /blockPublicAccess:\s+blockPublicAcls: true\s+ignorePublicAcls: true\s+blockPublicPolicy: false\s+restrictPublicBuckets: true\n/,
    );
    expect(result.text).toContain(
      'kmsKeyId: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"',
    );
    expect(result.notes.map((n) => n.object)).toEqual([
      `bucket ${bucket} policy statement VendorRead`,
      `bucket ${bucket} policy statement #2 (no Sid)`,
    ]);
    expect(result.text).not.toContain('policy:');
    const inspected = loadText(result.text);
    expect((await h.changes(inspected)).changes).toEqual([]);
  });

  it('a bucket that does not exist is reported, not written', async () => {
    const h = harness();
    const connections = loadText('version: 1\nconnections:\n  drop:\n    type: s3\n    region: us-east-1\n');
    const result = await h.inspect(connections, ['insp-no-such-bucket']);
    expect(result.notes).toEqual([
      { object: 'bucket insp-no-such-bucket', reason: 'not found on connection drop' },
    ]);
    expect(result.text).not.toContain('buckets:');
  });
});
