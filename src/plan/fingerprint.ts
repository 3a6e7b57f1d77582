// A stable hash of the live resources a plan depends on. Apply re-reads and refuses the plan
// when the hash moved, so a saved plan never runs against a warehouse it did not see.
// It runs on every plan over every live object, so it avoids per-value allocations: keys are
// sorted once per object shape, and text is appended to one buffer per resource.
import { createHash } from 'node:crypto';
import { resourceId } from './address.js';
import type { Resource } from './model.js';

export function fingerprint(live: readonly Resource[], watch: ReadonlySet<string>): string {
  const picked: [string, Resource][] = [];
  for (const r of live) {
    const id = `${r.kind}:${resourceId(r)}`;
    if (watch.has(id)) picked.push([id, r]);
  }
  picked.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const h = createHash('sha256');
  for (const [id, r] of picked) h.update(`${id}\0${stableJson(r)}\n`);
  return `sha256:${h.digest('hex')}`;
}

/** JSON with object keys in sorted order and undefined members left out. */
export function stableJson(v: unknown): string {
  const out: string[] = [];
  write(v, out);
  return out.join('');
}

const sortedKeys = new Map<string, string[]>();

function write(v: unknown, out: string[]): void {
  if (v === null || typeof v !== 'object') {
    out.push(JSON.stringify(v) ?? 'null');
    return;
  }
  if (Array.isArray(v)) {
    out.push('[');
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out.push(',');
      write(v[i], out);
    }
    out.push(']');
    return;
  }
  const o = v as Record<string, unknown>;
  const own = Object.keys(o);
  const shape = own.join('\0');
  let keys = sortedKeys.get(shape);
  if (!keys) {
    keys = [...own].sort();
    sortedKeys.set(shape, keys);
  }
  out.push('{');
  let first = true;
  for (const k of keys) {
    const x = o[k];
    if (x === undefined) continue;
    if (!first) out.push(',');
    first = false;
    out.push(JSON.stringify(k), ':');
    write(x, out);
  }
  out.push('}');
}
