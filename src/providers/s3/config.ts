// The connection types that hold buckets and the S3 naming rules. The `buckets:` section's
// shape is part of the file format (src/config/types.ts), re-exported here.
export type { BlockPublicAccessConfig, BucketConfig } from '../../config/types.js';

/** Connection types that hold buckets rather than warehouse objects. */
export const BUCKET_CONNECTION_TYPES: readonly string[] = ['s3', 'local-bucket'];

export function isBucketConnectionType(type: string): boolean {
  return BUCKET_CONNECTION_TYPES.includes(type);
}

/**
 * Why a name breaks the S3 general purpose bucket naming rules, or undefined. The schema
 * checks length and characters; these are the rest: no `..`, not an IP address, and the
 * prefixes and suffixes AWS reserves (access point, Object Lambda, Multi-Region Access
 * Point, directory bucket and table bucket names).
 */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'must be 3 to 63 characters long';
  if (!/^[a-z0-9.-]+$/.test(name)) return 'may hold only lower-case letters, digits, dots and hyphens';
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return 'must start and end with a letter or digit';
  if (name.includes('..')) return 'must not hold two adjacent dots';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return 'must not be formatted as an IP address';
  const prefix = RESERVED_BUCKET_PREFIXES.find((x) => name.startsWith(x));
  if (prefix) return `must not start with ${prefix} (reserved by AWS)`;
  const suffix = RESERVED_BUCKET_SUFFIXES.find((x) => name.endsWith(x));
  if (suffix) return `must not end with ${suffix} (reserved by AWS)`;
  return undefined;
}

export const RESERVED_BUCKET_PREFIXES: readonly string[] = ['xn--', 'sthree-', 'amzn-s3-demo-'];
export const RESERVED_BUCKET_SUFFIXES: readonly string[] = [
  '-s3alias',
  '--ol-s3',
  '.mrap',
  '--x-s3',
  '--table-s3',
];

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
