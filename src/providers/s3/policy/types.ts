// The shapes of the bucket-policy engine: the friendly statements a wharf file declares, the
// IAM JSON they compile to, the canonical form used for comparison, and the engine's errors.
// The file's policy keys and the IAM document shapes are part of the core's file format and
// resource model (src/config/types.ts, src/plan/model.ts) and are re-exported from there; the
// canonical form and the engine's error class live here, shared by the files of policy/.

import type { IamPolicy, IamStatement } from '../../../plan/model.js';

export type {
  BucketPolicyConfig,
  PolicyResourceConfig,
  PolicyStatementConfig,
} from '../../../config/types.js';
export type {
  IamCondition,
  IamConditionScalar,
  IamPolicy,
  IamPrincipal,
  IamPrincipalMap,
  IamStatement,
  IamStringList,
} from '../../../plan/model.js';

/** The normal form: every list an array, sorted and without duplicates; see canonical.ts. */
export interface CanonicalStatement extends IamStatement {
  Principal?: '*' | Record<string, string[]>;
  NotPrincipal?: '*' | Record<string, string[]>;
  Action?: string[];
  NotAction?: string[];
  Resource?: string[];
  NotResource?: string[];
  Condition?: Record<string, Record<string, string[]>>;
}

export interface CanonicalPolicy extends IamPolicy {
  Version: string;
  Statement: CanonicalStatement[];
}

/**
 * A policy or statement the engine cannot work with: a malformed live document or a
 * declared statement that would not compile to what it says. The message names the Sid.
 */
export class BucketPolicyError extends Error {
  override name = 'BucketPolicyError';
}
