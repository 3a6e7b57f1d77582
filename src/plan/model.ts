// The normalized resource model shared by desired state (from the file) and live state
// (from a provider). Both sides use exactly these shapes, already normalized, so that the
// differ compares like with like. Identifiers are stored folded (lower case), unquoted.

import type { DatashareResource, Distribution, SortKey } from '../providers/redshift/datashare-model.js';
import type { BucketResource } from '../providers/s3/bucket-model.js';

export type { DatashareResource } from '../providers/redshift/datashare-model.js';
export type { BucketResource } from '../providers/s3/bucket-model.js';

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
