// The normalized resource model shared by desired state (from the file) and live state
// (from a provider). Both sides use exactly these shapes, already normalized, so that the
// differ compares like with like. Identifiers are stored folded (lower case), unquoted.

export type Privilege = string; // lower case keyword: select, insert, usage, create, ...

export interface ColumnSpec {
  name: string;
  /** Canonical type as the engine prints it (format_type), e.g. `character varying(64)`. */
  type: string;
  nullable: boolean;
  /** Canonical default expression, or null when there is none. */
  default: string | null;
  /** Redshift only: compression encoding (lower case); absent or null when the file does not care. */
  encode?: string | null;
}

/** Redshift only: physical layout. A null member means the file does not care about it. */
export interface RedshiftLayout {
  distribution: Distribution | null;
  sortKey: SortKey | null;
}

export interface PartitionSpec {
  by: string;
  /** Null when a live table has no child partition to tell the period from. */
  granularity: 'day' | 'week' | 'month' | 'year' | null;
  /** Names of the child partitions that exist (live) or must exist (desired). */
  partitions: PartitionChild[];
}

export interface PartitionChild {
  name: string;
  /** Inclusive lower bound, ISO date (YYYY-MM-DD). */
  from: string;
  /** Exclusive upper bound, ISO date. */
  to: string;
}

export interface SchemaResource {
  kind: 'schema';
  name: string;
  /** Owner role, or null when the file does not care. */
  owner: string | null;
  /** True when the live schema carries wharf's ownership marker. Never diffed. */
  marked?: boolean;
  /** When false, tables in this schema that the file does not list are left alone. */
  prune?: boolean;
}

export interface TableResource {
  kind: 'table';
  schema: string;
  name: string;
  owner: string | null;
  columns: ColumnSpec[];
  primaryKey: string[] | null;
  /** Live only: the primary key constraint's name, needed to drop it. Never diffed. */
  primaryKeyConstraint?: string;
  partition: PartitionSpec | null;
  comment: string | null;
  /** Set on tables of a Redshift connection (desired and live); absent elsewhere. */
  redshift?: RedshiftLayout;
}

export type RoleType = 'user' | 'role' | 'group';

export interface RoleResource {
  kind: 'role';
  name: string;
  login: boolean;
  memberOf: string[];
  /** `${env:NAME}` reference for the password; never a literal, never read back from live. */
  passwordRef: string | null;
  marked?: boolean;
  /** Redshift only: a non-login role is a `group` or an RBAC `role` (the SQL differs). Never diffed. */
  roleKind?: 'group' | 'role';
}

export type GrantObjectType = 'schema' | 'table';

export interface GrantResource {
  kind: 'grant';
  objectType: GrantObjectType;
  /**
   * `schema` or `schema.table` (folded). In desired state only, `schema.*` stands for every
   * table the schema will hold; the planner expands it before diffing.
   */
  object: string;
  grantee: string;
  privileges: Privilege[];
  /** Redshift only: whether the grantee is a user, a group or an RBAC role (the SQL differs). Never diffed. */
  granteeType?: 'user' | 'group' | 'role';
}

export interface DefaultPrivilegeResource {
  kind: 'default_privileges';
  forRole: string;
  /** Schema name, or null for the whole database. */
  schema: string | null;
  objectType: 'tables';
  grantee: string;
  privileges: Privilege[];
  /** Redshift only, as for grants. Never diffed. */
  granteeType?: 'user' | 'group' | 'role';
}

export type Resource =
  | SchemaResource
  | TableResource
  | RoleResource
  | GrantResource
  | DefaultPrivilegeResource
  | BucketResource
  | DatashareResource;
export type ResourceKind = Resource['kind'];

/** Everything on one connection, keyed by resource id (see `resourceId`). */
export interface WarehouseState {
  resources: Map<string, Resource>;
}

/** The part of a live warehouse that the file claims: what may be changed or deleted. */
export interface ManagedScope {
  schemas: string[];
  roles: string[];
  /** Buckets the file declares on this connection (bucket providers only). */
  buckets?: string[];
  /** Declared folder markers per bucket. */
  folders?: Record<string, string[]>;
}

// The resource kinds an engine owns (src/providers/<engine>/) and the engine-specific parts of
// core kinds. Their shapes are declared here, with the rest of the model, so that the union above
// is closed and the core never imports an engine; what they mean and how they are diffed,
// read and compiled lives in the engine's folder.

// Buckets (S3 and local buckets: src/providers/s3).

export type ObjectOwnership = 'BucketOwnerEnforced' | 'BucketOwnerPreferred' | 'ObjectWriter';

/** The four flags of S3 Block Public Access, with S3's names. */
export interface BlockPublicAccess {
  BlockPublicAcls: boolean;
  IgnorePublicAcls: boolean;
  BlockPublicPolicy: boolean;
  RestrictPublicBuckets: boolean;
}

/** Default encryption: SSE-S3 (`AES256`) or SSE-KMS (`aws:kms` with a key id or ARN). */
export interface BucketEncryption {
  algorithm: 'AES256' | 'aws:kms';
  /** Only for `aws:kms`; null means the AWS-managed key. */
  kmsKeyId: string | null;
}

export interface BucketResource {
  kind: 'bucket';
  name: string;
  /** Desired only: create the bucket when it is missing (otherwise a missing bucket is an error). */
  create?: boolean;
  blockPublicAccess: BlockPublicAccess;
  objectOwnership: ObjectOwnership;
  /** Desired: null when the file does not manage default encryption. Live: null when none is set. */
  encryption: BucketEncryption | null;
  /** Folder markers (`events/`), sorted. Live: only the declared ones that exist. */
  folders: string[];
  /**
   * Desired: the compiled declared statements (canonical), or null when the file declares no
   * `policy`. Live: the whole bucket policy as read, or null when there is none. In a bucket
   * change's `after`, the whole policy that apply will put (declared statements merged into
   * the live ones), or null for "delete the bucket policy".
   */
  policy: IamPolicy | null;
  /** Desired only: the declared statements replace every live one. */
  policyExclusive?: boolean;
  /**
   * The Sids wharf owns in the bucket policy, sorted. Desired: the compiled Sids of the
   * declared statements (absent when the file declares no policy). Live: as recorded in the
   * bucket's ownership tag by the last apply, so that a statement removed from the file is
   * removed from the bucket too.
   */
  ownedSids?: string[];
  /** Live, and a change's `after`: every tag of the bucket (the ownership tag is rewritten, the others kept). */
  tags?: Record<string, string>;
}

// IAM policy documents, as a bucket resource carries them (src/providers/s3/policy).

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

// Redshift (src/providers/redshift): datashares and a table's physical layout.

/**
 * Where a consumer is in its lifecycle. `granted`: GRANT USAGE ran on the producer;
 * `authorized`: the producer account authorized it in the control plane (account consumers
 * only); `active`: the consumer associated it. `rejected`/`deauthorized` are dead ends
 * that a new authorization revives.
 */
export type ConsumerStatus = 'granted' | 'authorized' | 'active' | 'rejected' | 'deauthorized';

export interface DatashareConsumer {
  type: 'account' | 'namespace';
  /** A 12-digit account id, or a namespace GUID (lower case). */
  id: string;
  /** Account consumers only: shared through the AWS Glue Data Catalog (Lake Formation). */
  viaDataCatalog: boolean;
  /**
   * Desired: the status the file asks for (`authorized` for accounts, `granted` for
   * namespaces). Live: as read from the catalog and the control plane.
   */
  status: ConsumerStatus;
}

export interface DatashareResource {
  kind: 'datashare';
  name: string;
  publicAccessible: boolean;
  /** Schemas in the share, sorted. */
  schemas: string[];
  /**
   * `schema.table`, sorted. In desired state only, `schema.*` stands for every table the
   * schema will hold (ALL TABLES IN SCHEMA); the differ expands it.
   */
  tables: string[];
  /** Schemas whose future tables join the share by themselves (SET INCLUDENEW), sorted. */
  includeNew: string[];
  /** Sorted by `type:id`. */
  consumers: DatashareConsumer[];
  /** Live only: the share's ARN, needed by control-plane calls. Never diffed. */
  arn?: string;
}

export type DistStyle = 'auto' | 'even' | 'all' | 'key';

/** Redshift data distribution. `key` is the distribution column when style is `key`. */
export interface Distribution {
  style: DistStyle;
  key: string | null;
}

/** Redshift sort key. `auto` lets Redshift choose (no columns). */
export interface SortKey {
  type: 'compound' | 'interleaved' | 'auto';
  columns: string[];
}
