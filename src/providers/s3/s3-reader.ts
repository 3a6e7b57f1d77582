// Reads the declared buckets' live state from S3 with the client passed in: per bucket,
// HeadBucket, then in parallel GetBucketPolicy, GetPublicAccessBlock,
// GetBucketOwnershipControls, GetBucketEncryption, GetBucketTagging (wharf's ownership tag)
// and one ListObjectsV2 (MaxKeys 1) per
// declared folder — a number of calls fixed by the file, however many objects the bucket holds.
// "Not configured" answers become their S3 defaults; access denied is an error naming the
// permission wharf needs.
import {
  GetBucketEncryptionCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { AwsError } from '../aws-errors.js';
import {
  type BlockPublicAccess,
  type BucketEncryption,
  type BucketResource,
  OBJECT_OWNERSHIPS,
  type ObjectOwnership,
  ownedSidsFromTags,
} from './bucket-model.js';
import { type IamPolicy, parsePolicy } from './policy/index.js';

/** The part of an S3Client that wharf uses; tests pass a mock or a loopback-server client. */
export interface S3Like {
  // biome-ignore lint/suspicious/noExplicitAny: the SDK's command types are generic per operation
  send(command: any): Promise<any>;
}

export class BucketReadError extends Error {
  constructor(
    readonly bucket: string,
    message: string,
  ) {
    super(`bucket ${bucket}: ${message}`);
    this.name = 'BucketReadError';
  }
}

export interface BucketReadResult {
  buckets: BucketResource[];
  roundTrips: number;
}

export async function readS3Buckets(
  client: S3Like,
  names: readonly string[],
  folders: Record<string, string[]> = {},
): Promise<BucketReadResult> {
  let roundTrips = 0;
  const send = async <T>(cmd: unknown): Promise<T> => {
    roundTrips++;
    return (await client.send(cmd)) as T;
  };
  const read = async (bucket: string): Promise<BucketResource | null> => {
    try {
      await send(new HeadBucketCommand({ Bucket: bucket }));
    } catch (e) {
      if (isCode(e, ['NotFound', 'NoSuchBucket'], 404)) return null;
      throw denied(bucket, e, 's3:ListBucket (HeadBucket)');
    }
    const [policy, bpa, ownership, encryption, tags, present] = await Promise.all([
      readPolicy(bucket, send),
      readPublicAccessBlock(bucket, send),
      readOwnership(bucket, send),
      readEncryption(bucket, send),
      readTags(bucket, send),
      readFolders(bucket, folders[bucket] ?? [], send),
    ]);
    return {
      kind: 'bucket',
      name: bucket,
      blockPublicAccess: bpa,
      objectOwnership: ownership,
      encryption,
      folders: present,
      policy,
      ownedSids: ownedSidsFromTags(tags),
      tags,
    };
  };
  const all = await Promise.all([...names].sort().map(read));
  return { buckets: all.filter((b): b is BucketResource => b !== null), roundTrips };
}

type Send = <T>(cmd: unknown) => Promise<T>;

async function readPolicy(bucket: string, send: Send): Promise<IamPolicy | null> {
  let text: string | undefined;
  try {
    text = (await send<{ Policy?: string }>(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy;
  } catch (e) {
    if (isCode(e, ['NoSuchBucketPolicy'])) return null;
    throw denied(bucket, e, 's3:GetBucketPolicy');
  }
  if (!text) return null;
  try {
    return parsePolicy(JSON.parse(text));
  } catch (e) {
    throw new BucketReadError(bucket, `the live bucket policy cannot be read: ${(e as Error).message}`);
  }
}

async function readPublicAccessBlock(bucket: string, send: Send): Promise<BlockPublicAccess> {
  try {
    const out = await send<{ PublicAccessBlockConfiguration?: Partial<BlockPublicAccess> }>(
      new GetPublicAccessBlockCommand({ Bucket: bucket }),
    );
    const c = out.PublicAccessBlockConfiguration ?? {};
    return {
      BlockPublicAcls: c.BlockPublicAcls === true,
      IgnorePublicAcls: c.IgnorePublicAcls === true,
      BlockPublicPolicy: c.BlockPublicPolicy === true,
      RestrictPublicBuckets: c.RestrictPublicBuckets === true,
    };
  } catch (e) {
    if (isCode(e, ['NoSuchPublicAccessBlockConfiguration']))
      return {
        BlockPublicAcls: false,
        IgnorePublicAcls: false,
        BlockPublicPolicy: false,
        RestrictPublicBuckets: false,
      };
    throw denied(bucket, e, 's3:GetBucketPublicAccessBlock');
  }
}

async function readOwnership(bucket: string, send: Send): Promise<ObjectOwnership> {
  try {
    const out = await send<{ OwnershipControls?: { Rules?: { ObjectOwnership?: string }[] } }>(
      new GetBucketOwnershipControlsCommand({ Bucket: bucket }),
    );
    const o = out.OwnershipControls?.Rules?.[0]?.ObjectOwnership;
    return (OBJECT_OWNERSHIPS as readonly string[]).includes(o ?? '')
      ? (o as ObjectOwnership)
      : 'ObjectWriter';
  } catch (e) {
    // No ownership controls: the object writer owns objects and ACLs apply.
    if (isCode(e, ['OwnershipControlsNotFoundError'])) return 'ObjectWriter';
    throw denied(bucket, e, 's3:GetBucketOwnershipControls');
  }
}

async function readEncryption(bucket: string, send: Send): Promise<BucketEncryption | null> {
  try {
    const out = await send<{
      ServerSideEncryptionConfiguration?: {
        Rules?: { ApplyServerSideEncryptionByDefault?: { SSEAlgorithm?: string; KMSMasterKeyID?: string } }[];
      };
    }>(new GetBucketEncryptionCommand({ Bucket: bucket }));
    const d = out.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault;
    if (!d?.SSEAlgorithm) return null;
    return d.SSEAlgorithm === 'AES256'
      ? { algorithm: 'AES256', kmsKeyId: null }
      : { algorithm: 'aws:kms', kmsKeyId: d.KMSMasterKeyID ?? null };
  } catch (e) {
    if (isCode(e, ['ServerSideEncryptionConfigurationNotFoundError'])) return null;
    throw denied(bucket, e, 's3:GetEncryptionConfiguration');
  }
}

async function readTags(bucket: string, send: Send): Promise<Record<string, string>> {
  try {
    const out = await send<{ TagSet?: { Key?: string; Value?: string }[] }>(
      new GetBucketTaggingCommand({ Bucket: bucket }),
    );
    return Object.fromEntries((out.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  } catch (e) {
    if (isCode(e, ['NoSuchTagSet', 'NoSuchTagSetError'])) return {};
    throw denied(bucket, e, 's3:GetBucketTagging');
  }
}

/**
 * The declared folders that exist: a marker object or any key under the prefix. One
 * ListObjectsV2 with MaxKeys 1 per declared folder: the answer never pages, and its cost does
 * not grow with the objects the bucket holds.
 */
async function readFolders(bucket: string, declared: readonly string[], send: Send): Promise<string[]> {
  const present = await Promise.all(
    declared.map(async (folder) => {
      try {
        const out = await send<{ KeyCount?: number; Contents?: unknown[] }>(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: folder, MaxKeys: 1 }),
        );
        return (out.KeyCount ?? out.Contents?.length ?? 0) > 0;
      } catch (e) {
        throw denied(bucket, e, 's3:ListBucket');
      }
    }),
  );
  return declared.filter((_, i) => present[i]).sort();
}

function isCode(e: unknown, codes: readonly string[], status?: number): boolean {
  const err = e as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return (
    codes.includes(err.name ?? '') ||
    codes.includes(err.Code ?? '') ||
    (e instanceof AwsError && codes.includes(e.code ?? '')) ||
    (status !== undefined && err.$metadata?.httpStatusCode === status)
  );
}

function denied(bucket: string, e: unknown, permission: string): Error {
  // A client from connect.ts has already worded it, naming the connection, bucket and action.
  if (e instanceof AwsError) return e;
  if (isCode(e, ['AccessDenied', 'Forbidden', 'MethodNotAllowed'], 403)) {
    return new BucketReadError(
      bucket,
      `access denied (${(e as Error).name}); wharf needs ${permission} on this bucket, and the bucket must belong to the account of the credentials`,
    );
  }
  return new BucketReadError(bucket, `${(e as Error).name ?? 'error'}: ${(e as Error).message}`);
}
