// Lint for the declared bucket-policy statements, before anything is compiled or sent:
//   invalid-statement (error)      the statement cannot compile (see statementProblems)
//   duplicate-sid (error)          two statements compile to the same Sid
//   public-principal (error)       Allow to `*` without a condition pinning who or where from
//   account-principal (error)      Allow to a whole other account (`…:root` or a bare id), unpinned
//   read-only-write-action (error) a `readOnly` statement names an action that may write or delete
//   inert-action (warning)         an action none of the statement's resources can carry
//   no-secure-transport-deny (warning) / partial-secure-transport-deny (warning)
// Messages start with the offending statement's Sid. Bucket-level settings (block public
// access, ACLs) are checked elsewhere. Pure.
import { compileStatement, statementProblems } from './compile.js';
import { LISTING_ACTIONS, s3ActionLevel } from './match.js';
import type { PolicyStatementConfig } from './types.js';

export interface PolicyDiagnostic {
  severity: 'error' | 'warning';
  code: string;
  message: string;
  sid?: string;
}

export interface PolicyLintOptions {
  /** The account owning the bucket; its own account principal is not "another account". */
  accountId?: string;
}

/**
 * Context keys that, tested with a positive operator against real values, pin an Allow to
 * known callers or networks. `aws:PrincipalAccount` pins `*` to an account, but says nothing
 * new about an account principal, so it does not count there.
 */
const PINNING_KEYS = [
  'aws:principalarn',
  'aws:principalorgid',
  'aws:principalorgpaths',
  'aws:principalaccount',
  'aws:sourceaccount',
  'aws:sourcearn',
  'aws:sourceowner',
  'aws:sourceorgid',
  'aws:sourceorgpaths',
  'aws:sourcevpce',
  'aws:sourcevpc',
  'aws:sourceip',
  'aws:vpcsourceip',
  'aws:userid',
];

// Only these restrict: a Not* operator or an ...IfExists one passes requests without the key,
// and ForAllValues passes when the key is missing.
const PINNING_OPERATORS = [
  'stringequals',
  'stringequalsignorecase',
  'stringlike',
  'arnequals',
  'arnlike',
  'ipaddress',
];

export function lintPolicy(
  bucket: string,
  statements: readonly PolicyStatementConfig[],
  opts: PolicyLintOptions = {},
): PolicyDiagnostic[] {
  const out: PolicyDiagnostic[] = [];
  const report = (severity: PolicyDiagnostic['severity'], code: string, sid: string, message: string) =>
    out.push({ severity, code, sid, message: `${sid}: ${message}` });
  const sids = new Map<string, string>();
  // Only statements that compile are checked further: the others have no reliable shape.
  const valid: PolicyStatementConfig[] = [];

  for (const s of statements) {
    const problems = statementProblems(s);
    if (problems.length > 0) {
      for (const p of problems) report('error', 'invalid-statement', s.sid, p);
      continue;
    }
    valid.push(s);
    for (const compiled of safeCompile(bucket, s)) {
      const sid = compiled.Sid!;
      const owner = sids.get(sid);
      if (owner !== undefined) {
        report('error', 'duplicate-sid', s.sid, `compiles to Sid ${sid}, which ${owner} already uses`);
      }
      sids.set(sid, s.sid);
    }
    lintPrincipals(s, opts, report);
    if (s.readOnly) {
      const writes = s.actions.filter((a) => !isReadOnlyAction(a));
      if (writes.length > 0) {
        report(
          'error',
          'read-only-write-action',
          s.sid,
          `declared readOnly but ${writes.join(', ')} may write or delete; name Get*/List* actions only`,
        );
      }
    }
    for (const a of s.actions) {
      const why = inertReason(s, a);
      if (why !== null) report('warning', 'inert-action', s.sid, `${a} grants nothing here: ${why}`);
    }
  }
  lintSecureTransport(valid, out);
  return out;
}

function safeCompile(bucket: string, s: PolicyStatementConfig) {
  try {
    return compileStatement(bucket, s);
  } catch {
    return []; // a bad bucket name is reported by the bucket's own validation
  }
}

function lintPrincipals(
  s: PolicyStatementConfig,
  opts: PolicyLintOptions,
  report: (severity: 'error', code: string, sid: string, message: string) => void,
): void {
  if (s.effect === 'deny') return; // denying anyone never exposes data
  if (s.principals === '*') {
    if (!isPinned(s, true)) {
      report(
        'error',
        'public-principal',
        s.sid,
        'allows principal "*" with no condition pinning the caller (aws:PrincipalArn, aws:PrincipalOrgID, aws:SourceVpce, aws:SourceIp, …)',
      );
    }
    return;
  }
  for (const p of s.principals) {
    const account = /^\d{12}$/.test(p) ? p : /^arn:aws[a-z-]*:iam::(\d{12}):root$/.exec(p)?.[1];
    if (account === undefined || account === opts.accountId || isPinned(s, false)) continue;
    const whose =
      opts.accountId === undefined ? 'an account (the bucket owner is unknown)' : 'another account';
    report(
      'error',
      'account-principal',
      s.sid,
      `allows ${p}, ${whose}: every identity it authorizes gets access; name a role ARN or pin it with aws:PrincipalArn`,
    );
  }
}

/** Is there a positive condition on a pinning key with at least one real (non-wildcard) value? */
function isPinned(s: PolicyStatementConfig, accountCounts: boolean): boolean {
  for (const [op, block] of Object.entries(s.conditions ?? {})) {
    const bare = op.toLowerCase().replace(/^foranyvalue:/, '');
    if (!PINNING_OPERATORS.includes(bare)) continue;
    for (const [key, value] of Object.entries(block)) {
      const k = key.toLowerCase();
      if (!PINNING_KEYS.includes(k) || (!accountCounts && k === 'aws:principalaccount')) continue;
      const values = (Array.isArray(value) ? value : [value]).map(String);
      const open = (v: string) => /^[*?]*$/.test(v) || v === '0.0.0.0/0' || v === '::/0';
      if (values.length > 0 && !values.some(open)) return true;
    }
  }
  return false;
}

/**
 * Read-only means the part of the name before any wildcard already says Get, List or
 * Describe: `s3:Get*` is read-only, `s3:G*`, `s3:*Object`, `s3:*` and `*` are not.
 */
export function isReadOnlyAction(action: string): boolean {
  const colon = action.indexOf(':');
  if (colon < 0) return false;
  const literal = action
    .slice(colon + 1)
    .split(/[*?]/)[0]!
    .toLowerCase();
  return ['get', 'list', 'describe'].some((verb) => literal.startsWith(verb));
}

/** Why an explicit action cannot apply to any declared resource, or null. */
function inertReason(s: PolicyStatementConfig, action: string): string | null {
  const has = (r: 'bucket' | 'objects' | 'prefix') =>
    s.resources.some((x) => (r === 'prefix' ? typeof x === 'object' : x === r));
  const listing = LISTING_ACTIONS.some((l) => l.toLowerCase() === action.toLowerCase());
  const level = s3ActionLevel(action);
  if (listing) return has('bucket') || has('prefix') ? null : 'listing needs the bucket resource or a prefix';
  if (level === 'bucket' && !has('bucket')) return 'it applies to the bucket; add the bucket resource';
  if (level === 'object' && !has('objects') && !has('prefix'))
    return 'it applies to objects; add objects or a prefix';
  return null;
}

/** Denying requests over plain HTTP is the AWS-recommended baseline; say so when it is missing. */
function lintSecureTransport(statements: readonly PolicyStatementConfig[], out: PolicyDiagnostic[]): void {
  const denies = statements.filter((s) => s.effect === 'deny' && deniesPlainHttp(s));
  if (denies.length === 0) {
    out.push({
      severity: 'warning',
      code: 'no-secure-transport-deny',
      message:
        'no statement denies insecure transport; add a deny for "*", s3:*, bucket and objects with Bool aws:SecureTransport "false"',
    });
    return;
  }
  const full = denies.some(
    (s) =>
      s.principals === '*' &&
      s.actions.some((a) => a === '*' || a.toLowerCase() === 's3:*') &&
      s.resources.includes('bucket') &&
      s.resources.includes('objects'),
  );
  if (!full) {
    for (const s of denies) {
      out.push({
        severity: 'warning',
        code: 'partial-secure-transport-deny',
        sid: s.sid,
        message: `${s.sid}: denies insecure transport only in part; use principals "*", actions s3:*, resources bucket and objects`,
      });
    }
  }
}

function deniesPlainHttp(s: PolicyStatementConfig): boolean {
  return Object.entries(s.conditions ?? {}).some(
    ([op, block]) =>
      /^bool(ifexists)?$/i.test(op) &&
      Object.entries(block).some(
        ([key, v]) =>
          key.toLowerCase() === 'aws:securetransport' &&
          (Array.isArray(v) ? v : [v]).some((x) => String(x).toLowerCase() === 'false'),
      ),
  );
}
