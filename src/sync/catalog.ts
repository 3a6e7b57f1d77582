// What a sync needs to know about its source and destination, read from the PostgreSQL
// catalogs in one query per side: columns with their types and type categories, whether a
// table exists, which columns lead an index (the cursor must use one), the primary key.
import type pg from 'pg';

export interface ColumnInfo {
  name: string;
  /** `format_type`, e.g. `timestamp without time zone`, `character varying(256)`. */
  type: string;
  /** pg_type.typcategory: N numeric, S string, D date/time, B boolean, U user (json…), A array. */
  category: string;
  notNull: boolean;
}

export interface RelationInfo {
  exists: boolean;
  columns: ColumnInfo[];
  /** Columns that are the first column of some index (tables only). */
  indexLeads: string[];
  primaryKey: string[];
  /** The planner's row estimate (pg_class.reltuples); 0 when unknown. */
  estimatedRows: number;
}

export async function describeTable(client: pg.Client, schema: string, name: string): Promise<RelationInfo> {
  const { rows } = await client.query<{
    name: string;
    type: string;
    category: string;
    not_null: boolean;
    lead: boolean;
    pk: number | null;
    est: number;
  }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, t.typcategory AS category,
            a.attnotnull AS not_null,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indkey[0] = a.attnum) AS lead,
            (SELECT array_position(con.conkey, a.attnum) FROM pg_constraint con
              WHERE con.conrelid = c.oid AND con.contype = 'p') AS pk,
            greatest(c.reltuples, 0)::float8 AS est
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       JOIN pg_type t ON t.oid = a.atttypid
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
      ORDER BY a.attnum`,
    [schema, name],
  );
  return {
    exists: rows.length > 0,
    columns: rows.map((r) => ({ name: r.name, type: r.type, category: r.category, notNull: r.not_null })),
    indexLeads: rows.filter((r) => r.lead).map((r) => r.name),
    primaryKey: rows
      .filter((r) => r.pk !== null)
      .sort((a, b) => a.pk! - b.pk!)
      .map((r) => r.name),
    estimatedRows: rows[0]?.est ?? 0,
  };
}

/** The columns a query returns (it is planned, not run: LIMIT 0). Throws the engine's error. */
export async function describeQuery(client: pg.Client, relation: string): Promise<RelationInfo> {
  const res = await client.query(`SELECT * FROM ${relation} s LIMIT 0`);
  const oids = [...new Set(res.fields.map((f) => f.dataTypeID))];
  const { rows } = await client.query<{ oid: number; type: string; category: string }>(
    'SELECT oid::int AS oid, format_type(oid, NULL) AS type, typcategory AS category FROM pg_type WHERE oid = ANY($1)',
    [oids],
  );
  const byOid = new Map(rows.map((r) => [r.oid, r]));
  return {
    exists: true,
    columns: res.fields.map((f) => ({
      name: f.name,
      type: byOid.get(f.dataTypeID)?.type ?? 'text',
      category: byOid.get(f.dataTypeID)?.category ?? 'S',
      notNull: false,
    })),
    indexLeads: [],
    primaryKey: [],
    estimatedRows: 0,
  };
}
