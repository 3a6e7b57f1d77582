// The Redshift keys of a wharf file after schema validation: a table's physical layout
// (distribution, sort key; a column's `encode` lives on ColumnConfig) and the `datashares:`
// section. Defaults are stated here and in the README.

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

/** A 12-digit AWS account id. */
export const ACCOUNT_ID_RE = /^\d{12}$/;
/** A Redshift namespace id: a GUID. */
export const NAMESPACE_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function schemaEntry(s: DatashareSchemaConfig): { name: string; includeNew: boolean } {
  return typeof s === 'string'
    ? { name: s, includeNew: false }
    : { name: s.name, includeNew: s.includeNew ?? false };
}
