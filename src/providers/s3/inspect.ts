// `wharf inspect` for buckets: a live bucket as a `buckets:` entry, the inverse of desired.ts.
// Settings are written when they differ from the file's defaults. The policy statements written
// are exactly those wharf owns (the Sids of the bucket's ownership tag): declaring any other
// would change the tag, and plan would show it. Each owned statement (or pair, when a prefix
// grant was split into `<Sid>` and `<Sid>List`, see policy/compile.ts) is turned back into a
// friendly statement and compiled again; only one that compiles to what the bucket holds is
// written. Statements wharf does not own are listed as notes: plan leaves them where they are. Pure.
import type { InspectEntry } from '../engine.js';
import type { BucketResource } from './bucket-model.js';
import { bucketArn, compileStatement, LIST_SID_SUFFIX, statementsEqual } from './policy/index.js';
import type { IamStatement, PolicyStatementConfig } from './policy/types.js';

export function inspectBucket(b: BucketResource): InspectEntry {
  const notes: InspectEntry['notes'] = [];
  const value: Record<string, unknown> = { name: b.name };
  const bpa = b.blockPublicAccess;
  const flags = [bpa.BlockPublicAcls, bpa.IgnorePublicAcls, bpa.BlockPublicPolicy, bpa.RestrictPublicBuckets];
  if (flags.every((f) => !f)) value.blockPublicAccess = false;
  else if (!flags.every((f) => f))
    value.blockPublicAccess = {
      blockPublicAcls: bpa.BlockPublicAcls,
      ignorePublicAcls: bpa.IgnorePublicAcls,
      blockPublicPolicy: bpa.BlockPublicPolicy,
      restrictPublicBuckets: bpa.RestrictPublicBuckets,
    };
  if (b.objectOwnership !== 'BucketOwnerEnforced') value.objectOwnership = b.objectOwnership;
  if (b.encryption)
    value.encryption =
      b.encryption.algorithm === 'AES256'
        ? { type: 'sse-s3' }
        : { type: 'sse-kms', ...(b.encryption.kmsKeyId ? { kmsKeyId: b.encryption.kmsKeyId } : {}) };
  const owned = new Set(b.ownedSids ?? []);
  const live = b.policy?.Statement ?? [];
  for (const [i, s] of live.entries())
    if (!s.Sid || !owned.has(s.Sid))
      notes.push({
        object: `bucket ${b.name} policy statement ${s.Sid ?? `#${i + 1} (no Sid)`}`,
        reason: 'not created by wharf: plan leaves it in the policy; declare it to manage it',
      });
  const bySid = new Map(live.flatMap((s) => (s.Sid && owned.has(s.Sid) ? [[s.Sid, s] as const] : [])));
  const statements: PolicyStatementConfig[] = [];
  const done = new Set<string>();
  for (const sid of [...bySid.keys()].sort()) {
    if (done.has(sid)) continue;
    const list = bySid.get(sid + LIST_SID_SUFFIX);
    const group = list ? [bySid.get(sid)!, list] : [bySid.get(sid)!];
    const friendly = toFriendly(b.name, sid, group);
    if (friendly) {
      statements.push(friendly);
      for (const s of group) done.add(s.Sid!);
    } else if (list) {
      // Not a split pair after all: each on its own.
      const alone = toFriendly(b.name, sid, [bySid.get(sid)!]);
      if (alone) statements.push(alone);
      else
        notes.push({
          object: `bucket ${b.name} policy statement ${sid}`,
          reason: 'the file cannot write it',
        });
      done.add(sid);
    } else {
      notes.push({ object: `bucket ${b.name} policy statement ${sid}`, reason: 'the file cannot write it' });
      done.add(sid);
    }
  }
  if (statements.length > 0) value.policy = { statements: statements.map(statementValue) };
  if (b.folders.length) value.folders = b.folders;
  return { entry: value, notes };
}

/** The file's key order for a statement. */
function statementValue(s: PolicyStatementConfig): Record<string, unknown> {
  return {
    sid: s.sid,
    ...(s.effect === 'deny' ? { effect: 'deny' } : {}),
    principals: s.principals,
    actions: s.actions,
    resources: s.resources,
    ...(s.conditions ? { conditions: s.conditions } : {}),
  };
}

/** A friendly statement compiling to exactly `group` (one statement, or a split pair), or undefined. */
function toFriendly(bucket: string, sid: string, group: IamStatement[]): PolicyStatementConfig | undefined {
  const arn = bucketArn(bucket);
  const first = group[0]!;
  if (first.NotPrincipal || first.NotAction || first.NotResource || !first.Action || !first.Resource)
    return undefined;
  if (
    group.some(
      (s) => s.Effect !== first.Effect || JSON.stringify(s.Principal) !== JSON.stringify(first.Principal),
    )
  )
    return undefined;
  let principals: string[] | '*';
  if (first.Principal === '*') principals = '*';
  else {
    const p = first.Principal ?? {};
    if (Object.keys(p).some((k) => k !== 'AWS') || !p.AWS) return undefined;
    principals = [p.AWS].flat();
  }
  const actions: string[] = [];
  const resources: PolicyStatementConfig['resources'] = [];
  let conditions: Record<string, Record<string, string | string[] | boolean>> | undefined;
  const addResource = (r: PolicyStatementConfig['resources'][number]) => {
    if (!resources.some((x) => JSON.stringify(x) === JSON.stringify(r))) resources.push(r);
  };
  for (const s of group) {
    actions.push(...[s.Action ?? []].flat());
    const cond = structuredClone(s.Condition ?? {}) as Record<string, Record<string, unknown>>;
    // A listing statement confined to prefixes carries them as an s3:prefix condition.
    const like = cond.StringLike?.['s3:prefix'];
    const rs = [s.Resource ?? []].flat();
    if (like !== undefined && rs.length === 1 && rs[0] === arn) {
      for (const p of [like].flat()) {
        if (typeof p !== 'string' || !p.endsWith('*')) return undefined;
        addResource({ prefix: p.slice(0, -1) });
      }
      delete cond.StringLike!['s3:prefix'];
      if (Object.keys(cond.StringLike!).length === 0) delete cond.StringLike;
    } else
      for (const r of rs) {
        if (r === arn) addResource('bucket');
        else if (r === `${arn}/*`) addResource('objects');
        else if (r.startsWith(`${arn}/`) && r.endsWith('*') && !r.slice(arn.length + 1, -1).includes('*'))
          addResource({ prefix: r.slice(arn.length + 1, -1) });
        else return undefined;
      }
    if (Object.keys(cond).length > 0) conditions = cond as typeof conditions;
  }
  const friendly: PolicyStatementConfig = {
    sid,
    effect: first.Effect === 'Deny' ? 'deny' : 'allow',
    principals,
    actions: [...new Set(actions)],
    resources,
    ...(conditions ? { conditions } : {}),
  };
  try {
    const compiled = compileStatement(bucket, friendly);
    if (compiled.length === group.length && compiled.every((c, i) => statementsEqual(c, group[i]!)))
      return friendly;
  } catch {
    return undefined;
  }
  return undefined;
}
