// The Redshift-only parts of the resource model: a datashare (objects, consumers and their
// authorization lifecycle) and the physical layout of a Redshift table (distribution, sort
// key, column encodings). Kept apart from model.ts so the PostgreSQL path never sees them.

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

export function consumerKey(c: Pick<DatashareConsumer, 'type' | 'id'>): string {
  return `${c.type}:${c.id}`;
}

/** True when `live` is at least as far along as `want` asks. */
export function consumerSatisfied(want: ConsumerStatus, live: ConsumerStatus): boolean {
  if (want === 'granted') return true;
  if (want === 'authorized') return live === 'authorized' || live === 'active';
  return live === want;
}
