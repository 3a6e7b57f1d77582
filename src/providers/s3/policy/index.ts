// The bucket-policy engine for S3 shares, in one import: compile the friendly statements of a
// wharf file, canonicalize live policies, merge by Sid ownership, diff, summarize access,
// detect widening and lint. Each concern lives in its own file of this folder (policy/), part
// of the S3 engine (src/providers/s3). Pure.

export {
  isPolicyWidening,
  policyWidening,
  readersOf,
  summarizeAccess,
  type WideningResult,
} from './access.js';
export {
  accountPrincipal,
  canonicalAction,
  canonicalConditionKey,
  canonicalizePolicy,
  canonicalStatement,
  parsePolicy,
  sameMeaning,
  statementsEqual,
} from './canonical.js';
export {
  bucketArn,
  checkBucketName,
  compiledSids,
  compilePolicy,
  compileStatement,
  LIST_SID_SUFFIX,
  POLICY_VERSION,
  statementProblems,
} from './compile.js';
export { diffPolicy, type PolicyDiff, policyLines } from './diff.js';
export {
  isReadOnlyAction,
  lintPolicy,
  type PolicyDiagnostic,
  type PolicyLintOptions,
} from './lint.js';
export {
  globCovers,
  globMatch,
  isInertPair,
  LISTING_ACTIONS,
  s3ActionLevel,
  s3ArnLevel,
} from './match.js';
export {
  type MergeOptions,
  type MergeResult,
  mergePolicy,
  removeOwnedStatements,
} from './merge.js';
export * from './types.js';
