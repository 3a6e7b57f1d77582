// Who can do what, before and after a bucket-policy change: the per-principal summary shown in
// the plan, and the widening check apply uses to demand --allow-widen.
//
// A statement is expanded into grants: one (principal, action, resource, condition) per
// combination, skipping pairs IAM never uses (an object action on the bucket ARN). The
// summary compares grants literally. The widening check compares them by meaning and errs
// towards "widening": a new Allow grant is fine only when a live Allow with the same or a
// broader principal (`*`, or the account of a role), action and resource pattern, and a subset
// of its conditions, already granted it; a live Deny grant must stay covered by a planned Deny
// the same way round. Statements with NotPrincipal/NotAction/NotResource cannot be expanded:
// any new or changed one counts as widening. Pure.
import { canonicalizePolicy, sameMeaning } from './canonical.js';
import { globCovers, isInertPair } from './match.js';
import type { CanonicalStatement, IamPolicy } from './types.js';

type CanonicalCondition = NonNullable<CanonicalStatement['Condition']>;

interface Grant {
  effect: 'Allow' | 'Deny';
  principal: string;
  action: string;
  resource: string;
  condition: CanonicalCondition | undefined;
  /** The statement's Sid, or `statement #n` for one without. */
  label: string;
}

interface Expanded {
  statement: CanonicalStatement;
  label: string;
  /** null when the statement uses a Not* element and cannot be expanded. */
  grants: Grant[] | null;
}

export interface WideningResult {
  widening: boolean;
  /** One line per statement, principal and resource that gains access or loses a deny. */
  reasons: string[];
}

/**
 * One line per principal, resource and condition whose access changes, e.g.
 * `arn:aws:iam::388856629077:role/X gains s3:GetObject, s3:GetObjectVersion on arn:aws:s3:::b/*`.
 * Denies read `is newly denied` / `is no longer denied`.
 */
export function summarizeAccess(live: IamPolicy | null, merged: IamPolicy | null): string[] {
  const before = expandPolicy(live);
  const after = expandPolicy(merged);
  const lines = new Map<string, { sort: string; head: string; actions: Set<string>; tail: string }>();
  const add = (g: Grant, change: 'gained' | 'lost') => {
    const verb = VERBS[g.effect][change];
    const tail = ` on ${g.resource}${conditionText(g.condition)}`;
    const key = `${g.principal}\0${verb}\0${tail}`;
    const line = lines.get(key) ?? { sort: key, head: `${g.principal} ${verb} `, actions: new Set(), tail };
    line.actions.add(g.action);
    lines.set(key, line);
  };
  const beforeKeys = new Set(before.flatMap((e) => e.grants ?? []).map(grantKey));
  const afterKeys = new Set(after.flatMap((e) => e.grants ?? []).map(grantKey));
  for (const g of after.flatMap((e) => e.grants ?? [])) if (!beforeKeys.has(grantKey(g))) add(g, 'gained');
  for (const g of before.flatMap((e) => e.grants ?? [])) if (!afterKeys.has(grantKey(g))) add(g, 'lost');

  const out = [...lines.values()]
    .sort((a, b) => (a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : 0))
    .map((l) => l.head + [...l.actions].sort().join(', ') + l.tail);
  // Statements with Not* elements are reported whole: their access cannot be listed.
  for (const e of after) {
    if (e.grants === null && !before.some((b) => sameMeaning(b.statement, e.statement))) {
      out.push(
        `${e.label} (with NotPrincipal/NotAction/NotResource) is added or changed; review the policy diff`,
      );
    }
  }
  for (const e of before) {
    if (e.grants === null && !after.some((a) => sameMeaning(a.statement, e.statement))) {
      out.push(
        `${e.label} (with NotPrincipal/NotAction/NotResource) is removed or changed; review the policy diff`,
      );
    }
  }
  return out;
}

/** Does the change let anyone do something the live policy did not allow? With the reasons. */
export function policyWidening(live: IamPolicy | null, merged: IamPolicy | null): WideningResult {
  const before = expandPolicy(live);
  const after = expandPolicy(merged);
  const liveAllows = before.flatMap((e) => (e.statement.Effect === 'Allow' ? (e.grants ?? []) : []));
  const plannedDenies = after.flatMap((e) => (e.statement.Effect === 'Deny' ? (e.grants ?? []) : []));
  const reasons: string[] = [];

  for (const e of after) {
    if (e.statement.Effect !== 'Allow' || before.some((b) => sameMeaning(b.statement, e.statement))) continue;
    if (e.grants === null) {
      reasons.push(`${e.label}: an Allow with NotPrincipal/NotAction/NotResource is new or changed`);
      continue;
    }
    const uncovered = e.grants.filter((g) => !liveAllows.some((a) => covers(a, g)));
    reasons.push(...groupLines(uncovered, (h, t) => `${e.label} allows ${h}${t} (not allowed before)`));
  }
  for (const e of before) {
    if (e.statement.Effect !== 'Deny' || after.some((a) => sameMeaning(a.statement, e.statement))) continue;
    if (e.grants === null) {
      reasons.push(`${e.label}: a Deny with NotPrincipal/NotAction/NotResource is removed or changed`);
      continue;
    }
    const uncovered = e.grants.filter((g) => !plannedDenies.some((d) => covers(d, g)));
    reasons.push(
      ...groupLines(uncovered, (h, t) => `${e.label} no longer denies ${h}${t} (removed or narrowed)`),
    );
  }
  return { widening: reasons.length > 0, reasons };
}

export function isPolicyWidening(live: IamPolicy | null, merged: IamPolicy | null): boolean {
  return policyWidening(live, merged).widening;
}

const VERBS = {
  Allow: { gained: 'gains', lost: 'loses' },
  Deny: { gained: 'is newly denied', lost: 'is no longer denied' },
} as const;

function expandPolicy(policy: IamPolicy | null): Expanded[] {
  if (policy === null) return [];
  return canonicalizePolicy(policy).Statement.map((statement, i) => {
    const label = statement.Sid ?? `statement #${i + 1}`;
    return { statement, label, grants: expandStatement(statement, label) };
  });
}

function expandStatement(s: CanonicalStatement, label: string): Grant[] | null {
  if (s.NotPrincipal || s.NotAction || s.NotResource || !s.Principal || !s.Action || !s.Resource) return null;
  const out: Grant[] = [];
  for (const principal of principalNames(s.Principal)) {
    for (const action of s.Action) {
      for (const resource of s.Resource) {
        if (isInertPair(action, resource)) continue;
        out.push({ effect: s.Effect, principal, action, resource, condition: s.Condition, label });
      }
    }
  }
  return out;
}

/** `*` for anyone (also `{"AWS": "*"}`), ARNs for AWS principals, `Service:name` for the others. */
function principalNames(p: NonNullable<CanonicalStatement['Principal']>): string[] {
  if (p === '*') return ['*'];
  return Object.entries(p).flatMap(([kind, values]) =>
    values.map((v) => (kind === 'AWS' ? v : `${kind}:${v}`)),
  );
}

function grantKey(g: Grant): string {
  return [g.effect, g.principal, g.action.toLowerCase(), g.resource, JSON.stringify(g.condition ?? {})].join(
    '\0',
  );
}

/** Does `outer` apply to every request `inner` applies to? */
function covers(outer: Grant, inner: Grant): boolean {
  return (
    principalCovers(outer.principal, inner.principal) &&
    globCovers(outer.action, inner.action, true) &&
    globCovers(outer.resource, inner.resource, false) &&
    conditionsWithin(outer.condition, inner.condition)
  );
}

/** `*` covers anyone; an account (`…:root`) covers the roles, users and sessions of that account. */
function principalCovers(outer: string, inner: string): boolean {
  if (outer === inner || outer === '*') return true;
  const account = /^arn:(aws[a-z-]*):iam::(\d{12}):root$/.exec(outer);
  if (account === null) return false;
  const m = /^arn:(aws[a-z-]*):(iam|sts)::(\d{12}):/.exec(inner);
  return m !== null && m[1] === account[1] && m[3] === account[2];
}

/**
 * Every condition of `weaker` also appears, with exactly the same values, in `stronger`. Extra
 * conditions only narrow (they are ANDed), so `weaker` then applies wherever `stronger` does.
 */
function conditionsWithin(
  weaker: CanonicalCondition | undefined,
  stronger: CanonicalCondition | undefined,
): boolean {
  for (const [op, block] of Object.entries(weaker ?? {})) {
    for (const [key, values] of Object.entries(block)) {
      const other = stronger?.[op]?.[key];
      if (other === undefined || JSON.stringify(other) !== JSON.stringify(values)) return false;
    }
  }
  return true;
}

/** Groups grants by principal, resource and condition: `<principal> <actions>` + ` on <resource>…`. */
function groupLines(grants: Grant[], line: (head: string, tail: string) => string): string[] {
  const groups = new Map<string, { head: string; actions: string[]; tail: string }>();
  for (const g of grants) {
    const tail = ` on ${g.resource}${conditionText(g.condition)}`;
    const key = `${g.principal}\0${tail}`;
    const group = groups.get(key) ?? { head: `${g.principal} `, actions: [], tail };
    if (!group.actions.includes(g.action)) group.actions.push(g.action);
    groups.set(key, group);
  }
  return [...groups.values()].map((g) => line(g.head + g.actions.sort().join(', '), g.tail));
}

/** ` when Bool aws:SecureTransport = false and StringLike s3:prefix = a/* | b/*`, or nothing. */
function conditionText(c: CanonicalCondition | undefined): string {
  const parts = Object.entries(c ?? {}).flatMap(([op, block]) =>
    Object.entries(block).map(([key, values]) => `${op} ${key} = ${values.join(' | ')}`),
  );
  return parts.length === 0 ? '' : ` when ${parts.join(' and ')}`;
}

/**
 * Who the policy lets read every object under `prefix` (s3:GetObject on `bucket/prefix*`): the
 * principals of Allow statements that cover it, each with ` (when …)` if a condition narrows
 * it. Empty when nobody but the bucket owner's own IAM principals can, or when an unconditional
 * Deny for everyone covers it.
 */
export function readersOf(policy: IamPolicy | null, bucket: string, prefix: string): string[] {
  const target = `arn:aws:s3:::${bucket}/${prefix}*`;
  const grants = expandPolicy(policy).flatMap((e) => e.grants ?? []);
  const reads = (g: Grant) =>
    globCovers(g.action, 's3:GetObject', true) && globCovers(g.resource, target, false);
  if (grants.some((g) => g.effect === 'Deny' && g.principal === '*' && !g.condition && reads(g))) return [];
  const out = new Set<string>();
  for (const g of grants)
    if (g.effect === 'Allow' && reads(g)) out.add(`${g.principal}${conditionText(g.condition)}`);
  return [...out].sort();
}
