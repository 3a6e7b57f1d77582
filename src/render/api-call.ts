// Readable forms of the API-call statements and policy changes of bucket plans, shared by the
// text and Markdown renderers. Reads only the plan contract.
import type { Change, Statement } from '../plan/plan.js';

/** One line per API call, e.g. `s3:PutBucketOwnershipControls Bucket=b OwnershipControls={…}`. */
export function apiCallLine(st: Statement): string {
  const api = st.api;
  if (!api) return st.sql;
  const args = Object.entries(api.input).map(([k, v]) => {
    if (k === 'Policy') return 'Policy=<the planned policy above>';
    if (k === 'Body' && v === '') return 'Body=""';
    return `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
  });
  return `${api.service}:${api.operation} ${args.join(' ')}${st.enforced === false ? '  (recorded, not enforced)' : ''}`;
}

/** The access summary and the policy diff of a bucket change, or nothing. */
export function policyChangeLines(c: Change): { access: string[]; diff: string[] } {
  if (!c.policy) return { access: [], diff: [] };
  return { access: c.policy.access, diff: c.policy.diff ? c.policy.diff.split('\n') : [] };
}
