// Merging desired statements into a live bucket policy. Wharf owns the statements whose Sid it
// declares (and the Sids the caller says it managed before); every other statement, with
// another Sid or none, belongs to someone else and stays exactly where and as it was. Owned
// statements are replaced in place, new ones appended in declaration order. In exclusive mode
// the result is exactly the desired statements (those already live keep their position, so
// a reordered file is not a change). An empty result means "delete the bucket policy".
// Pure: no I/O.
import { POLICY_VERSION } from './compile.js';
import { BucketPolicyError, type IamPolicy, type IamStatement } from './types.js';

export interface MergeOptions {
  exclusive: boolean;
  /** Sids wharf managed before (e.g. from its state): live ones no longer desired are removed. */
  owned?: readonly string[];
}

export interface MergeResult {
  /** The policy to put, or null to delete the bucket policy. */
  policy: IamPolicy | null;
  /** The desired statements, in their place in the result. */
  managed: IamStatement[];
  /** Live statements kept untouched: other Sids or no Sid. Empty in exclusive mode. */
  unmanaged: IamStatement[];
  /** Live statements dropped: owned Sids no longer declared, duplicates, or foreign ones (exclusive). */
  removed: IamStatement[];
}

export function mergePolicy(
  live: IamPolicy | null,
  desired: readonly IamStatement[],
  opts: MergeOptions,
): MergeResult {
  const want = new Map<string, IamStatement>();
  for (const d of desired) {
    if (!d.Sid) throw new BucketPolicyError('a desired statement has no Sid; wharf owns statements by Sid');
    if (want.has(d.Sid)) throw new BucketPolicyError(`${d.Sid}: declared twice`);
    want.set(d.Sid, d);
  }
  const owned = new Set([...want.keys(), ...(opts.owned ?? [])]);
  const result: MergeResult = { policy: null, managed: [], unmanaged: [], removed: [] };
  const out: IamStatement[] = [];
  const placed = new Set<string>();

  for (const s of live?.Statement ?? []) {
    const sid = s.Sid;
    const replacement = sid !== undefined ? want.get(sid) : undefined;
    if (sid !== undefined && replacement !== undefined) {
      // A second live statement with an owned Sid cannot stay: the Sid must name one statement.
      if (placed.has(sid)) {
        result.removed.push(s);
        continue;
      }
      placed.add(sid);
      out.push(replacement);
      result.managed.push(replacement);
    } else if ((sid !== undefined && owned.has(sid)) || opts.exclusive) {
      result.removed.push(s);
    } else {
      out.push(s);
      result.unmanaged.push(s);
    }
  }
  for (const d of desired) {
    if (placed.has(d.Sid!)) continue;
    out.push(d);
    result.managed.push(d);
  }
  if (out.length > 0) {
    // Always 2012-10-17, the version AWS documents; wharf's conditions may rely on it.
    result.policy = {
      Version: POLICY_VERSION,
      ...(live?.Id !== undefined ? { Id: live.Id } : {}),
      Statement: out,
    };
  }
  return result;
}

/**
 * The policy once the given owned Sids are gone (a share removed from the file). Other
 * statements stay; null when nothing is left.
 */
export function removeOwnedStatements(live: IamPolicy | null, sids: readonly string[]): MergeResult {
  return mergePolicy(live, [], { exclusive: false, owned: sids });
}
