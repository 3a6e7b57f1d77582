// Bucket changes -> S3 API calls, exactly as they will be sent. Shared by the S3 provider
// (which sends them) and the local-bucket provider (which replays them on a folder). Pure.
//
// Order within a change: create the bucket, ownership controls, block public access,
// default encryption, folder markers, the policy — so a policy is only ever put on a bucket
// whose public-access guard is already in its declared state — and last the ownership tag.
import { assertNever } from '../../plan/address.js';
import type { ApiCall, Change, Statement } from '../../plan/plan.js';
import { type BucketResource, OWNED_SIDS_TAG } from './bucket-model.js';

export interface BucketCompileOptions {
  /** The region a new bucket is created in; us-east-1 takes no LocationConstraint. */
  region?: string;
  /** local-bucket: settings are recorded, not enforced. */
  enforced: boolean;
}

export function compileBucketChange(change: Change, opts: BucketCompileOptions): Statement[] {
  const after = change.after;
  if (after?.kind !== 'bucket') throw new Error(`${change.address}: not a bucket change`);
  switch (change.action) {
    case 'create':
      return [
        call(
          opts,
          true,
          'CreateBucket',
          createBucketInput(after.name, opts.region),
          `create bucket ${after.name}`,
        ),
        ownership(after, opts),
        publicAccessBlock(after, opts),
        ...(after.encryption ? [encryption(after, opts)] : []),
        ...after.folders.map((f) => folder(after.name, f, opts)),
        ...(after.policy ? [policy(after, opts)] : []),
        ...(after.ownedSids?.length ? [ownershipTag(after, opts)] : []),
      ];
    case 'update': {
      const touched = (p: string) => change.fields.some((f) => f.path === p || f.path.startsWith(`${p}.`));
      const out: Statement[] = [];
      if (touched('objectOwnership')) out.push(ownership(after, opts));
      if (touched('blockPublicAccess')) out.push(publicAccessBlock(after, opts));
      if (touched('encryption') && after.encryption) out.push(encryption(after, opts));
      for (const f of change.fields) {
        if (f.path.startsWith('folders.')) out.push(folder(after.name, String(f.after), opts));
      }
      if (touched('policy')) out.push(policy(after, opts));
      if (touched('ownedSids')) out.push(ownershipTag(after, opts));
      return out;
    }
    case 'replace':
    case 'delete':
      throw new Error(`${change.address}: wharf never ${change.action}s a bucket`);
    default:
      return assertNever(change.action);
  }
}

function createBucketInput(bucket: string, region: string | undefined): Record<string, unknown> {
  return region && region !== 'us-east-1'
    ? { Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: region } }
    : { Bucket: bucket };
}

function ownership(b: BucketResource, opts: BucketCompileOptions): Statement {
  return call(
    opts,
    false,
    'PutBucketOwnershipControls',
    { Bucket: b.name, OwnershipControls: { Rules: [{ ObjectOwnership: b.objectOwnership }] } },
    `set object ownership of ${b.name} to ${b.objectOwnership}`,
  );
}

function publicAccessBlock(b: BucketResource, opts: BucketCompileOptions): Statement {
  const on = Object.values(b.blockPublicAccess).filter(Boolean).length;
  return call(
    opts,
    false,
    'PutPublicAccessBlock',
    { Bucket: b.name, PublicAccessBlockConfiguration: { ...b.blockPublicAccess } },
    `set block public access of ${b.name} (${on} of 4 flags on)`,
  );
}

function encryption(b: BucketResource, opts: BucketCompileOptions): Statement {
  const e = b.encryption!;
  return call(
    opts,
    false,
    'PutBucketEncryption',
    {
      Bucket: b.name,
      ServerSideEncryptionConfiguration: {
        Rules: [
          {
            ApplyServerSideEncryptionByDefault: {
              SSEAlgorithm: e.algorithm,
              ...(e.kmsKeyId ? { KMSMasterKeyID: e.kmsKeyId } : {}),
            },
          },
        ],
      },
    },
    `set default encryption of ${b.name} to ${e.algorithm === 'AES256' ? 'SSE-S3' : `SSE-KMS${e.kmsKeyId ? ` (${e.kmsKeyId})` : ''}`}`,
  );
}

function folder(bucket: string, key: string, opts: BucketCompileOptions): Statement {
  return call(
    opts,
    true,
    'PutObject',
    { Bucket: bucket, Key: key, Body: '' },
    `create folder marker s3://${bucket}/${key}`,
  );
}

function policy(b: BucketResource, opts: BucketCompileOptions): Statement {
  if (b.policy === null) {
    return call(
      opts,
      false,
      'DeleteBucketPolicy',
      { Bucket: b.name },
      `delete the bucket policy of ${b.name}`,
    );
  }
  const n = b.policy.Statement.length;
  return call(
    opts,
    false,
    'PutBucketPolicy',
    { Bucket: b.name, Policy: JSON.stringify(b.policy) },
    `put the bucket policy of ${b.name} (${n} statement${n === 1 ? '' : 's'})`,
  );
}

/**
 * Records the Sids wharf owns in the bucket's ownership tag, keeping every other tag. Runs
 * after the policy: ownership is only recorded once the statements are in place.
 */
function ownershipTag(b: BucketResource, opts: BucketCompileOptions): Statement {
  const sids = b.ownedSids ?? [];
  const TagSet = [
    ...Object.entries(b.tags ?? {})
      .filter(([k]) => k !== OWNED_SIDS_TAG)
      .sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0))
      .map(([Key, Value]) => ({ Key, Value })),
    ...(sids.length > 0 ? [{ Key: OWNED_SIDS_TAG, Value: sids.join(' ') }] : []),
  ];
  if (TagSet.length === 0) {
    return call(
      opts,
      true,
      'DeleteBucketTagging',
      { Bucket: b.name },
      `forget the policy statements wharf owned in ${b.name}`,
    );
  }
  return call(
    opts,
    true,
    'PutBucketTagging',
    { Bucket: b.name, Tagging: { TagSet } },
    `record the policy statements wharf owns in ${b.name}: ${sids.join(', ') || 'none'}`,
  );
}

/** `sql` carries a one-line description for readers of the SQL form; `api` is what runs. */
function call(
  opts: BucketCompileOptions,
  alwaysEnforced: boolean,
  operation: string,
  input: Record<string, unknown>,
  description: string,
): Statement {
  const api: ApiCall = { service: 's3', operation, input };
  const enforced = alwaysEnforced || opts.enforced;
  return {
    sql: `-- s3:${operation}: ${description}${enforced ? '' : ' (recorded, not enforced)'}`,
    api,
    transactional: false,
    ...(enforced ? {} : { enforced: false }),
  };
}
