// Parsing and the semantic normal form of bucket policies. Two policies that IAM reads the
// same way should print the same, so the plan shows no change for mere spelling: every list
// becomes a sorted array without duplicates (IAM treats them as sets), a bare account id
// principal becomes `arn:aws:iam::<id>:root` (what AWS itself stores), action names get one
// casing (IAM matches actions case-insensitively), known condition keys get one casing, and
// condition values become strings (`true` and `"true"` compare the same in IAM).
// Statement order is kept: IAM ignores it, but the merge preserves live positions, so an
// unchanged policy never differs by order. Pure: no I/O.
import {
  BucketPolicyError,
  type CanonicalPolicy,
  type CanonicalStatement,
  type IamCondition,
  type IamPolicy,
  type IamPrincipal,
  type IamStatement,
  type IamStringList,
} from './types.js';

const STATEMENT_KEYS = [
  'Sid',
  'Effect',
  'Principal',
  'NotPrincipal',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
] as const;
const PRINCIPAL_KEYS = ['AWS', 'CanonicalUser', 'Federated', 'Service'] as const;

/**
 * Checks that a live policy (a JSON string or the parsed value) has the shape AWS accepts and
 * returns it typed, in its original form: only a lone `Statement` object is wrapped in an
 * array. Throws BucketPolicyError naming what is wrong.
 */
export function parsePolicy(input: unknown): IamPolicy {
  let doc = input;
  if (typeof doc === 'string') {
    try {
      doc = JSON.parse(doc);
    } catch (e) {
      throw new BucketPolicyError(`bucket policy is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (!isRecord(doc)) throw new BucketPolicyError('bucket policy must be a JSON object');
  for (const k of Object.keys(doc)) {
    if (k !== 'Version' && k !== 'Id' && k !== 'Statement') {
      throw new BucketPolicyError(`bucket policy has an unknown key "${k}"`);
    }
  }
  if (doc.Version !== undefined && typeof doc.Version !== 'string') {
    throw new BucketPolicyError('bucket policy Version must be a string');
  }
  if (doc.Id !== undefined && typeof doc.Id !== 'string') {
    throw new BucketPolicyError('bucket policy Id must be a string');
  }
  const raw = doc.Statement;
  const list = Array.isArray(raw) ? raw : isRecord(raw) ? [raw] : null;
  if (list === null) throw new BucketPolicyError('bucket policy has no Statement list');
  const policy: IamPolicy = { Statement: list.map((s, i) => parseStatement(s, i)) };
  if (doc.Version !== undefined) policy.Version = doc.Version;
  if (doc.Id !== undefined) policy.Id = doc.Id;
  return policy;
}

function parseStatement(s: unknown, index: number): IamStatement {
  const where = `statement #${index + 1}`;
  if (!isRecord(s)) throw new BucketPolicyError(`${where} must be an object`);
  const label = typeof s.Sid === 'string' ? `statement ${s.Sid}` : where;
  for (const k of Object.keys(s)) {
    if (!(STATEMENT_KEYS as readonly string[]).includes(k)) {
      throw new BucketPolicyError(`${label} has an unknown key "${k}"`);
    }
  }
  if (s.Sid !== undefined && typeof s.Sid !== 'string')
    throw new BucketPolicyError(`${where}: Sid must be a string`);
  if (s.Effect !== 'Allow' && s.Effect !== 'Deny') {
    throw new BucketPolicyError(`${label}: Effect must be "Allow" or "Deny"`);
  }
  for (const [a, b] of [
    ['Principal', 'NotPrincipal'],
    ['Action', 'NotAction'],
    ['Resource', 'NotResource'],
  ] as const) {
    if (s[a] !== undefined && s[b] !== undefined)
      throw new BucketPolicyError(`${label} has both ${a} and ${b}`);
  }
  for (const k of ['Principal', 'NotPrincipal'] as const) {
    if (s[k] !== undefined && !isPrincipal(s[k])) throw new BucketPolicyError(`${label}: malformed ${k}`);
  }
  for (const k of ['Action', 'NotAction', 'Resource', 'NotResource'] as const) {
    if (s[k] !== undefined && !isStringList(s[k])) {
      throw new BucketPolicyError(`${label}: ${k} must be a string or a list of strings`);
    }
  }
  if (s.Condition !== undefined && !isCondition(s.Condition)) {
    throw new BucketPolicyError(`${label}: malformed Condition`);
  }
  return s as unknown as IamStatement;
}

/** The normal form of a whole policy; accepts what parsePolicy accepts. */
export function canonicalizePolicy(policy: unknown): CanonicalPolicy {
  const p = parsePolicy(policy);
  return {
    // A policy without Version is read by IAM as 2008-10-17 (no policy variables).
    Version: p.Version ?? '2008-10-17',
    ...(p.Id !== undefined ? { Id: p.Id } : {}),
    Statement: p.Statement.map(canonicalStatement),
  };
}

/** The normal form of one statement, keys in the conventional order. */
export function canonicalStatement(s: IamStatement): CanonicalStatement {
  const out: CanonicalStatement = { Effect: s.Effect };
  if (s.Sid !== undefined) out.Sid = s.Sid;
  if (s.Principal !== undefined) out.Principal = canonicalPrincipal(s.Principal);
  if (s.NotPrincipal !== undefined) out.NotPrincipal = canonicalPrincipal(s.NotPrincipal);
  if (s.Action !== undefined) out.Action = canonicalActions(s.Action);
  if (s.NotAction !== undefined) out.NotAction = canonicalActions(s.NotAction);
  if (s.Resource !== undefined) out.Resource = sortedSet(asList(s.Resource));
  if (s.NotResource !== undefined) out.NotResource = sortedSet(asList(s.NotResource));
  if (s.Condition !== undefined) out.Condition = canonicalCondition(s.Condition);
  return orderKeys(out);
}

/** True when IAM reads the two statements the same way (Sid included: it is wharf's handle). */
export function statementsEqual(a: IamStatement, b: IamStatement): boolean {
  return JSON.stringify(canonicalStatement(a)) === JSON.stringify(canonicalStatement(b));
}

/** True when the statements grant and deny the same, whatever their Sids. */
export function sameMeaning(a: IamStatement, b: IamStatement): boolean {
  const { Sid: _a, ...ca } = canonicalStatement(a);
  const { Sid: _b, ...cb } = canonicalStatement(b);
  return JSON.stringify(ca) === JSON.stringify(cb);
}

function orderKeys(s: CanonicalStatement): CanonicalStatement {
  const out: Record<string, unknown> = {};
  for (const k of STATEMENT_KEYS) if (s[k] !== undefined) out[k] = s[k];
  return out as unknown as CanonicalStatement;
}

function canonicalPrincipal(p: IamPrincipal): '*' | Record<string, string[]> {
  if (p === '*') return '*';
  const out: Record<string, string[]> = {};
  for (const k of PRINCIPAL_KEYS) {
    const v = p[k];
    if (v === undefined) continue;
    out[k] = sortedSet(k === 'AWS' ? asList(v).map(accountPrincipal) : asList(v));
  }
  return out;
}

/** `123456789012` means the account, which AWS writes `arn:aws:iam::123456789012:root`. */
export function accountPrincipal(p: string): string {
  return /^\d{12}$/.test(p) ? `arn:aws:iam::${p}:root` : p;
}

function canonicalActions(v: IamStringList): string[] {
  // canonicalAction depends only on the lower-cased action, so a Set removes case variants.
  return [...new Set(asList(v).map(canonicalAction))].sort(byLower);
}

/**
 * One spelling per action. The service prefix is lower case, as AWS documents it; the name
 * is rebuilt from the words S3 action names are made of (`getobjectversion` →
 * `GetObjectVersion`, `get*` → `Get*`). A part that is not made of known words is lower-cased,
 * so the result depends only on the action, never on how it was typed.
 */
export function canonicalAction(action: string): string {
  const colon = action.indexOf(':');
  if (colon < 0) return action.toLowerCase();
  const service = action.slice(0, colon).toLowerCase();
  const name = action
    .slice(colon + 1)
    .split(/([*?])/)
    .map((part) => (part === '*' || part === '?' ? part : spellWords(part.toLowerCase())))
    .join('');
  return `${service}:${name}`;
}

// The words every S3 action name is built from (180 actions at the time of writing).
const ACTION_WORDS = new Map(
  (
    'Abac Abort Accelerate Access Account Acl All Allow Analytics Annotation Annotations Associate Attributes ' +
    'Block Bucket Buckets Bypass CORS Caller Center Configuration Configurations Controls Create Dashboard Data ' +
    'Delete Delivery Describe Dissociate Encryption For Get Governance Grant Grants Group Groups Hold Identity ' +
    'Initiate Instance Instances Intelligent Inventory Job Jobs Journal Lambda Legal Lens Lifecycle List ' +
    'Location Locations Lock Log Logging Metadata Metrics Multi Multipart My Notification Object Operation ' +
    'Override Owner Ownership Parts Pause Payment Point Points Policy Prefix Priority Public Put Region ' +
    'Replicate Replication Request Resource Restore Retention Routes Status Storage Submit Table Tag Tagging ' +
    'Tags Tiering To Torrent Untag Update Upload Uploads Vended Version Versioning Versions Website'
  )
    .split(' ')
    .map((w) => [w.toLowerCase(), w] as const),
);

/** Splits `lower` into the fewest known words and capitalizes them; unknown text stays as is. */
function spellWords(lower: string): string {
  if (lower === '') return '';
  const best: Array<string[] | undefined> = [[]];
  for (let i = 0; i < lower.length; i++) {
    const head = best[i];
    if (head === undefined) continue;
    for (let j = i + 1; j <= lower.length; j++) {
      const word = ACTION_WORDS.get(lower.slice(i, j));
      const cur = best[j];
      if (word !== undefined && (cur === undefined || cur.length > head.length + 1))
        best[j] = [...head, word];
    }
  }
  return best[lower.length]?.join('') ?? lower;
}

// Condition key names are case-insensitive in IAM; these get their documented spelling.
const CONDITION_KEYS = new Map(
  [
    'aws:CalledVia',
    'aws:CurrentTime',
    'aws:EpochTime',
    'aws:MultiFactorAuthAge',
    'aws:MultiFactorAuthPresent',
    'aws:PrincipalAccount',
    'aws:PrincipalArn',
    'aws:PrincipalIsAWSService',
    'aws:PrincipalOrgID',
    'aws:PrincipalOrgPaths',
    'aws:PrincipalServiceName',
    'aws:PrincipalType',
    'aws:Referer',
    'aws:RequestedRegion',
    'aws:ResourceAccount',
    'aws:ResourceOrgID',
    'aws:SecureTransport',
    'aws:SourceAccount',
    'aws:SourceArn',
    'aws:SourceIp',
    'aws:SourceOrgID',
    'aws:SourceOrgPaths',
    'aws:SourceOwner',
    'aws:SourceVpc',
    'aws:SourceVpce',
    'aws:UserAgent',
    'aws:ViaAWSService',
    'aws:VpcSourceIp',
    'aws:userid',
    'aws:username',
    's3:TlsVersion',
    's3:authType',
    's3:delimiter',
    's3:max-keys',
    's3:prefix',
    's3:signatureversion',
    's3:x-amz-acl',
    's3:x-amz-content-sha256',
    's3:x-amz-server-side-encryption',
    's3:x-amz-server-side-encryption-aws-kms-key-id',
  ].map((k) => [k.toLowerCase(), k] as const),
);

/** Known keys get their documented spelling; others keep theirs with a lower-case service prefix. */
export function canonicalConditionKey(key: string): string {
  const known = CONDITION_KEYS.get(key.toLowerCase());
  if (known !== undefined) return known;
  const colon = key.indexOf(':');
  return colon < 0 ? key : key.slice(0, colon).toLowerCase() + key.slice(colon);
}

function canonicalCondition(c: IamCondition): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  for (const op of Object.keys(c).sort()) {
    const block = c[op] ?? {};
    const keys: Record<string, string[]> = {};
    for (const [key, value] of Object.entries(block)) {
      const k = canonicalConditionKey(key);
      const values = (Array.isArray(value) ? value : [value]).map(String);
      keys[k] = sortedSet([...(keys[k] ?? []), ...values]);
    }
    const sorted: Record<string, string[]> = {};
    for (const k of Object.keys(keys).sort()) sorted[k] = keys[k]!;
    out[op] = sorted;
  }
  return out;
}

export function asList(v: IamStringList): string[] {
  return Array.isArray(v) ? v : [v];
}

function sortedSet(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

function byLower(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStringList(v: unknown): v is IamStringList {
  return typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
}

function isPrincipal(v: unknown): v is IamPrincipal {
  if (v === '*') return true;
  if (!isRecord(v)) return false;
  return Object.entries(v).every(
    ([k, x]) => (PRINCIPAL_KEYS as readonly string[]).includes(k) && isStringList(x),
  );
}

function isCondition(v: unknown): v is IamCondition {
  if (!isRecord(v)) return false;
  const scalar = (x: unknown) => typeof x === 'string' || typeof x === 'boolean' || typeof x === 'number';
  return Object.values(v).every(
    (block) =>
      isRecord(block) &&
      Object.values(block).every((x) => scalar(x) || (Array.isArray(x) && x.every(scalar))),
  );
}
