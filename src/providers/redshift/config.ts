// The Redshift keys of a wharf file: their shapes (a table's physical layout, the `datashares:`
// section) are part of the file format (src/config/types.ts), re-exported here; the patterns
// and helpers that read them are Redshift's.

import type { DatashareSchemaConfig } from '../../config/types.js';

export type {
  DatashareConfig,
  DatashareConsumerConfig,
  DatashareSchemaConfig,
  RedshiftTableKeys,
} from '../../config/types.js';

/** A 12-digit AWS account id. */
export const ACCOUNT_ID_RE = /^\d{12}$/;
/** A Redshift namespace id: a GUID. */
export const NAMESPACE_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function schemaEntry(s: DatashareSchemaConfig): { name: string; includeNew: boolean } {
  return typeof s === 'string'
    ? { name: s, includeNew: false }
    : { name: s.name, includeNew: s.includeNew ?? false };
}
