// The bucket resource: an S3 (or S3-like) bucket shared with a vendor, as the file declares it
// and as a bucket provider reads it. Same normalized shape on both sides, like every resource.
// Pure types and constants.
import type { IamPolicy } from './policy/types.js';

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
  /**
   * The Sids wharf owns in the bucket policy, sorted. Desired: the compiled Sids of the
   * declared statements (absent when the file declares no policy). Live: as recorded in the
   * bucket's ownership tag by the last apply, so that a statement removed from the file is
   * removed from the bucket too.
   */
  ownedSids?: string[];
  /** Live, and a change's `after`: every tag of the bucket (the ownership tag is rewritten, the others kept). */
  tags?: Record<string, string>;
}

/** The bucket tag where wharf records the policy Sids it owns, space-separated. */
export const OWNED_SIDS_TAG = 'wharf:policy-sids';

export function ownedSidsFromTags(tags: Record<string, string>): string[] {
  return (tags[OWNED_SIDS_TAG] ?? '').split(' ').filter(Boolean).sort();
}
