// S3 test support: a real S3-protocol server (s3rver) on loopback in a child process, an
// S3Client for it, and a client that sends the bucket-configuration calls s3rver does not
// implement (policy, public access block, ownership controls, encryption, tagging) to an in-memory
// fake built on aws-sdk-client-mock, and everything else to the real server.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DeleteBucketPolicyCommand,
  DeleteBucketTaggingCommand,
  GetBucketEncryptionCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetPublicAccessBlockCommand,
  PutBucketEncryptionCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutPublicAccessBlockCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import type { S3Like } from '../../src/providers/s3/s3-reader.js';

export interface TestS3Server {
  endpoint: string;
  client: S3Client;
  stop(): Promise<void>;
}

export async function startS3Server(): Promise<TestS3Server> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-s3rver-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [path.join(import.meta.dirname, 's3rver-child.mjs'), dir],
    {
      env: { ...process.env, NODE_OPTIONS: '--openssl-legacy-provider' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n')[0];
      if (buf.includes('\n') && line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.on('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    client: s3ClientFor(endpoint),
    stop: async () => {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function s3ClientFor(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
}

export function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  });
}

export interface BucketControls {
  policy?: string;
  publicAccessBlock?: Record<string, boolean>;
  ownership?: string;
  encryption?: Record<string, unknown>;
  tags?: { Key: string; Value: string }[];
}

const CONTROL = new Set([
  GetBucketPolicyCommand,
  PutBucketPolicyCommand,
  DeleteBucketPolicyCommand,
  GetPublicAccessBlockCommand,
  PutPublicAccessBlockCommand,
  GetBucketOwnershipControlsCommand,
  PutBucketOwnershipControlsCommand,
  GetBucketEncryptionCommand,
  PutBucketEncryptionCommand,
  GetBucketTaggingCommand,
  PutBucketTaggingCommand,
  DeleteBucketTaggingCommand,
]);

/**
 * A client for `real` whose control calls go to a stateful fake instead (s3rver has no
 * bucket-policy APIs). `controls` is the fake's state per bucket; tests edit it to simulate
 * out-of-band changes. Answers mirror S3's, including its "not configured" errors.
 */
export function withFakeControls(real: S3Like): { client: S3Like; controls: Map<string, BucketControls> } {
  const controls = new Map<string, BucketControls>();
  const fakeS3 = new S3Client({ region: 'us-east-1' });
  const fake = mockClient(fakeS3);
  const state = (b: string | undefined) => {
    const s = controls.get(b!) ?? {};
    controls.set(b!, s);
    return s;
  };
  fake
    .on(GetBucketPolicyCommand)
    .callsFake(({ Bucket }) => {
      const p = state(Bucket).policy;
      if (p === undefined) throw s3Error('NoSuchBucketPolicy', 404);
      return { Policy: p };
    })
    .on(PutBucketPolicyCommand)
    .callsFake(({ Bucket, Policy }) => {
      state(Bucket).policy = Policy;
      return {};
    })
    .on(DeleteBucketPolicyCommand)
    .callsFake(({ Bucket }) => {
      delete state(Bucket).policy;
      return {};
    })
    .on(GetPublicAccessBlockCommand)
    .callsFake(({ Bucket }) => {
      const c = state(Bucket).publicAccessBlock;
      if (!c) throw s3Error('NoSuchPublicAccessBlockConfiguration', 404);
      return { PublicAccessBlockConfiguration: c };
    })
    .on(PutPublicAccessBlockCommand)
    .callsFake(({ Bucket, PublicAccessBlockConfiguration }) => {
      state(Bucket).publicAccessBlock = { ...PublicAccessBlockConfiguration };
      return {};
    })
    .on(GetBucketOwnershipControlsCommand)
    .callsFake(({ Bucket }) => {
      const o = state(Bucket).ownership;
      if (!o) throw s3Error('OwnershipControlsNotFoundError', 404);
      return { OwnershipControls: { Rules: [{ ObjectOwnership: o }] } };
    })
    .on(PutBucketOwnershipControlsCommand)
    .callsFake(({ Bucket, OwnershipControls }) => {
      state(Bucket).ownership = OwnershipControls.Rules[0].ObjectOwnership;
      return {};
    })
    .on(GetBucketEncryptionCommand)
    .callsFake(({ Bucket }) => {
      const e = state(Bucket).encryption;
      if (!e) throw s3Error('ServerSideEncryptionConfigurationNotFoundError', 404);
      return { ServerSideEncryptionConfiguration: e };
    })
    .on(PutBucketEncryptionCommand)
    .callsFake(({ Bucket, ServerSideEncryptionConfiguration }) => {
      state(Bucket).encryption = ServerSideEncryptionConfiguration;
      return {};
    })
    .on(GetBucketTaggingCommand)
    .callsFake(({ Bucket }) => {
      const t = state(Bucket).tags;
      if (!t) throw s3Error('NoSuchTagSet', 404);
      return { TagSet: t };
    })
    .on(PutBucketTaggingCommand)
    .callsFake(({ Bucket, Tagging }) => {
      state(Bucket).tags = [...Tagging.TagSet];
      return {};
    })
    .on(DeleteBucketTaggingCommand)
    .callsFake(({ Bucket }) => {
      delete state(Bucket).tags;
      return {};
    });
  const fakeClient: S3Like = fakeS3;
  return {
    controls,
    client: {
      send: (cmd: { constructor: unknown }) =>
        [...CONTROL].some((C) => cmd instanceof C) ? fakeClient.send(cmd) : real.send(cmd),
    },
  };
}
