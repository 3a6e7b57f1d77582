// The typed shape of a wharf file after schema validation (see schemas/wharf.schema.json);
// schema-shapes.ts and its test keep the two in step.
// Field comments state defaults; the meaning of each field is documented in the README.

import type { ObjectOwnership } from '../plan/model.js';
import type { Diagnostic } from '../plan/plan.js';
import type { AnySyncConfig } from '../sync/config.js';

export type ConnectionType = 'local' | 'postgres' | 's3' | 'local-bucket' | 'redshift';

export interface ConnectionConfig {
  type: ConnectionType;
  /** postgres: URL, may hold `${env:NAME}` references. */
  url?: string;
  /** local: data folder relative to the config file (default `.wharf/local`). */
  dataDir?: string;
  database?: string;
  /** s3, redshift: AWS region (e.g. `eu-west-1`); default from the AWS environment. */
  region?: string;
  /** s3: endpoint of an S3-compatible server, e.g. `http://127.0.0.1:4569`; redshift: of the Data API. */
  endpoint?: string;
  /** s3: path-style addressing (`endpoint/bucket/key`), needed by most S3-compatible servers. */
  forcePathStyle?: boolean;
  /** s3: the 12-digit account owning the buckets; lint accepts it as a principal. */
  accountId?: string;
  /** local-bucket: folder holding the buckets, relative to the config file (default `.wharf/buckets`). */
  dir?: string;
  /** redshift: provisioned cluster identifier (or `workgroup`). */
  cluster?: string;
  /** redshift: serverless workgroup name (or `cluster`). */
  workgroup?: string;
  /** redshift: Secrets Manager ARN of the database credentials (or `dbUser`). */
  secretArn?: string;
  /** redshift, provisioned only: database user for temporary credentials. */
  dbUser?: string;
  /** redshift: the IAM role ARN Redshift assumes to UNLOAD bucket exports read from this connection. */
  iamRole?: string;
  /** s3, redshift: named profile of the shared AWS config and credentials files (default: the default chain). */
  profile?: string;
  /** s3, redshift: IAM role to assume (STS AssumeRole) with the profile's or the default chain's credentials. */
  roleArn?: string;
  /** s3, redshift: the external id the role's trust policy asks for (with `roleArn`). */
  externalId?: string;
  /** s3, redshift: the role session name (with `roleArn`; default `wharf`). */
  sessionName?: string;
}

export interface SchemaConfig {
  name: string;
  connection?: string;
  owner?: string;
  prune?: boolean;
}

export interface ColumnConfig {
  name: string;
  type: string;
  nullable?: boolean;
  default?: string | number | boolean;
  /** redshift: compression encoding. */
  encode?: string;
}

export interface TableConfig extends RedshiftTableKeys {
  schema: string;
  name: string;
  kind?: 'events' | 'profiles' | 'other';
  owner?: string;
  comment?: string;
  columns: ColumnConfig[];
  primaryKey?: string[];
  partition?: { by: string; granularity: 'day' | 'week' | 'month' | 'year'; ahead?: number; from?: string };
}

export interface RoleConfig {
  name: string;
  connection?: string;
  type?: 'user' | 'group' | 'role';
  password?: string;
  memberOf?: string[];
}

export interface GrantConfig {
  to: string | string[];
  privileges: string[];
  schema?: string;
  tables?: string[];
  allTablesInSchema?: string;
}

export interface DefaultPrivilegeConfig {
  forRole: string;
  schema?: string;
  on?: 'tables';
  privileges: string[];
  to: string | string[];
}

export interface WharfConfig {
  version: 1;
  defaultConnection?: string;
  connections?: Record<string, ConnectionConfig>;
  schemas?: SchemaConfig[];
  tables?: TableConfig[];
  roles?: RoleConfig[];
  grants?: GrantConfig[];
  defaultPrivileges?: DefaultPrivilegeConfig[];
  /** Incremental loads run by `wharf sync` (src/sync/config.ts). */
  syncs?: AnySyncConfig[];
  buckets?: BucketConfig[];
  /** Redshift datashares (src/providers/redshift). */
  datashares?: DatashareConfig[];
}

/** A loaded, validated file: the config plus where it came from. */
export interface LoadedConfig {
  file: string;
  /** Absolute folder of the file; relative paths in the config resolve against it. */
  baseDir: string;
  config: WharfConfig;
  /** Connections after defaults (an implicit `local` when the file names none). */
  connections: Record<string, ConnectionConfig>;
  /** The connection each resource without an explicit one belongs to. */
  defaultConnection: string;
  /** sha256 of the file's bytes. */
  sha256: string;
  /** Warnings about the file; they travel in the plan's diagnostics. */
  warnings: Diagnostic[];
}

// The keys engines read (src/providers/<engine>/): declared here so that the file format is
// one type, as it is one JSON Schema; their rules and meaning live in the engine's folder.

// Buckets (src/providers/s3).

export interface BlockPublicAccessConfig {
  blockPublicAcls?: boolean;
  ignorePublicAcls?: boolean;
  blockPublicPolicy?: boolean;
  restrictPublicBuckets?: boolean;
}

export interface BucketConfig {
  name: string;
  /** Default: the only bucket connection of the file. */
  connection?: string;
  /** Create the bucket when it is missing. Default false: a missing bucket is an error. */
  create?: boolean;
  /** `true` (default) turns all four flags on, `false` all off; or set them one by one (unset ones stay on). */
  blockPublicAccess?: boolean | BlockPublicAccessConfig;
  /** Default `BucketOwnerEnforced`: ACLs disabled. */
  objectOwnership?: ObjectOwnership;
  /** Default encryption; not managed when absent. */
  encryption?: { type: 'sse-s3' } | { type: 'sse-kms'; kmsKeyId?: string };
  /** Folder markers, e.g. `events/`; a missing trailing slash is added. */
  folders?: string[];
  policy?: BucketPolicyConfig;
}

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

// Redshift (src/providers/redshift).

export interface RedshiftTableKeys {
  /** redshift: DISTSTYLE; `key` names the DISTKEY column. Not managed when absent. */
  distribution?: { style: 'auto' | 'even' | 'all' | 'key'; key?: string };
  /**
   * redshift: `auto`, or a sort key (type default `compound`). Not managed when absent,
   * except that `partition.by` on Redshift becomes the leading sort-key column.
   */
  sortKey?: 'auto' | { type?: 'compound' | 'interleaved'; columns: string[] };
}

export type DatashareSchemaConfig = string | { name: string; includeNew?: boolean };

export type DatashareConsumerConfig = { account: string; viaDataCatalog?: boolean } | { namespace: string };

export interface DatashareConfig {
  name: string;
  /** Default: the file's default connection; it must be a redshift connection. */
  connection?: string;
  /** Default false. */
  publicAccessible?: boolean;
  schemas?: DatashareSchemaConfig[];
  tables?: string[];
  allTablesInSchema?: string[];
  consumers?: DatashareConsumerConfig[];
}
