// `buckets:` -> desired bucket resources, normalized the way bucket providers read them:
// defaults filled in, folders with one trailing slash and sorted, the policy compiled to
// canonical IAM JSON. The S3 engine's toDesired (engine.ts), run by src/config/to-desired.ts. Pure.

import type { LoadedConfig } from '../../config/types.js';
import type { BlockPublicAccess, BucketEncryption, BucketResource } from './bucket-model.js';
import type { BucketConfig } from './config.js';
import { compilePolicy } from './policy/index.js';
import { bucketConnectionOf, normalizeFolder } from './rules.js';

export function bucketsToDesired(loaded: LoadedConfig): { connection: string; bucket: BucketResource }[] {
  return (loaded.config.buckets ?? []).map((b) => ({
    connection: bucketConnectionOf(b.connection, loaded.connections) ?? '',
    bucket: bucketResource(b),
  }));
}

export function bucketResource(b: BucketConfig): BucketResource {
  const resource: BucketResource = {
    kind: 'bucket',
    name: b.name,
    create: b.create ?? false,
    blockPublicAccess: blockPublicAccess(b.blockPublicAccess),
    objectOwnership: b.objectOwnership ?? 'BucketOwnerEnforced',
    encryption: encryption(b.encryption),
    folders: [...new Set((b.folders ?? []).map(normalizeFolder))].sort(),
    policy: b.policy ? compilePolicy(b.name, b.policy) : null,
    policyExclusive: b.policy?.exclusive ?? false,
  };
  if (resource.policy) resource.ownedSids = resource.policy.Statement.map((st) => st.Sid!).sort();
  return resource;
}

function blockPublicAccess(v: BucketConfig['blockPublicAccess']): BlockPublicAccess {
  const all = v === undefined || v === true ? true : v === false ? false : undefined;
  const flag = (x: boolean | undefined) => all ?? x ?? true;
  const o = typeof v === 'object' ? v : {};
  return {
    BlockPublicAcls: flag(o.blockPublicAcls),
    IgnorePublicAcls: flag(o.ignorePublicAcls),
    BlockPublicPolicy: flag(o.blockPublicPolicy),
    RestrictPublicBuckets: flag(o.restrictPublicBuckets),
  };
}

function encryption(e: BucketConfig['encryption']): BucketEncryption | null {
  if (!e) return null;
  if (e.type === 'sse-s3') return { algorithm: 'AES256', kmsKeyId: null };
  return { algorithm: 'aws:kms', kmsKeyId: e.kmsKeyId ?? null };
}
