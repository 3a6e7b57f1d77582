// IAM wildcard matching and what S3 actions apply to. Actions and resources in policies may use
// `*` (any run of characters, `/` and `:` included) and `?` (one character); actions match
// case-insensitively, ARNs case-sensitively. The level tables let the engine ignore pairs IAM
// never uses (GetObject on the bucket ARN, ListBucket on an object ARN) instead of reporting
// them as access. Pure string work.

/** The S3 actions that carry the `s3:prefix` condition key: listing a bucket's keys. */
export const LISTING_ACTIONS = ['s3:ListBucket', 's3:ListBucketVersions'] as const;

/** Does the IAM pattern match the concrete value? */
export function globMatch(pattern: string, value: string, ignoreCase: boolean): boolean {
  const body = pattern
    .split(/([*?])/)
    .map((part) => (part === '*' ? '.*' : part === '?' ? '.' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, ignoreCase ? 'is' : 's').test(value);
}

/**
 * Does every value `inner` matches also match `outer`? Sound but not complete: `true` is
 * always right, `false` may be returned for exotic overlaps, which callers treat as "not
 * covered" and so err towards flagging. `outer`'s `*` may absorb any part of `inner`, its
 * `?` one literal or `?` of `inner`; a literal matches only the same literal.
 */
export function globCovers(outer: string, inner: string, ignoreCase: boolean): boolean {
  const p = ignoreCase ? outer.toLowerCase() : outer;
  const q = ignoreCase ? inner.toLowerCase() : inner;
  // memo[i][j]: does p[i..] cover q[j..]? Filled from the ends backwards.
  const memo: boolean[][] = Array.from({ length: p.length + 1 }, () =>
    new Array<boolean>(q.length + 1).fill(false),
  );
  memo[p.length]![q.length] = true;
  for (let i = p.length - 1; i >= 0; i--) {
    for (let j = q.length; j >= 0; j--) {
      const pc = p[i]!;
      const qc = q[j];
      let ok: boolean;
      if (pc === '*') ok = memo[i + 1]![j]! || (qc !== undefined && memo[i]![j + 1]!);
      else if (pc === '?') ok = qc !== undefined && qc !== '*' && memo[i + 1]![j + 1]!;
      else ok = qc === pc && memo[i + 1]![j + 1]!;
      memo[i]![j] = ok;
    }
  }
  return memo[0]![0]!;
}

export type S3Level = 'bucket' | 'object' | 'unknown';

// Object-level actions whose names do not say "Object".
const OBJECT_ACTIONS = new Set([
  'abortmultipartupload',
  'bypassgovernanceretention',
  'initiatereplication',
  'listmultipartuploadparts',
  'objectowneroverridetobucketowner',
  'replicatedelete',
  'replicatetags',
]);

/**
 * What an S3 action applies to, from its name: `*Bucket*` and the bucket `*Configuration`
 * actions to the bucket, `*Object*` (and a few others) to objects. Anything else, every
 * wildcard, and every other service, is `unknown`: the engine then assumes it may apply anywhere.
 */
export function s3ActionLevel(action: string): S3Level {
  const lower = action.toLowerCase();
  if (!lower.startsWith('s3:') || /[*?]/.test(lower)) return 'unknown';
  const name = lower.slice(3);
  if (OBJECT_ACTIONS.has(name)) return 'object';
  if (name === 'listallmybuckets') return 'unknown'; // account level, resource "*"
  if (name.includes('bucket')) return 'bucket';
  if (name.includes('object') && !name.includes('lambda')) return 'object';
  if (
    /^(get|put)(accelerate|analytics|encryption|intelligenttiering|inventory|lifecycle|metrics|replication)configuration$/.test(
      name,
    )
  ) {
    return 'bucket';
  }
  return 'unknown';
}

/** `arn:aws:s3:::b` is the bucket, `arn:aws:s3:::b/...` objects; wildcards in the name are unknown. */
export function s3ArnLevel(resource: string): S3Level {
  const m = /^arn:[a-z-]+:s3:::([^/]+)(\/.*)?$/s.exec(resource);
  if (m === null || /[*?]/.test(m[1]!)) return 'unknown';
  return m[2] === undefined ? 'bucket' : 'object';
}

/** True for a pair IAM can never use: an object action on a bucket ARN or the reverse. */
export function isInertPair(action: string, resource: string): boolean {
  const a = s3ActionLevel(action);
  const r = s3ArnLevel(resource);
  return a !== 'unknown' && r !== 'unknown' && a !== r;
}
