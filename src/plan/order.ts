// Dependency ordering: creates and updates run after what they depend on; deletes run in
// the reverse order, before any create, so a revoke precedes the drop of its role and a
// table is dropped before its schema. Ties break on a fixed kind rank, then the address,
// so the same input always gives the same plan.
import type { Change } from './plan.js';

/**
 * Default privileges rank after grants: `ALTER DEFAULT PRIVILEGES FOR USER u IN SCHEMA s` needs
 * u to hold CREATE on s (Redshift's ALTER DEFAULT PRIVILEGES reference), which a grant in the
 * same plan may give. Everything a grant depends on (roles, schemas, tables) ranks lower, so
 * every grant of a plan runs before its first default privilege; deletes run the ranks in
 * reverse, so default privileges are revoked while the grants they need still stand.
 */
const RANK: Record<Change['kind'], number> = {
  role: 0,
  schema: 1,
  table: 2,
  grant: 3,
  datashare: 3,
  default_privileges: 4,
  bucket: 5,
};

export function orderChanges(changes: readonly Change[]): Change[] {
  const deletes = changes.filter((c) => c.action === 'delete');
  const others = changes.filter((c) => c.action !== 'delete');
  return [...topo(deletes, true), ...topo(others, false)];
}

function topo(changes: readonly Change[], reverse: boolean): Change[] {
  const byAddr = new Map(changes.map((c) => [c.address, c]));
  // edges: dep -> dependant (for reverse, dependant -> dep)
  const indeg = new Map<string, number>(changes.map((c) => [c.address, 0]));
  const next = new Map<string, string[]>();
  for (const c of changes) {
    for (const d of c.dependsOn) {
      if (!byAddr.has(d) || d === c.address) continue;
      const [from, to] = reverse ? [c.address, d] : [d, c.address];
      next.set(from, [...(next.get(from) ?? []), to]);
      indeg.set(to, (indeg.get(to) ?? 0) + 1);
    }
  }
  const cmp = (a: Change, b: Change) =>
    (reverse ? RANK[b.kind] - RANK[a.kind] : RANK[a.kind] - RANK[b.kind]) ||
    a.address.localeCompare(b.address);
  const ready = new Heap<Change>(cmp);
  for (const c of changes) if (indeg.get(c.address) === 0) ready.push(c);
  const out: Change[] = [];
  for (let c = ready.pop(); c !== undefined; c = ready.pop()) {
    out.push(c);
    for (const n of next.get(c.address) ?? []) {
      const v = (indeg.get(n) ?? 0) - 1;
      indeg.set(n, v);
      if (v === 0) ready.push(byAddr.get(n)!);
    }
  }
  // A cycle (e.g. two roles that are members of each other) cannot be ordered; keep the rest
  // stable and append the remainder so the engine reports the real error.
  if (out.length < changes.length) {
    const seen = new Set(out.map((c) => c.address));
    out.push(...changes.filter((c) => !seen.has(c.address)).sort(cmp));
  }
  return out;
}

/** Minimal binary heap: keeps ordering O(n log n) for plans with tens of thousands of changes. */
class Heap<T> {
  private items: T[] = [];
  constructor(private readonly cmp: (a: T, b: T) => number) {}
  push(x: T): void {
    const a = this.items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.cmp(a[i]!, a[p]!) >= 0) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.cmp(a[l]!, a[m]!) < 0) m = l;
        if (r < a.length && this.cmp(a[r]!, a[m]!) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}
