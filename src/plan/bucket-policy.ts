// The bucket-policy engine for S3 shares, in one import: compile the friendly statements of a
// wharf file, canonicalize live policies, merge by Sid ownership, diff, summarize access,
// detect widening and lint. Each concern lives in its own bucket-policy-*.ts file. Pure.

export {
  isPolicyWidening,
  policyWidening,
  summarizeAccess,
  type WideningResult,
} from './bucket-policy-access.js';
export {
  accountPrincipal,
  canonicalAction,
  canonicalConditionKey,
  canonicalizePolicy,
  canonicalStatement,
  parsePolicy,
  sameMeaning,
  statementsEqual,
} from './bucket-policy-canonical.js';
export {
  bucketArn,
  checkBucketName,
  compiledSids,
  compilePolicy,
  compileStatement,
  LIST_SID_SUFFIX,
  POLICY_VERSION,
  statementProblems,
} from './bucket-policy-compile.js';
export { diffPolicy, type PolicyDiff, policyLines } from './bucket-policy-diff.js';
export {
  isReadOnlyAction,
  lintPolicy,
  type PolicyDiagnostic,
  type PolicyLintOptions,
} from './bucket-policy-lint.js';
export {
  globCovers,
  globMatch,
  isInertPair,
  LISTING_ACTIONS,
  s3ActionLevel,
  s3ArnLevel,
} from './bucket-policy-match.js';
export {
  type MergeOptions,
  type MergeResult,
  mergePolicy,
  removeOwnedStatements,
} from './bucket-policy-merge.js';
export * from './bucket-policy-types.js';
