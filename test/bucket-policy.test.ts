// Unit tests of the pure bucket-policy engine: compile, canonical form, merge by Sid, diff,
// access summary, widening and lint. Outputs worth reading whole are golden files in
// test/fixtures/policy/; `npm run test:update-golden` rewrites them (review the diff!).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { unifiedDiff } from '../src/plan/text-diff.js';
import {
  BucketPolicyError,
  canonicalAction,
  canonicalizePolicy,
  canonicalStatement,
  compiledSids,
  compilePolicy,
  compileStatement,
  diffPolicy,
  globCovers,
  type IamPolicy,
  type IamStatement,
  isPolicyWidening,
  isReadOnlyAction,
  lintPolicy,
  mergePolicy,
  type PolicyStatementConfig,
  parsePolicy,
  policyWidening,
  removeOwnedStatements,
  statementsEqual,
  summarizeAccess,
} from '../src/providers/s3/policy/index.js';
import { golden } from './support/golden.js';

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'policy');
const BUCKET = 'acme-share';
const TOPLYNE_ROLE = 'arn:aws:iam::388856629077:role/ToplyneServiceRoleForCustomerDataAccess';
const STATSIG_ROLE = 'arn:aws:iam::123456789012:role/statsig-export';

/** Toplyne's documented grant: read objects and versions, list the bucket, find its region. */
const TOPLYNE: PolicyStatementConfig = {
  sid: 'ToplyneRead',
  principals: [TOPLYNE_ROLE],
  actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:ListBucket', 's3:GetBucketLocation'],
  resources: ['bucket', 'objects'],
  readOnly: true,
};

/** Statsig reads and lists its three folders, nothing else. */
const STATSIG: PolicyStatementConfig = {
  sid: 'StatsigRead',
  principals: [STATSIG_ROLE],
  actions: ['s3:GetObject', 's3:ListBucket'],
  resources: [{ prefix: 'events/' }, { prefix: 'metrics/' }, { prefix: 'signals/' }],
  readOnly: true,
};

const DENY_INSECURE: PolicyStatementConfig = {
  sid: 'DenyInsecureTransport',
  effect: 'deny',
  principals: '*',
  actions: ['s3:*'],
  resources: ['bucket', 'objects'],
  conditions: { Bool: { 'aws:SecureTransport': 'false' } },
};

function readFixture(name: string): string {
  return fs.readFileSync(path.join(FIXTURES, name), 'utf8');
}

function liveMixed(): IamPolicy {
  return parsePolicy(readFixture('live-mixed.json'));
}

/** Compares with a golden file (see support/golden.ts). */
function expectGolden(name: string, actual: unknown): void {
  const text = typeof actual === 'string' ? `${actual}\n` : `${JSON.stringify(actual, null, 2)}\n`;
  expect(text).toBe(golden(path.join(FIXTURES, name), text));
}

const policyOf = (...statements: IamStatement[]): IamPolicy => ({
  Version: '2012-10-17',
  Statement: statements,
});
const compiled = (...stmts: PolicyStatementConfig[]) => compilePolicy(BUCKET, { statements: stmts });

describe('compile', () => {
  it('compiles the Toplyne statement to one statement on the bucket and its objects', () => {
    expectGolden('compile-toplyne.json', compiled(TOPLYNE));
  });

  it('compiles Statsig folders: reads on the prefixes, listing split off with an s3:prefix condition', () => {
    const policy = compiled(STATSIG);
    expectGolden('compile-statsig.json', policy);
    expect(policy.Statement.map((s) => s.Sid)).toEqual(['StatsigRead', 'StatsigReadList']);
    // The reads carry no s3:prefix condition: GetObject requests have no such key.
    expect(policy.Statement[0]!.Condition).toBeUndefined();
    expect(policy.Statement[1]!.Condition).toEqual({
      StringLike: { 's3:prefix': ['events/*', 'metrics/*', 'signals/*'] },
    });
  });

  it('compiles the deny-insecure-transport statement', () => {
    expectGolden('compile-deny-insecure-transport.json', compiled(DENY_INSECURE));
  });

  it('expands a bare account id to the account root ARN', () => {
    const [s] = compileStatement(BUCKET, { ...TOPLYNE, principals: ['444455556666'] });
    expect(s!.Principal).toEqual({ AWS: ['arn:aws:iam::444455556666:root'] });
  });

  it('keeps the plain Sid when a prefix statement only lists', () => {
    const out = compileStatement(BUCKET, { ...STATSIG, sid: 'StatsigList', actions: ['s3:ListBucket'] });
    expect(out.map((s) => [s.Sid, s.Resource])).toEqual([['StatsigList', [`arn:aws:s3:::${BUCKET}`]]]);
  });

  it('adds no prefix condition when the statement also names the whole bucket', () => {
    const out = compileStatement(BUCKET, { ...STATSIG, resources: ['bucket', { prefix: 'events/' }] });
    expect(out).toHaveLength(1);
    expect(out[0]!.Resource).toEqual([`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/events/*`]);
    expect(out[0]!.Condition).toBeUndefined();
  });

  it('splits listing out of a wildcard and keeps the wildcard for the objects under the prefix', () => {
    const out = compileStatement(BUCKET, { ...STATSIG, readOnly: false, actions: ['s3:*'] });
    expect(out.map((s) => [s.Sid, s.Action, s.Resource])).toEqual([
      [
        'StatsigRead',
        ['s3:*'],
        [
          `arn:aws:s3:::${BUCKET}/events/*`,
          `arn:aws:s3:::${BUCKET}/metrics/*`,
          `arn:aws:s3:::${BUCKET}/signals/*`,
        ],
      ],
      ['StatsigReadList', ['s3:ListBucket', 's3:ListBucketVersions'], [`arn:aws:s3:::${BUCKET}`]],
    ]);
  });

  it('merges declared conditions into the listing statement', () => {
    const conditions = { StringEquals: { 'aws:SourceVpce': 'vpce-1a2b3c4d' } };
    const [read, list] = compileStatement(BUCKET, { ...STATSIG, conditions });
    expect(read!.Condition).toEqual({ StringEquals: { 'aws:SourceVpce': ['vpce-1a2b3c4d'] } });
    expect(list!.Condition).toEqual({
      StringEquals: { 'aws:SourceVpce': ['vpce-1a2b3c4d'] },
      StringLike: { 's3:prefix': ['events/*', 'metrics/*', 'signals/*'] },
    });
  });

  it('reports the Sids it owns, including the split listing statement', () => {
    expect(compiledSids(BUCKET, STATSIG)).toEqual(['StatsigRead', 'StatsigReadList']);
    expect(compiledSids(BUCKET, TOPLYNE)).toEqual(['ToplyneRead']);
  });

  it('refuses statements that cannot compile to what they say', () => {
    const bad: Array<[string, PolicyStatementConfig]> = [
      ['prefix with a wildcard', { ...STATSIG, resources: [{ prefix: 'events/*' }] }],
      ['prefix with a policy variable', { ...STATSIG, resources: [{ prefix: '${aws:username}/' }] }],
      ['empty prefix', { ...STATSIG, resources: [{ prefix: '' }] }],
      ['declared s3:prefix', { ...STATSIG, conditions: { StringLike: { 's3:prefix': 'x/*' } } }],
      ['non-S3 action', { ...TOPLYNE, actions: ['kms:Decrypt'] }],
      ['Sid with a dash', { ...TOPLYNE, sid: 'toplyne-read' }],
      ['no actions', { ...TOPLYNE, actions: [] }],
      ['malformed principal', { ...TOPLYNE, principals: ['toplyne'] }],
    ];
    for (const [why, stmt] of bad) {
      expect(() => compileStatement(BUCKET, stmt), why).toThrow(BucketPolicyError);
    }
    expect(() => compileStatement('Not_A_Bucket', TOPLYNE)).toThrow(/not a valid S3 bucket name/);
    expect(() => compiled(STATSIG, { ...TOPLYNE, sid: 'StatsigReadList' })).toThrow(/StatsigReadList/);
  });
});

describe('canonical form', () => {
  const base: IamStatement = {
    Sid: 'S',
    Effect: 'Allow',
    Principal: { AWS: ['arn:aws:iam::111111111111:role/a', 'arn:aws:iam::222222222222:role/b'] },
    Action: ['s3:GetObject', 's3:ListBucket'],
    Resource: ['arn:aws:s3:::b', 'arn:aws:s3:::b/*'],
    Condition: { StringEquals: { 'aws:SourceVpce': ['vpce-1', 'vpce-2'], 'aws:PrincipalOrgID': 'o-1' } },
  };

  it('ignores principal order', () => {
    const other = {
      ...base,
      Principal: { AWS: ['arn:aws:iam::222222222222:role/b', 'arn:aws:iam::111111111111:role/a'] },
    };
    expect(statementsEqual(base, other)).toBe(true);
  });

  it('ignores action order', () => {
    expect(statementsEqual(base, { ...base, Action: ['s3:ListBucket', 's3:GetObject'] })).toBe(true);
  });

  it('ignores resource order and duplicates', () => {
    const other = { ...base, Resource: ['arn:aws:s3:::b/*', 'arn:aws:s3:::b', 'arn:aws:s3:::b/*'] };
    expect(statementsEqual(base, other)).toBe(true);
  });

  it('reads a string as a one-element array', () => {
    const one: IamStatement = {
      Effect: 'Deny',
      Principal: { AWS: 'arn:aws:iam::1:role/x' },
      Action: 's3:*',
      Resource: 'arn:aws:s3:::b',
    };
    const arrays: IamStatement = {
      Effect: 'Deny',
      Principal: { AWS: ['arn:aws:iam::1:role/x'] },
      Action: ['s3:*'],
      Resource: ['arn:aws:s3:::b'],
    };
    expect(statementsEqual(one, arrays)).toBe(true);
    expect(canonicalStatement(one).Action).toEqual(['s3:*']);
  });

  it('reads a single condition value as a one-element array, and true as "true"', () => {
    const a = { ...base, Condition: { Bool: { 'aws:SecureTransport': false } } };
    const b = { ...base, Condition: { Bool: { 'aws:SecureTransport': ['false'] } } };
    expect(statementsEqual(a, b)).toBe(true);
  });

  it('ignores key order of statements, condition operators and condition keys', () => {
    const reordered = JSON.parse(
      '{"Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1","aws:SourceVpce":["vpce-2","vpce-1"]}},' +
        '"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Action":["s3:GetObject","s3:ListBucket"],' +
        '"Principal":{"AWS":["arn:aws:iam::111111111111:role/a","arn:aws:iam::222222222222:role/b"]},"Effect":"Allow","Sid":"S"}',
    );
    expect(JSON.stringify(canonicalStatement(reordered))).toBe(JSON.stringify(canonicalStatement(base)));
    const twoOps = (first: 'Bool' | 'StringEquals'): IamStatement => ({
      ...base,
      Condition:
        first === 'Bool'
          ? { Bool: { 'aws:SecureTransport': 'true' }, StringEquals: { 'aws:SourceVpce': 'v' } }
          : { StringEquals: { 'aws:SourceVpce': 'v' }, Bool: { 'aws:SecureTransport': 'true' } },
    });
    expect(JSON.stringify(canonicalStatement(twoOps('Bool')))).toBe(
      JSON.stringify(canonicalStatement(twoOps('StringEquals'))),
    );
  });

  it('reads a bare account id as the account root ARN', () => {
    const id: IamStatement = { ...base, Principal: { AWS: '123456789012' } };
    const arn: IamStatement = { ...base, Principal: { AWS: 'arn:aws:iam::123456789012:root' } };
    expect(statementsEqual(id, arn)).toBe(true);
  });

  it('ignores action case and prints the documented spelling', () => {
    expect(statementsEqual(base, { ...base, Action: ['s3:getobject', 'S3:LISTBUCKET'] })).toBe(true);
    expect(canonicalAction('s3:getobjectversion')).toBe('s3:GetObjectVersion');
    expect(canonicalAction('S3:GET*')).toBe('s3:Get*');
    expect(canonicalAction('s3:getbucketcors')).toBe('s3:GetBucketCORS');
    expect(canonicalAction('s3:ListAllMyBuckets')).toBe('s3:ListAllMyBuckets');
    // Unknown words cannot be spelled: one lower-case form, whatever the input case.
    expect(canonicalAction('s3:FrobnicateThing')).toBe(canonicalAction('s3:frobnicatething'));
  });

  it('ignores condition key case for known keys', () => {
    const a = { ...base, Condition: { Bool: { 'aws:securetransport': 'false' } } };
    const b = { ...base, Condition: { Bool: { 'aws:SecureTransport': 'false' } } };
    expect(statementsEqual(a, b)).toBe(true);
  });

  it('still tells apart what IAM tells apart', () => {
    expect(statementsEqual(base, { ...base, Sid: 'T' })).toBe(false);
    expect(statementsEqual(base, { ...base, Effect: 'Deny' })).toBe(false);
    // S3 keys are case-sensitive, so resource ARNs are compared as written.
    expect(statementsEqual(base, { ...base, Resource: ['arn:aws:s3:::b', 'arn:aws:s3:::b/Events/*'] })).toBe(
      false,
    );
    expect(statementsEqual(base, { ...base, Principal: '*' })).toBe(false);
  });

  it('canonicalizes whole policies from JSON text, a lone statement object included', () => {
    const text =
      '{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:getobject","Resource":"arn:aws:s3:::b/*"}}';
    expect(canonicalizePolicy(text)).toEqual({
      Version: '2008-10-17',
      Statement: [
        { Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::b/*'] },
      ],
    });
  });

  it('rejects malformed live policies', () => {
    expect(() => parsePolicy('{')).toThrow(BucketPolicyError);
    expect(() => parsePolicy({ Statement: [{ Effect: 'allow' }] })).toThrow(/Effect/);
    expect(() =>
      parsePolicy({ Statement: [{ Effect: 'Allow', Action: 's3:*', NotAction: 's3:Get*' }] }),
    ).toThrow(/both Action and NotAction/);
    expect(() => parsePolicy({ Statement: [{ Effect: 'Allow', Actions: 's3:*' }] })).toThrow(
      /unknown key "Actions"/,
    );
    expect(() => parsePolicy({ Version: '2012-10-17' })).toThrow(/no Statement/);
  });
});

describe('merge', () => {
  const desired = () => [...compiled(TOPLYNE, DENY_INSECURE).Statement];

  it('replaces owned statements in place, appends new ones, leaves the rest untouched', () => {
    const live = liveMixed();
    const result = mergePolicy(live, desired(), { exclusive: false });
    expectGolden('merge-mixed.json', result.policy);
    const out = result.policy!.Statement;
    // Same objects, same positions: foreign Sid first, no-Sid deny third, not even reformatted.
    expect(out[0]).toBe(live.Statement[0]);
    expect(out[2]).toBe(live.Statement[2]);
    expect(out[3]).toBe(live.Statement[3]);
    expect(out[1]!.Sid).toBe('ToplyneRead');
    expect(out[4]!.Sid).toBe('DenyInsecureTransport');
    expect(result.policy!.Id).toBe('AcmeSharePolicy');
    expect(result.unmanaged.map((s) => s.Sid ?? '(none)')).toEqual([
      'AuditorsReadAudit',
      '(none)',
      'RetiredVendorRead',
    ]);
    expect(result.managed.map((s) => s.Sid)).toEqual(['ToplyneRead', 'DenyInsecureTransport']);
    expect(result.removed).toEqual([]);
  });

  it('removes a previously owned Sid that the file no longer declares', () => {
    const result = mergePolicy(liveMixed(), desired(), { exclusive: false, owned: ['RetiredVendorRead'] });
    expect(result.policy!.Statement.map((s) => s.Sid ?? '(none)')).toEqual([
      'AuditorsReadAudit',
      'ToplyneRead',
      '(none)',
      'DenyInsecureTransport',
    ]);
    expect(result.removed.map((s) => s.Sid)).toEqual(['RetiredVendorRead']);
  });

  it('in exclusive mode keeps exactly the desired statements, in their live order', () => {
    const result = mergePolicy(liveMixed(), desired().reverse(), { exclusive: true });
    expectGolden('merge-exclusive.json', result.policy);
    expect(result.policy!.Statement.map((s) => s.Sid)).toEqual(['ToplyneRead', 'DenyInsecureTransport']);
    expect(result.unmanaged).toEqual([]);
    expect(result.removed).toHaveLength(3);
  });

  it('removes owned Sids when a share leaves the file', () => {
    const result = removeOwnedStatements(liveMixed(), ['ToplyneRead', 'RetiredVendorRead']);
    expectGolden('remove-owned.json', result.policy);
    expect(result.removed.map((s) => s.Sid)).toEqual(['ToplyneRead', 'RetiredVendorRead']);
  });

  it('deletes the policy when nothing is left', () => {
    const live = policyOf(...compiled(TOPLYNE).Statement);
    expect(removeOwnedStatements(live, ['ToplyneRead']).policy).toBeNull();
    expect(mergePolicy(live, [], { exclusive: true }).policy).toBeNull();
    expect(mergePolicy(null, [], { exclusive: false }).policy).toBeNull();
  });

  it('creates a policy from nothing', () => {
    const result = mergePolicy(null, desired(), { exclusive: false });
    expect(result.policy).toEqual({ Version: '2012-10-17', Statement: desired() });
  });

  it('keeps one statement per owned Sid when the live policy repeats it', () => {
    const dup = liveMixed().Statement[1]!;
    const result = mergePolicy(policyOf(dup, dup), desired(), { exclusive: false });
    expect(result.policy!.Statement.map((s) => s.Sid)).toEqual(['ToplyneRead', 'DenyInsecureTransport']);
    expect(result.removed).toHaveLength(1);
  });

  it('refuses desired statements without a Sid or with a repeated one', () => {
    const [s] = desired();
    expect(() => mergePolicy(null, [{ ...s!, Sid: undefined }], { exclusive: false })).toThrow(/no Sid/);
    expect(() => mergePolicy(null, [s!, s!], { exclusive: false })).toThrow(/declared twice/);
  });
});

describe('text diff', () => {
  it('prints nothing for equal inputs', () => {
    expect(unifiedDiff(['a', 'b'], ['a', 'b'])).toEqual([]);
  });

  it('shows a change with three lines of context', () => {
    const before = ['1', '2', '3', '4', '5', '6', '7', '8', '9'];
    const after = ['1', '2', '3', '4', 'five', '6', '7', '8', '9'];
    expect(unifiedDiff(before, after)).toEqual([
      '@@ -2,7 +2,7 @@',
      ' 2',
      ' 3',
      ' 4',
      '-5',
      '+five',
      ' 6',
      ' 7',
      ' 8',
    ]);
  });

  it('splits distant changes into hunks and joins near ones', () => {
    const before = Array.from({ length: 20 }, (_, i) => `l${i + 1}`);
    const after = before.map((l) => (l === 'l2' || l === 'l18' ? `${l}!` : l));
    const out = unifiedDiff(before, after, 2);
    expect(out.filter((l) => l.startsWith('@@'))).toEqual(['@@ -1,4 +1,4 @@', '@@ -16,5 +16,5 @@']);
    const near = unifiedDiff(
      before,
      before.map((l) => (l === 'l5' || l === 'l9' ? 'x' : l)),
      2,
    );
    expect(near.filter((l) => l.startsWith('@@'))).toEqual(['@@ -3,9 +3,9 @@']);
  });

  it('numbers pure insertions and deletions like diff -u', () => {
    expect(unifiedDiff([], ['a', 'b'])).toEqual(['@@ -0,0 +1,2 @@', '+a', '+b']);
    expect(unifiedDiff(['a', 'b'], [])).toEqual(['@@ -1,2 +0,0 @@', '-a', '-b']);
    expect(unifiedDiff(['a', 'c'], ['a', 'b', 'c'], 0)).toEqual(['@@ -1,0 +2,1 @@', '+b']);
  });

  it('diffs the canonical policies: live against merged', () => {
    const live = liveMixed();
    const merged = mergePolicy(live, [...compiled(TOPLYNE, DENY_INSECURE).Statement], {
      exclusive: false,
    }).policy;
    const d = diffPolicy(live, merged);
    expect(d.changed).toBe(true);
    expectGolden('diff-mixed.txt', d.text);
  });

  it('sees no change when only the spelling differs', () => {
    const planned = compiled(TOPLYNE);
    const spelled: IamPolicy = {
      Version: '2012-10-17',
      Statement: [
        {
          Resource: ['arn:aws:s3:::acme-share/*', 'arn:aws:s3:::acme-share'],
          Action: ['s3:listbucket', 's3:GetBucketLocation', 's3:getobjectversion', 's3:GetObject'],
          Principal: { AWS: TOPLYNE_ROLE },
          Effect: 'Allow',
          Sid: 'ToplyneRead',
        },
      ],
    };
    expect(diffPolicy(spelled, planned)).toEqual({ changed: false, text: '' });
  });

  it('shows creating and deleting the whole policy', () => {
    const created = diffPolicy(null, compiled(DENY_INSECURE));
    expect(created.text.split('\n').slice(0, 3)).toEqual([
      '--- live (no policy)',
      '+++ planned',
      '@@ -0,0 +1,24 @@',
    ]);
    const deleted = diffPolicy(compiled(DENY_INSECURE), null);
    expect(deleted.changed).toBe(true);
    expect(
      deleted.text
        .split('\n')
        .slice(2)
        .every((l) => l.startsWith('@@') || l.startsWith('-')),
    ).toBe(true);
  });
});

describe('access summary', () => {
  it('says who gains and loses what, per resource', () => {
    const live = liveMixed();
    const merged = mergePolicy(live, [...compiled(TOPLYNE, DENY_INSECURE).Statement], {
      exclusive: false,
      owned: ['RetiredVendorRead'],
    }).policy;
    expectGolden('summary-mixed.json', summarizeAccess(live, merged));
  });

  it('names the Toplyne grants without pairs IAM never uses', () => {
    expect(summarizeAccess(null, compiled(TOPLYNE))).toEqual([
      `${TOPLYNE_ROLE} gains s3:GetBucketLocation, s3:ListBucket on arn:aws:s3:::acme-share`,
      `${TOPLYNE_ROLE} gains s3:GetObject, s3:GetObjectVersion on arn:aws:s3:::acme-share/*`,
    ]);
    expect(summarizeAccess(compiled(TOPLYNE), null)).toEqual([
      `${TOPLYNE_ROLE} loses s3:GetBucketLocation, s3:ListBucket on arn:aws:s3:::acme-share`,
      `${TOPLYNE_ROLE} loses s3:GetObject, s3:GetObjectVersion on arn:aws:s3:::acme-share/*`,
    ]);
  });

  it('shows conditions and denies', () => {
    expect(summarizeAccess(null, compiled(STATSIG, DENY_INSECURE))).toEqual([
      '* is newly denied s3:* on arn:aws:s3:::acme-share when Bool aws:SecureTransport = false',
      '* is newly denied s3:* on arn:aws:s3:::acme-share/* when Bool aws:SecureTransport = false',
      `${STATSIG_ROLE} gains s3:ListBucket on arn:aws:s3:::acme-share when StringLike s3:prefix = events/* | metrics/* | signals/*`,
      `${STATSIG_ROLE} gains s3:GetObject on arn:aws:s3:::acme-share/events/*`,
      `${STATSIG_ROLE} gains s3:GetObject on arn:aws:s3:::acme-share/metrics/*`,
      `${STATSIG_ROLE} gains s3:GetObject on arn:aws:s3:::acme-share/signals/*`,
    ]);
  });

  it('says nothing when nothing changes', () => {
    expect(summarizeAccess(compiled(TOPLYNE), compiled(TOPLYNE))).toEqual([]);
  });

  it('reports statements it cannot expand as a whole', () => {
    const notAction: IamStatement = {
      Sid: 'Odd',
      Effect: 'Allow',
      Principal: '*',
      NotAction: 's3:Delete*',
      Resource: '*',
    };
    expect(summarizeAccess(null, policyOf(notAction))).toEqual([
      'Odd (with NotPrincipal/NotAction/NotResource) is added or changed; review the policy diff',
    ]);
  });
});

describe('widening', () => {
  const toplyne = compiled(TOPLYNE);
  const deny = compiled(DENY_INSECURE);
  const both = compiled(TOPLYNE, DENY_INSECURE);
  const stmt = (over: Partial<IamStatement>): IamStatement => ({ ...toplyne.Statement[0]!, ...over });

  it('flags a new grant, with the reason', () => {
    const r = policyWidening(null, toplyne);
    expect(r.widening).toBe(true);
    expect(r.reasons).toEqual([
      `ToplyneRead allows ${TOPLYNE_ROLE} s3:GetBucketLocation, s3:ListBucket on arn:aws:s3:::acme-share (not allowed before)`,
      `ToplyneRead allows ${TOPLYNE_ROLE} s3:GetObject, s3:GetObjectVersion on arn:aws:s3:::acme-share/* (not allowed before)`,
    ]);
  });

  it('does not flag the same policy spelled differently, a narrowing, or a new deny', () => {
    expect(
      isPolicyWidening(
        toplyne,
        policyOf(
          stmt({ Action: ['s3:getobject', 's3:GetObjectVersion', 's3:ListBucket', 's3:GetBucketLocation'] }),
        ),
      ),
    ).toBe(false);
    expect(isPolicyWidening(toplyne, policyOf(stmt({ Action: ['s3:GetObject'] })))).toBe(false);
    expect(isPolicyWidening(toplyne, both)).toBe(false);
    expect(isPolicyWidening(toplyne, null)).toBe(false);
  });

  it('does not flag a grant already covered by a wildcard, an account principal or fewer conditions', () => {
    expect(
      isPolicyWidening(policyOf(stmt({ Action: 's3:Get*' })), policyOf(stmt({ Action: 's3:GetObject' }))),
    ).toBe(false);
    expect(isPolicyWidening(policyOf(stmt({ Principal: { AWS: '388856629077' } })), toplyne)).toBe(false);
    const pinned = stmt({ Condition: { StringEquals: { 'aws:SourceVpce': 'vpce-1' } } });
    expect(isPolicyWidening(toplyne, policyOf(pinned))).toBe(false);
  });

  it('flags a grant to a new principal, on a new resource, with a broader action or fewer conditions', () => {
    expect(
      isPolicyWidening(
        toplyne,
        policyOf(stmt({ Principal: { AWS: ['arn:aws:iam::388856629077:role/Other'] } })),
      ),
    ).toBe(true);
    expect(isPolicyWidening(compiled(STATSIG), compiled({ ...STATSIG, resources: ['objects'] }))).toBe(true);
    expect(
      isPolicyWidening(policyOf(stmt({ Action: 's3:GetObject' })), policyOf(stmt({ Action: 's3:Get*' }))),
    ).toBe(true);
    const pinned = stmt({ Condition: { StringEquals: { 'aws:SourceVpce': 'vpce-1' } } });
    expect(isPolicyWidening(policyOf(pinned), toplyne)).toBe(true);
    // Another account's root is broader than one role of the vendor.
    expect(isPolicyWidening(toplyne, policyOf(stmt({ Principal: { AWS: '388856629077' } })))).toBe(true);
  });

  it('flags a deny that is removed or narrowed', () => {
    const r = policyWidening(both, toplyne);
    expect(r.widening).toBe(true);
    expect(r.reasons[0]).toMatch(
      /^DenyInsecureTransport no longer denies \* s3:\* on arn:aws:s3:::acme-share when Bool/,
    );
    const narrowed = policyOf(toplyne.Statement[0]!, { ...deny.Statement[0]!, Action: ['s3:PutObject'] });
    expect(isPolicyWidening(both, narrowed)).toBe(true);
    const moreConditions = policyOf(toplyne.Statement[0]!, {
      ...deny.Statement[0]!,
      Condition: {
        Bool: { 'aws:SecureTransport': ['false'] },
        StringEquals: { 'aws:SourceVpce': ['vpce-1'] },
      },
    });
    expect(isPolicyWidening(both, moreConditions)).toBe(true);
  });

  it('does not flag a deny renamed or broadened', () => {
    expect(
      isPolicyWidening(both, policyOf(toplyne.Statement[0]!, { ...deny.Statement[0]!, Sid: 'TlsOnly' })),
    ).toBe(false);
    expect(
      isPolicyWidening(both, policyOf(toplyne.Statement[0]!, { ...deny.Statement[0]!, Resource: ['*'] })),
    ).toBe(false);
  });

  it('flags statements it cannot analyze', () => {
    const notAction: IamStatement = {
      Sid: 'Odd',
      Effect: 'Allow',
      Principal: { AWS: TOPLYNE_ROLE },
      NotAction: 's3:Delete*',
      Resource: '*',
    };
    expect(isPolicyWidening(null, policyOf(notAction))).toBe(true);
    expect(isPolicyWidening(policyOf(notAction), policyOf(notAction))).toBe(false);
    const notDeny: IamStatement = {
      Effect: 'Deny',
      NotPrincipal: { AWS: TOPLYNE_ROLE },
      Action: 's3:*',
      Resource: '*',
    };
    expect(isPolicyWidening(policyOf(notDeny), null)).toBe(true);
  });
});

describe('wildcard coverage', () => {
  it('is sound for the patterns policies use', () => {
    expect(globCovers('s3:*', 's3:Get*', true)).toBe(true);
    expect(globCovers('s3:Get*', 's3:getobject', true)).toBe(true);
    expect(globCovers('s3:Get*', 's3:*', true)).toBe(false);
    expect(globCovers('arn:aws:s3:::b/*', 'arn:aws:s3:::b/events/*', false)).toBe(true);
    expect(globCovers('arn:aws:s3:::b/events/*', 'arn:aws:s3:::b/*', false)).toBe(false);
    expect(globCovers('arn:aws:s3:::b/?', 'arn:aws:s3:::b/*', false)).toBe(false);
    expect(globCovers('arn:aws:s3:::b/Events/*', 'arn:aws:s3:::b/events/x', false)).toBe(false);
  });
});

describe('lint', () => {
  const codes = (stmts: PolicyStatementConfig[], accountId = '123456789012') =>
    lintPolicy(BUCKET, stmts, { accountId }).map((d) => d.code);

  it('accepts the vendor statements with a full secure-transport deny', () => {
    expect(lintPolicy(BUCKET, [TOPLYNE, STATSIG, DENY_INSECURE], { accountId: '123456789012' })).toEqual([]);
  });

  it('refuses an unpinned Allow to "*"', () => {
    const open: PolicyStatementConfig = { ...TOPLYNE, sid: 'Open', principals: '*' };
    const d = lintPolicy(BUCKET, [open, DENY_INSECURE]);
    expect(d.map((x) => [x.severity, x.code, x.sid])).toEqual([['error', 'public-principal', 'Open']]);
    expect(d[0]!.message).toMatch(/^Open: /);
    // Pinned to the organization: fine.
    expect(
      codes([{ ...open, conditions: { StringEquals: { 'aws:PrincipalOrgID': 'o-abc123' } } }, DENY_INSECURE]),
    ).toEqual([]);
    // Conditions that pin nothing.
    const unpinned: NonNullable<PolicyStatementConfig['conditions']>[] = [
      { StringLike: { 'aws:PrincipalArn': '*' } },
      { StringEqualsIfExists: { 'aws:SourceVpce': 'vpce-1' } },
      { StringNotEquals: { 'aws:PrincipalOrgID': 'o-abc123' } },
      { IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } },
      { Bool: { 'aws:SecureTransport': 'true' } },
    ];
    for (const conditions of unpinned) {
      expect(codes([{ ...open, conditions }, DENY_INSECURE]), JSON.stringify(conditions)).toEqual([
        'public-principal',
      ]);
    }
    // A Deny to "*" exposes nothing.
    expect(codes([DENY_INSECURE])).toEqual([]);
  });

  it('refuses an unpinned Allow to another whole account', () => {
    const acct = (principals: string[], conditions?: PolicyStatementConfig['conditions']) => ({
      ...TOPLYNE,
      sid: 'Acct',
      principals,
      ...(conditions ? { conditions } : {}),
    });
    expect(codes([acct(['444455556666']), DENY_INSECURE])).toEqual(['account-principal']);
    expect(codes([acct(['arn:aws:iam::444455556666:root']), DENY_INSECURE])).toEqual(['account-principal']);
    expect(
      codes([
        acct(['arn:aws:iam::444455556666:root'], {
          StringEquals: { 'aws:PrincipalAccount': '444455556666' },
        }),
        DENY_INSECURE,
      ]),
    ).toEqual(['account-principal']);
    // Pinned to a role, the bucket owner's own account, or a specific role ARN: fine.
    expect(
      codes([
        acct(['444455556666'], { ArnEquals: { 'aws:PrincipalArn': 'arn:aws:iam::444455556666:role/r' } }),
        DENY_INSECURE,
      ]),
    ).toEqual([]);
    expect(codes([acct(['123456789012']), DENY_INSECURE])).toEqual([]);
    expect(codes([acct(['arn:aws:iam::444455556666:role/reader']), DENY_INSECURE])).toEqual([]);
    // Without the owner's account id every account principal is suspect.
    expect(lintPolicy(BUCKET, [acct(['123456789012']), DENY_INSECURE]).map((d) => d.code)).toEqual([
      'account-principal',
    ]);
  });

  it('refuses write or delete actions in a readOnly statement', () => {
    for (const action of [
      's3:PutObject',
      's3:DeleteObject',
      's3:*',
      '*',
      's3:G*',
      's3:*Object',
      's3:RestoreObject',
    ]) {
      const d = lintPolicy(BUCKET, [{ ...TOPLYNE, actions: ['s3:GetObject', action] }, DENY_INSECURE], {
        accountId: '123456789012',
      });
      expect(
        d.map((x) => x.code),
        action,
      ).toContain('read-only-write-action');
      expect(d.find((x) => x.code === 'read-only-write-action')!.message).toMatch(
        /^ToplyneRead: declared readOnly/,
      );
    }
    expect(codes([{ ...TOPLYNE, actions: ['s3:Get*', 's3:List*'] }, DENY_INSECURE])).toEqual([]);
    expect(
      codes([{ ...TOPLYNE, readOnly: false, actions: ['s3:GetObject', 's3:PutObject'] }, DENY_INSECURE]),
    ).toEqual([]);
  });

  it('classifies read-only actions by their literal name', () => {
    expect(
      ['s3:GetObject', 's3:getobjectversion', 's3:Get*', 's3:ListBucket', 's3:List*', 's3:DescribeJob'].every(
        isReadOnlyAction,
      ),
    ).toBe(true);
    expect(
      ['s3:PutObject', 's3:*', '*', 's3:G*', 's3:?etObject', 's3:ReplicateObject'].some(isReadOnlyAction),
    ).toBe(false);
  });

  it('warns when no statement denies insecure transport, or only in part', () => {
    const d = lintPolicy(BUCKET, [TOPLYNE], { accountId: '123456789012' });
    expect(d).toEqual([expect.objectContaining({ severity: 'warning', code: 'no-secure-transport-deny' })]);
    const partial = { ...DENY_INSECURE, actions: ['s3:GetObject'] };
    const p = lintPolicy(BUCKET, [TOPLYNE, partial], { accountId: '123456789012' });
    expect(p.map((x) => [x.code, x.sid])).toEqual([
      ['partial-secure-transport-deny', 'DenyInsecureTransport'],
    ]);
    expect(p[0]!.message).toMatch(/^DenyInsecureTransport: /);
    const boolean = { ...DENY_INSECURE, conditions: { Bool: { 'aws:SecureTransport': false } } };
    expect(codes([TOPLYNE, boolean])).toEqual([]);
  });

  it('warns about actions no declared resource can carry', () => {
    const d = lintPolicy(BUCKET, [{ ...TOPLYNE, resources: ['objects'] }, DENY_INSECURE], {
      accountId: '123456789012',
    });
    expect(d.map((x) => x.message)).toEqual([
      'ToplyneRead: s3:ListBucket grants nothing here: listing needs the bucket resource or a prefix',
      'ToplyneRead: s3:GetBucketLocation grants nothing here: it applies to the bucket; add the bucket resource',
    ]);
    expect(codes([{ ...TOPLYNE, actions: ['s3:GetObject'], resources: ['bucket'] }, DENY_INSECURE])).toEqual([
      'inert-action',
    ]);
    expect(codes([STATSIG, DENY_INSECURE])).toEqual([]);
  });

  it('reports statements that cannot compile and Sid clashes', () => {
    const shapeless = {
      sid: 'Shapeless',
      principals: '*',
      resources: ['objects'],
    } as unknown as PolicyStatementConfig;
    expect(lintPolicy(BUCKET, [shapeless]).map((x) => [x.code, x.message])).toEqual([
      ['invalid-statement', 'Shapeless: actions must not be empty'],
      ['no-secure-transport-deny', expect.stringMatching(/^no statement denies insecure transport/)],
    ]);
    const d = lintPolicy(BUCKET, [{ ...STATSIG, resources: [{ prefix: 'a*' }] }, DENY_INSECURE]);
    expect(d.map((x) => [x.code, x.message])).toEqual([
      ['invalid-statement', 'StatsigRead: prefix "a*" must not contain *, ? or ${'],
    ]);
    const clash = lintPolicy(BUCKET, [STATSIG, { ...TOPLYNE, sid: 'StatsigReadList' }, DENY_INSECURE], {
      accountId: '123456789012',
    });
    expect(clash.map((x) => [x.code, x.sid])).toEqual([['duplicate-sid', 'StatsigReadList']]);
  });
});
