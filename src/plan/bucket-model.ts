// The bucket resource: an S3 (or S3-like) bucket shared with a vendor, as the file declares it
// and as a bucket provider reads it. Same normalized shape on both sides, like every resource.
// Pure types and constants.
import type { IamPolicy } from './bucket-policy-types.js';

export const OBJECT_OWNERSHIPS = ['BucketOwnerEnforced', 'BucketOwnerPreferred', 'ObjectWriter'] as const;
export type ObjectOwnership = (typeof OBJECT_OWNERSHIPS)[number];

/** The four flags of S3 Block Public Access, with S3's names. */
export interface BlockPublicAccess {
  BlockPublicAcls: boolean;
  IgnorePublicAcls: boolean;
  BlockPublicPolicy: boolean;
  RestrictPublicBuckets: boolean;
}

export const BLOCK_PUBLIC_ACCESS_FLAGS = [
  'BlockPublicAcls',
  'IgnorePublicAcls',
  'BlockPublicPolicy',
  'RestrictPublicBuckets',
] as const satisfies readonly (keyof BlockPublicAccess)[];

/** Default encryption: SSE-S3 (`AES256`) or SSE-KMS (`aws:kms` with a key id or ARN). */
export interface BucketEncryption {
  algorithm: 'AES256' | 'aws:kms';
  /** Only for `aws:kms`; null means the AWS-managed key. */
  kmsKeyId: string | null;
}

export interface BucketResource {
  kind: 'bucket';
  name: string;
  /** Desired only: create the bucket when it is missing (otherwise a missing bucket is an error). */
  create?: boolean;
  blockPublicAccess: BlockPublicAccess;
  objectOwnership: ObjectOwnership;
  /** Desired: null when the file does not manage default encryption. Live: null when none is set. */
  encryption: BucketEncryption | null;
  /** Folder markers (`events/`), sorted. Live: only the declared ones that exist. */
  folders: string[];
  /**
   * Desired: the compiled declared statements (canonical), or null when the file declares no
   * `policy`. Live: the whole bucket policy as read, or null when there is none. In a bucket
   * change's `after`, the whole policy that apply will put (declared statements merged into
   * the live ones), or null for "delete the bucket policy".
   */
  policy: IamPolicy | null;
  /** Desired only: the declared statements replace every live one. */
  policyExclusive?: boolean;
}
