// The `buckets:` section of a wharf file after schema validation, the connection types that
// hold buckets, and the defaults the README documents for each key.
import type { ObjectOwnership } from '../plan/bucket-model.js';
import type { BucketPolicyConfig } from '../plan/bucket-policy-types.js';

/** Connection types that hold buckets rather than warehouse objects. */
export const BUCKET_CONNECTION_TYPES: readonly string[] = ['s3', 'local-bucket'];

export function isBucketConnectionType(type: string): boolean {
  return BUCKET_CONNECTION_TYPES.includes(type);
}

export interface BlockPublicAccessConfig {
  blockPublicAcls?: boolean;
  ignorePublicAcls?: boolean;
  blockPublicPolicy?: boolean;
  restrictPublicBuckets?: boolean;
}

export interface BucketConfig {
  name: string;
  /** Default: the only bucket connection of the file. */
  connection?: string;
  /** Create the bucket when it is missing. Default false: a missing bucket is an error. */
  create?: boolean;
  /** `true` (default) turns all four flags on, `false` all off; or set them one by one (unset ones stay on). */
  blockPublicAccess?: boolean | BlockPublicAccessConfig;
  /** Default `BucketOwnerEnforced`: ACLs disabled. */
  objectOwnership?: ObjectOwnership;
  /** Default encryption; not managed when absent. */
  encryption?: { type: 'sse-s3' } | { type: 'sse-kms'; kmsKeyId?: string };
  /** Folder markers, e.g. `events/`; a missing trailing slash is added. */
  folders?: string[];
  policy?: BucketPolicyConfig;
}
