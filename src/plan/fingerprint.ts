// A stable hash of the live resources a plan depends on. Apply re-reads and refuses the plan
// when the hash moved, so a saved plan never runs against a warehouse it did not see.
import { createHash } from 'node:crypto';
import { resourceId } from './address.js';
import type { Resource } from './model.js';

export function fingerprint(live: readonly Resource[], watch: ReadonlySet<string>): string {
  const picked = live
    .filter((r) => watch.has(`${r.kind}:${resourceId(r)}`))
    .map((r) => [`${r.kind}:${resourceId(r)}`, r] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const h = createHash('sha256');
  for (const [id, r] of picked) h.update(id).update('\0').update(stableJson(r)).update('\n');
  return `sha256:${h.digest('hex')}`;
}

export function stableJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
    .join(',')}}`;
}
