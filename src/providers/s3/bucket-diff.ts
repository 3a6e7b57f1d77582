// The diff of declared buckets against live ones: field-level changes of the bucket settings,
// the bucket policy merged by Sid ownership (see policy/merge.ts), the policy diff and
// access summary a reviewer reads, and the widening check that needs --allow-widen. The S3
// engine's differ for the `bucket` kind (engine.ts), run by src/plan/diff.ts.
//
// What wharf never does to a bucket: delete it (a bucket that leaves the file is released),
// delete objects, or remove a folder marker. A missing bucket without `create: true` is an
// error diagnostic, not a change. Pure: no I/O.
import { address } from '../../plan/address.js';
import type { Change, Diagnostic, FieldChange, PolicyChange, UnmanagedObject } from '../../plan/plan.js';
import {
  BLOCK_PUBLIC_ACCESS_FLAGS,
  type BlockPublicAccess,
  type BucketEncryption,
  type BucketResource,
} from './bucket-model.js';
import {
  diffPolicy,
  type IamPolicy,
  type IamStatement,
  mergePolicy,
  policyWidening,
  summarizeAccess,
} from './policy/index.js';

export interface BucketDiffResult {
  changes: Change[];
  unmanaged: UnmanagedObject[];
  diagnostics: Diagnostic[];
}

export function diffBuckets(
  connection: string,
  desired: readonly BucketResource[],
  live: readonly BucketResource[],
): BucketDiffResult {
  const liveByName = new Map(live.map((b) => [b.name, b]));
  const out: BucketDiffResult = { changes: [], unmanaged: [], diagnostics: [] };
  for (const want of [...desired].sort((a, b) => a.name.localeCompare(b.name))) {
    const have = liveByName.get(want.name) ?? null;
    const addr = address(connection, want);
    if (!have && !want.create) {
      out.diagnostics.push({
        severity: 'error',
        code: 'bucket-missing',
        message: `${addr}: bucket ${want.name} does not exist; create it, or set "create: true" to let wharf create it`,
      });
      continue;
    }
    const policy = planPolicy(have, want);
    for (const [i, s] of policy.unmanaged.entries()) {
      out.unmanaged.push({
        address: `${addr}/policy:${s.Sid ?? `#${i + 1} (no Sid)`}`,
        reason:
          want.policy === null
            ? 'bucket policy statement; the file declares no policy for this bucket'
            : 'bucket policy statement with a Sid the file does not declare',
      });
    }
    const fields = have ? settingFields(have, want) : createFields(want);
    const reasons: string[] = [];
    let widening = false;
    let destructive = false;
    let policyChange: PolicyChange | undefined;
    if (policy.changed) {
      fields.push({
        path: 'policy',
        before: have?.policy ?? null,
        after: policy.merged,
        ...(policy.removed.length > 0 ? { destructive: true } : {}),
      });
      policyChange = policy.detail;
      if (policy.removed.length > 0) {
        destructive = true;
        reasons.push(
          `removes ${policy.removed.length} policy statement(s) the file no longer declares${want.policyExclusive ? ' or does not own (policy.exclusive: true)' : ''}: ${policy.removed.map((s) => s.Sid ?? '(no Sid)').join(', ')}`,
        );
      }
      if (policy.widening.length > 0) {
        widening = true;
        reasons.push(...policy.widening);
      }
    }
    if (have) {
      for (const f of BLOCK_PUBLIC_ACCESS_FLAGS) {
        if (have.blockPublicAccess[f] && !want.blockPublicAccess[f]) {
          widening = true;
          reasons.push(`block public access: ${f} is turned off`);
        }
      }
      if (have.objectOwnership === 'BucketOwnerEnforced' && want.objectOwnership !== 'BucketOwnerEnforced') {
        widening = true;
        reasons.push(`object ownership ${want.objectOwnership} enables ACLs again`);
      }
    }
    const owned = want.ownedSids;
    if (have && owned !== undefined && (have.ownedSids ?? []).join(' ') !== owned.join(' ')) {
      fields.push({ path: 'ownedSids', before: have.ownedSids ?? [], after: owned });
    }
    if (fields.length === 0) continue;
    if (!have) reasons.unshift('bucket does not exist; create: true');
    out.changes.push({
      address: addr,
      connection,
      kind: 'bucket',
      action: have ? 'update' : 'create',
      destructive,
      reasons,
      fields,
      statements: [],
      dependsOn: [],
      before: have,
      after: afterState(want, have, policy.merged, policy.changed),
      ...(widening ? { widening: true } : {}),
      ...(policyChange ? { policy: policyChange } : {}),
    });
  }
  return out;
}

interface PlannedPolicy {
  changed: boolean;
  merged: IamPolicy | null;
  unmanaged: IamStatement[];
  removed: IamStatement[];
  widening: string[];
  detail: PolicyChange;
}

function planPolicy(have: BucketResource | null, want: BucketResource): PlannedPolicy {
  const live = have?.policy ?? null;
  if (want.policy === null) {
    return {
      changed: false,
      merged: live,
      unmanaged: live?.Statement ?? [],
      removed: [],
      widening: [],
      detail: { diff: '', access: [] },
    };
  }
  // Sids wharf put there before and the file no longer declares are removed too.
  const m = mergePolicy(live, want.policy.Statement, {
    exclusive: want.policyExclusive === true,
    owned: have?.ownedSids ?? [],
  });
  const d = diffPolicy(live, m.policy);
  return {
    changed: d.changed,
    merged: d.changed ? m.policy : live,
    unmanaged: m.unmanaged,
    removed: d.changed ? m.removed : [],
    widening: d.changed ? policyWidening(live, m.policy).reasons : [],
    detail: { diff: d.text, access: d.changed ? summarizeAccess(live, m.policy) : [] },
  };
}

/**
 * The resource apply must reach: declared settings, the merged policy, every folder, the
 * owned Sids, and the bucket's other tags (kept when the ownership tag is rewritten).
 */
function afterState(
  want: BucketResource,
  have: BucketResource | null,
  merged: IamPolicy | null,
  policyChanged: boolean,
): BucketResource {
  const { create: _create, policyExclusive: _exclusive, ...rest } = want;
  const ownedSids = want.ownedSids ?? have?.ownedSids;
  return {
    ...rest,
    encryption: want.encryption ?? have?.encryption ?? null,
    policy: policyChanged ? merged : (have?.policy ?? null),
    ...(ownedSids !== undefined ? { ownedSids } : {}),
    ...(have?.tags ? { tags: have.tags } : {}),
  };
}

function settingFields(have: BucketResource, want: BucketResource): FieldChange[] {
  const fields: FieldChange[] = [];
  for (const f of BLOCK_PUBLIC_ACCESS_FLAGS) {
    if (have.blockPublicAccess[f] !== want.blockPublicAccess[f]) {
      fields.push({
        path: `blockPublicAccess.${f}`,
        before: have.blockPublicAccess[f],
        after: want.blockPublicAccess[f],
      });
    }
  }
  if (have.objectOwnership !== want.objectOwnership) {
    fields.push({ path: 'objectOwnership', before: have.objectOwnership, after: want.objectOwnership });
  }
  if (want.encryption !== null && !sameEncryption(have.encryption, want.encryption)) {
    fields.push({ path: 'encryption', before: have.encryption, after: want.encryption });
  }
  const haveFolders = new Set(have.folders);
  for (const f of want.folders) {
    if (!haveFolders.has(f)) fields.push({ path: `folders.${f}`, before: null, after: f });
  }
  return fields;
}

function createFields(want: BucketResource): FieldChange[] {
  const fields: FieldChange[] = [
    { path: 'blockPublicAccess', before: null, after: bpaText(want.blockPublicAccess) },
    { path: 'objectOwnership', before: null, after: want.objectOwnership },
  ];
  if (want.encryption) fields.push({ path: 'encryption', before: null, after: want.encryption });
  for (const f of want.folders) fields.push({ path: `folders.${f}`, before: null, after: f });
  return fields;
}

function bpaText(b: BlockPublicAccess): string {
  const on = BLOCK_PUBLIC_ACCESS_FLAGS.filter((f) => b[f]);
  return on.length === 4 ? 'all on' : on.length === 0 ? 'all off' : on.join(', ');
}

function sameEncryption(a: BucketEncryption | null, b: BucketEncryption): boolean {
  return a !== null && a.algorithm === b.algorithm && (a.kmsKeyId ?? null) === (b.kmsKeyId ?? null);
}
