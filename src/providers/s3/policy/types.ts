// The shapes of the bucket-policy engine: the friendly statements a wharf file declares, the
// IAM JSON they compile to, the canonical form used for comparison, and the engine's errors.
// Types only, plus the error class; everything here is shared by the bucket-policy-* files.

/** One policy statement as written in the wharf file. */
export interface PolicyStatementConfig {
  /** Required: wharf owns the statements of a live policy by their Sid. */
  sid: string;
  /** Default `allow`. */
  effect?: 'allow' | 'deny';
  /** IAM ARNs, 12-digit account ids (meaning `arn:aws:iam::<id>:root`), or `'*'` for anyone. */
  principals: string[] | '*';
  /** IAM action names or patterns, e.g. `s3:GetObject`, `s3:Get*`; matched case-insensitively. */
  actions: string[];
  /** `bucket` is the bucket itself, `objects` every key, `{prefix}` the keys under a prefix. */
  resources: PolicyResourceConfig[];
  /** An IAM condition block, copied as is (then merged with what a prefix needs). */
  conditions?: Record<string, Record<string, string | string[] | boolean>>;
  /** Declares intent: lint refuses any action that could write or delete. */
  readOnly?: boolean;
}

export type PolicyResourceConfig = 'bucket' | 'objects' | { prefix: string };

export interface BucketPolicyConfig {
  /** When true, the live policy becomes exactly the declared statements. */
  exclusive?: boolean;
  statements: PolicyStatementConfig[];
}

/** IAM lets most list-valued fields be a single string or an array. */
export type IamStringList = string | string[];

export interface IamPrincipalMap {
  AWS?: IamStringList;
  Service?: IamStringList;
  Federated?: IamStringList;
  CanonicalUser?: IamStringList;
}

export type IamPrincipal = '*' | IamPrincipalMap;

export type IamConditionScalar = string | boolean | number;

/** `{ operator: { contextKey: value(s) } }`; several values of one key are alternatives. */
export type IamCondition = Record<string, Record<string, IamConditionScalar | IamConditionScalar[]>>;

/** One statement of a bucket policy, in any form AWS accepts (and so any form a live policy has). */
export interface IamStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: IamPrincipal;
  NotPrincipal?: IamPrincipal;
  Action?: IamStringList;
  NotAction?: IamStringList;
  Resource?: IamStringList;
  NotResource?: IamStringList;
  Condition?: IamCondition;
}

export interface IamPolicy {
  Version?: string;
  Id?: string;
  Statement: IamStatement[];
}

/** The normal form: every list an array, sorted and without duplicates; see bucket-policy-canonical. */
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
