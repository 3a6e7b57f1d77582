// The bucket resource: an S3 (or S3-like) bucket shared with a vendor, as the file declares it
// and as a bucket provider reads it. Same normalized shape on both sides, like every resource.
// The types are part of the core resource model (src/plan/model.ts); the constants and the
// ownership tag are the S3 engine's. Pure.
import type { BlockPublicAccess, ObjectOwnership } from '../../plan/model.js';

export type {
  BlockPublicAccess,
  BucketEncryption,
  BucketResource,
  ObjectOwnership,
} from '../../plan/model.js';

export const OBJECT_OWNERSHIPS = [
  'BucketOwnerEnforced',
  'BucketOwnerPreferred',
  'ObjectWriter',
] as const satisfies readonly ObjectOwnership[];

export const BLOCK_PUBLIC_ACCESS_FLAGS = [
  'BlockPublicAcls',
  'IgnorePublicAcls',
  'BlockPublicPolicy',
  'RestrictPublicBuckets',
] as const satisfies readonly (keyof BlockPublicAccess)[];

/** The bucket tag where wharf records the policy Sids it owns, space-separated. */
export const OWNED_SIDS_TAG = 'wharf:policy-sids';

export function ownedSidsFromTags(tags: Record<string, string>): string[] {
  return (tags[OWNED_SIDS_TAG] ?? '').split(' ').filter(Boolean).sort();
}
