// Compiles the friendly statements of a wharf file into bucket-policy JSON.
//
// Resources: `bucket` → `arn:aws:s3:::B`; `objects` → `arn:aws:s3:::B/*`;
// `{prefix: "events/"}` → `arn:aws:s3:::B/events/*` for object actions. The prefix is a raw
// key prefix: `events` (no slash) would also match `events-old/…`, so write the slash.
//
// Listing under a prefix: ListBucket and ListBucketVersions act on the bucket ARN, and the
// only way to confine them to a prefix is a `StringLike {"s3:prefix": ["events/*"]}` condition.
// A condition constrains its whole statement, and GetObject requests carry no `s3:prefix`, so
// putting that condition next to GetObject would silently deny the reads. A statement that
// names prefixes and (explicitly or through a wildcard such as `s3:List*`) a listing action
// therefore compiles to two statements:
//   - `<Sid>`: every other action on the object ARNs (plus any `bucket`/`objects` resources);
//   - `<Sid>List`: the listing actions on the bucket ARN, with the declared conditions and the
//     `s3:prefix` StringLike (one pattern per prefix, alternatives).
// When only listing actions remain, the single statement keeps the plain `<Sid>`. When the
// statement also names `bucket`, listing is already granted on the whole bucket and no prefix
// condition is added (the declared `bucket` wins). Listing the bucket root (prefix "") is not
// allowed by a prefix grant: the vendor must list from inside the folder.
// Wharf owns exactly the Sids of the compiled statements; compiledSids() tells which.
// Pure: no I/O.
import { accountPrincipal, canonicalStatement } from './canonical.js';
import { globMatch, LISTING_ACTIONS } from './match.js';
import {
  type BucketPolicyConfig,
  BucketPolicyError,
  type CanonicalPolicy,
  type CanonicalStatement,
  type IamCondition,
  type IamStatement,
  type PolicyStatementConfig,
} from './types.js';

export const POLICY_VERSION = '2012-10-17';

/** Appended to the Sid of the listing half of a split prefix statement. */
export const LIST_SID_SUFFIX = 'List';

export function bucketArn(bucket: string): string {
  return `arn:aws:s3:::${bucket}`;
}

/**
 * The IAM statements for one friendly statement: one, or two when listing under prefixes
 * must be split off (see the header). Throws BucketPolicyError for an invalid statement.
 */
export function compileStatement(bucket: string, stmt: PolicyStatementConfig): CanonicalStatement[] {
  const problems = [...checkBucketName(bucket), ...statementProblems(stmt)];
  if (problems.length > 0) throw new BucketPolicyError(`${stmt.sid || '(no sid)'}: ${problems.join('; ')}`);

  const arn = bucketArn(bucket);
  const base: Pick<IamStatement, 'Effect' | 'Principal'> = {
    Effect: stmt.effect === 'deny' ? 'Deny' : 'Allow',
    Principal: stmt.principals === '*' ? '*' : { AWS: stmt.principals.map(accountPrincipal) },
  };
  const plain: string[] = [];
  const prefixes: string[] = [];
  for (const r of stmt.resources) {
    if (r === 'bucket') plain.push(arn);
    else if (r === 'objects') plain.push(`${arn}/*`);
    else prefixes.push(r.prefix);
  }
  const listing = listingUnderPrefixes(stmt);
  const isListing = (a: string) => LISTING_ACTIONS.some((l) => l.toLowerCase() === a.toLowerCase());
  // Explicit listing actions move to the listing statement; wildcards stay, for their object actions.
  const mainActions = listing.length > 0 ? stmt.actions.filter((a) => !isListing(a)) : stmt.actions;

  const out: IamStatement[] = [];
  if (mainActions.length > 0) {
    out.push({
      Sid: stmt.sid,
      ...base,
      Action: mainActions,
      Resource: [...plain, ...prefixes.map((p) => `${arn}/${p}*`)],
      ...(stmt.conditions ? { Condition: stmt.conditions } : {}),
    });
  }
  if (listing.length > 0) {
    out.push({
      Sid: out.length > 0 ? stmt.sid + LIST_SID_SUFFIX : stmt.sid,
      ...base,
      Action: listing,
      Resource: [arn],
      Condition: withPrefixCondition(stmt.conditions, prefixes),
    });
  }
  return out.map(canonicalStatement);
}

/** The whole desired policy. Throws when two compiled statements would share a Sid. */
export function compilePolicy(bucket: string, cfg: BucketPolicyConfig): CanonicalPolicy {
  const statements = cfg.statements.flatMap((s) => compileStatement(bucket, s));
  const seen = new Set<string>();
  for (const s of statements) {
    if (seen.has(s.Sid!)) throw new BucketPolicyError(`${s.Sid}: two statements compile to this Sid`);
    seen.add(s.Sid!);
  }
  return { Version: POLICY_VERSION, Statement: statements };
}

/** The Sids wharf owns for one friendly statement: record these to remove them later. */
export function compiledSids(bucket: string, stmt: PolicyStatementConfig): string[] {
  return compileStatement(bucket, stmt).map((s) => s.Sid!);
}

/** The listing actions that must be confined by `s3:prefix`, or none. */
function listingUnderPrefixes(stmt: PolicyStatementConfig): string[] {
  const hasPrefix = stmt.resources.some((r) => typeof r === 'object');
  if (!hasPrefix || stmt.resources.includes('bucket')) return [];
  return LISTING_ACTIONS.filter((l) => stmt.actions.some((a) => globMatch(a, l, true)));
}

function withPrefixCondition(conditions: IamCondition | undefined, prefixes: string[]): IamCondition {
  const out: IamCondition = {};
  for (const [op, block] of Object.entries(conditions ?? {})) out[op] = { ...block };
  out.StringLike = { ...out.StringLike, 's3:prefix': prefixes.map((p) => `${p}*`) };
  return out;
}

/** Why a bucket name cannot be put into an ARN, if it cannot. */
export function checkBucketName(bucket: string): string[] {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)
    ? []
    : [`"${bucket}" is not a valid S3 bucket name`];
}

/**
 * What is wrong with a friendly statement, without its Sid (callers prefix it). Lint reports
 * these as errors; compile refuses to run with any.
 */
export function statementProblems(stmt: PolicyStatementConfig): string[] {
  const out: string[] = [];
  // IAM accepts only ASCII letters and digits in a Sid; wharf appends "List" to split one.
  if (!/^[A-Za-z0-9]+$/.test(stmt.sid ?? '')) out.push('sid must be letters and digits only');
  if (stmt.effect !== undefined && stmt.effect !== 'allow' && stmt.effect !== 'deny') {
    out.push(`effect must be allow or deny, not "${String(stmt.effect)}"`);
  }
  if (stmt.principals !== '*') {
    if (!Array.isArray(stmt.principals) || stmt.principals.length === 0) {
      out.push("principals must be '*' or a non-empty list");
    } else {
      for (const p of stmt.principals) {
        if (p === '*') out.push("write principals: '*' rather than a list containing '*'");
        else if (!isPrincipalArn(p)) out.push(`principal "${p}" is neither an account id nor an IAM ARN`);
      }
    }
  }
  if (!Array.isArray(stmt.actions) || stmt.actions.length === 0) out.push('actions must not be empty');
  else {
    for (const a of stmt.actions) {
      // A bucket policy may only name S3 actions; S3 rejects others.
      if (a !== '*' && !/^s3:[A-Za-z0-9*?]+$/i.test(a)) out.push(`action "${a}" is not an S3 action`);
    }
  }
  if (!Array.isArray(stmt.resources) || stmt.resources.length === 0) out.push('resources must not be empty');
  else {
    for (const r of stmt.resources) {
      if (r === 'bucket' || r === 'objects') continue;
      if (typeof r !== 'object' || r === null || typeof r.prefix !== 'string') {
        out.push(`resource ${JSON.stringify(r)} must be bucket, objects or {prefix}`);
      } else out.push(...prefixProblems(r.prefix));
    }
  }
  const conditions: unknown = stmt.conditions ?? {};
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(conditions) || !Object.values(conditions).every(isObject)) {
    out.push('conditions must map operators to {key: value} blocks');
  } else if (out.length === 0) {
    const declaresPrefix = Object.values(conditions).some((block) =>
      Object.keys(block as object).some((key) => key.toLowerCase() === 's3:prefix'),
    );
    if (declaresPrefix && listingUnderPrefixes(stmt).length > 0) {
      out.push('conditions already constrain s3:prefix; wharf derives it from the prefix resources');
    }
  }
  return out;
}

function prefixProblems(prefix: string): string[] {
  if (prefix === '') return ['a prefix must not be empty (use objects)'];
  // `*`, `?` are IAM wildcards and `${` starts a policy variable: a literal prefix cannot hold them.
  if (/[*?]|\$\{/.test(prefix)) return [`prefix "${prefix}" must not contain *, ? or \${`];
  if (prefix.startsWith('/'))
    return [`prefix "${prefix}" must not start with / (keys have no leading slash)`];
  if (/[\u0000-\u001f\u007f]/.test(prefix))
    return [`prefix ${JSON.stringify(prefix)} contains control characters`];
  return [];
}

function isPrincipalArn(p: string): boolean {
  return /^\d{12}$/.test(p) || /^arn:aws[a-z-]*:(iam|sts)::\d{12}:[A-Za-z0-9+=,.@_/-]+$/.test(p);
}
