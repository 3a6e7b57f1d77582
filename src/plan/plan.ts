// The plan contract: versioned JSON that every renderer (text, markdown, json, ink) reads and
// that `wharf apply plan.json` executes. Changing a field's meaning means bumping PLAN_VERSION.
import type { ExportPlan } from '../sync/export/plan.js';
import type { Resource } from './model.js';

export const PLAN_FORMAT = 'wharf-plan';

export const PLAN_VERSION = 1;

export type Action = 'create' | 'update' | 'replace' | 'delete';
export const ACTIONS: readonly Action[] = ['create', 'update', 'replace', 'delete'];

export interface FieldChange {
  /** Dotted path inside the resource, e.g. `columns.user_id.type`. */
  path: string;
  before: unknown;
  after: unknown;
  /** True when this field change loses data or access (drop column, narrow type, revoke). */
  destructive?: boolean;
}

export interface Statement {
  /**
   * The exact text that apply runs. Secrets appear only as `${env:NAME}` placeholders, which
   * apply resolves at execution time; the resolved text is never stored or printed.
   */
  sql: string;
  /** False for statements the engine refuses inside a transaction block. Default true. */
  transactional?: boolean;
  /**
   * True when `sql` holds `${env:NAME}` placeholders for role passwords. At execution the
   * provider replaces each with the password verifier the engine stores (PostgreSQL: a
   * SCRAM-SHA-256 verifier; Redshift: its md5 hash), computed from the variable's value: the
   * clear text reaches no server. Only statements built from validated identifiers carry it.
   */
  secrets?: boolean;
  /**
   * An API call instead of SQL (bucket providers). `sql` then holds a one-line description
   * of the call for readers that only know the SQL form; apply runs `api`.
   */
  api?: ApiCall;
  /** False when the provider records the setting but cannot enforce it (local-bucket). */
  enforced?: boolean;
}

export interface ApiCall {
  service: 's3' | 'redshift';
  /** The API operation, e.g. `PutBucketPolicy`. */
  operation: string;
  /** The request, exactly as sent (a bucket policy travels as its JSON text, like the API takes it). */
  input: Record<string, unknown>;
}

/** Bucket changes: the policy change as a readable diff and who gains or loses which access. */
export interface PolicyChange {
  /** Unified diff of the canonical JSON (`--- live` / `+++ planned`). */
  diff: string;
  /** One line per principal and resource, e.g. `arn:… gains s3:GetObject on arn:aws:s3:::b/*`. */
  access: string[];
}

export interface Change {
  /** `<connection>.<kind>:<id>`; unique in the plan. */
  address: string;
  connection: string;
  kind: Resource['kind'];
  action: Action;
  destructive: boolean;
  /** Human reasons: why replace rather than update, why destructive, mapping notes. */
  reasons: string[];
  fields: FieldChange[];
  statements: Statement[];
  /** Addresses this change must run after (creates/updates) or before (deletes). */
  dependsOn: string[];
  before: Resource | null;
  after: Resource | null;
  /** True when the change lets someone do what the live state did not allow (needs --allow-widen). */
  widening?: boolean;
  /** Bucket changes that touch the bucket policy. */
  policy?: PolicyChange;
  /**
   * A partial plan only (`-target`): this change was not named by a target but is kept because
   * the targeted changes listed here need it (see `Plan.partial`).
   */
  requiredBy?: string[];
}

export type Severity = 'error' | 'warning' | 'info';

export interface Diagnostic {
  severity: Severity;
  code: string;
  message: string;
  file?: string;
  line?: number;
  col?: number;
  /** YAML path, e.g. `tables[2].columns[0].type`. */
  path?: string;
}

export interface UnmanagedObject {
  address: string;
  reason: string;
}

export interface ConnectionRecord {
  type: string;
  /** The connection as written in the file: secrets stay `${env:NAME}` references. */
  spec: Record<string, unknown>;
  /** What the provider read: the schemas and roles the file declares on this connection. */
  scope: { schemas: string[]; roles: string[]; buckets?: string[]; folders?: Record<string, string[]> };
  /** `kind:id` of every live resource the plan depends on (managed or about to be created). */
  watch: string[];
  /** Hash of those resources as read; apply re-reads and refuses the plan if it moved. */
  fingerprint: string;
  /** Server the plan was computed against, e.g. `PostgreSQL 18.1`. */
  server: string;
}

export interface Summary {
  create: number;
  update: number;
  replace: number;
  delete: number;
  destructive: number;
}

export interface Plan {
  format: typeof PLAN_FORMAT;
  version: typeof PLAN_VERSION;
  createdAt: string;
  /** The config file the plan came from, as given on the command line. */
  configFile: string;
  /** Base directory for relative paths in connection specs (the config file's folder). */
  baseDir: string;
  connections: Record<string, ConnectionRecord>;
  changes: Change[];
  diagnostics: Diagnostic[];
  unmanaged: UnmanagedObject[];
  summary: Summary;
  /** Approvals the plan needs before apply may run it. */
  decisions: { destroy: boolean; widen?: boolean };
  /** The bucket exports `wharf sync` runs, as they stand (not changes: apply never runs them). */
  exports?: ExportPlan[];
  /** Present only on a plan made with `-target`: it holds some of the changes, not all. */
  partial?: PartialPlan;
}

/** What a targeted plan (`-target ADDRESS`) was made from and what it leaves out. */
export interface PartialPlan {
  /** The targets as given: addresses, or prefixes ending in `*`. */
  targets: string[];
  /** How many changes a full plan would also make (neither targeted nor needed by a target). */
  leftOut: number;
}

export function summarize(changes: readonly Change[]): Summary {
  const s: Summary = { create: 0, update: 0, replace: 0, delete: 0, destructive: 0 };
  for (const c of changes) {
    s[c.action]++;
    if (c.destructive) s.destructive++;
  }
  return s;
}

/**
 * The code of the plan's sync checks (each sync against the tables as the plan leaves them).
 * Their errors stop only that sync (`wharf sync` refuses it); they never block plan or apply,
 * so the apply that fixes a sync's tables is never held back by the sync it fixes.
 */
export const SYNC_CHECK = 'sync-check';

/** An error that stops plan and apply: every error except a sync check's. */
export function blocksApply(d: Diagnostic): boolean {
  return d.severity === 'error' && d.code !== SYNC_CHECK;
}

/** Errors that stop plan and apply (see blocksApply); sync-check errors stop only their sync. */
export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some(blocksApply);
}

/** Sync-check errors: the syncs `wharf sync` will refuse to run until they are fixed. */
export function syncProblems(diags: readonly Diagnostic[]): Diagnostic[] {
  return diags.filter((d) => d.severity === 'error' && d.code === SYNC_CHECK);
}
