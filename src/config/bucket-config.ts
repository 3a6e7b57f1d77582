// The `buckets:` section of a wharf file after schema validation, the connection types that
// hold buckets, and the defaults the README documents for each key.
import type { ObjectOwnership } from '../plan/bucket-model.js';
import type { BucketPolicyConfig } from '../plan/bucket-policy-types.js';

/** Connection types that hold buckets rather than warehouse objects. */
export const BUCKET_CONNECTION_TYPES: readonly string[] = ['s3', 'local-bucket'];

export function isBucketConnectionType(type: string): boolean {
  return BUCKET_CONNECTION_TYPES.includes(type);
}

/** Schema pattern errors of bucket keys, in words (the loader maps ajv errors with these). */
export function bucketPatternMessage(
  what: 'name' | 'folder' | 'region' | 'endpoint' | 'accountId',
  value: unknown,
): string {
  const v = JSON.stringify(value);
  switch (what) {
    case 'name':
      return `invalid bucket name ${v}: 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit`;
    case 'folder':
      return `invalid folder ${v}: a key prefix such as events/ (no leading slash)`;
    case 'region':
      return `invalid AWS region ${v}: e.g. us-east-1 or eu-west-1`;
    case 'endpoint':
      return `invalid endpoint ${v}: an http:// or https:// URL`;
    case 'accountId':
      return `invalid AWS account id ${v}: 12 digits`;
  }
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
