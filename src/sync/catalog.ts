// What a sync needs to know about its source and destination, read from the PostgreSQL
// catalogs in one query per database: columns with their types and type categories, whether a
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
  return (await describeTables(client, [{ schema, name }])).relations[0]!;
}

/**
 * Several tables of one database and the server's version (`server_version_num`), in one round
 * trip: a sync describes its destination and, on the same engine, its source with one query.
 */
export async function describeTables(
  client: pg.Client,
  tables: { schema: string; name: string }[],
): Promise<{ relations: RelationInfo[]; serverVersion: number }> {
  const { rows } = await client.query<{
    rel: number;
    name: string | null;
    type: string;
    category: string;
    not_null: boolean;
    lead: boolean;
    pk: number | null;
    est: number;
    version: number;
  }>(
    `SELECT r.i::int AS rel, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            t.typcategory AS category, a.attnotnull AS not_null,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indkey[0] = a.attnum) AS lead,
            (SELECT array_position(con.conkey, a.attnum) FROM pg_constraint con
              WHERE con.conrelid = c.oid AND con.contype = 'p') AS pk,
            greatest(c.reltuples, 0)::float8 AS est,
            current_setting('server_version_num')::int AS version
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS r(nspname, relname, i)
       LEFT JOIN (pg_class c
                  JOIN pg_namespace n ON n.oid = c.relnamespace
                  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                  JOIN pg_type t ON t.oid = a.atttypid)
         ON n.nspname = r.nspname AND c.relname = r.relname AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
      ORDER BY r.i, a.attnum`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  const relations = tables.map((_, i) => {
    const cols = rows.filter((r) => r.rel === i + 1 && r.name !== null);
    return {
      exists: cols.length > 0,
      columns: cols.map((r) => ({ name: r.name!, type: r.type, category: r.category, notNull: r.not_null })),
      indexLeads: cols.filter((r) => r.lead).map((r) => r.name!),
      primaryKey: cols
        .filter((r) => r.pk !== null)
        .sort((a, b) => a.pk! - b.pk!)
        .map((r) => r.name!),
      estimatedRows: cols[0]?.est ?? 0,
    };
  });
  return { relations, serverVersion: rows[0]?.version ?? 0 };
}

/**
 * The columns a query returns, at sync time (the sync runs the query anyway: LIMIT 0).
 * Throws the engine's error. `wharf plan` uses describeQueryUnrun instead.
 */
export async function describeQuery(client: pg.Client, relation: string): Promise<RelationInfo> {
  const res = await client.query(`SELECT * FROM ${relation} s LIMIT 0`);
  return relationOfFields(client, res.fields);
}

/**
 * The columns a query returns, without running it: the extended protocol's Parse and
 * Describe, never Bind or Execute, inside a READ ONLY transaction with a short statement
 * timeout that is rolled back. Parse analysis resolves names and types but evaluates no
 * function, so nothing the query calls runs, and the statement log (log_statement) records
 * only BEGIN, SET and ROLLBACK. Throws the engine's error (with its `code`).
 */
export async function describeQueryUnrun(client: pg.Client, query: string): Promise<RelationInfo> {
  await client.query('BEGIN READ ONLY');
  try {
    await client.query("SET LOCAL statement_timeout = '5s'");
    const fields = await new Promise<{ name: string; dataTypeID: number }[]>((resolve, reject) => {
      // A submittable is returned as is, not as a promise: its callbacks settle this one.
      client.query(new DescribeOnly(query, resolve, reject) as unknown as pg.QueryConfig);
    });
    return await relationOfFields(client, fields);
  } finally {
    await client.query('ROLLBACK').catch(() => {});
  }
}

/**
 * A pg "submittable" (the interface pg-cursor uses): the client hands it the connection when
 * its turn comes and routes the backend's answers to it until ReadyForQuery.
 */
class DescribeOnly {
  private fields: { name: string; dataTypeID: number }[] = [];
  constructor(
    private readonly text: string,
    private readonly done: (fields: { name: string; dataTypeID: number }[]) => void,
    private readonly fail: (e: Error) => void,
  ) {}
  submit(connection: {
    parse(q: { text: string; types: number[] }): void;
    describe(m: { type: string; name?: string }): void;
    sync(): void;
  }): void {
    connection.parse({ text: this.text, types: [] });
    connection.describe({ type: 'S', name: '' });
    connection.sync();
  }
  handleRowDescription(msg: { fields: { name: string; dataTypeID: number }[] }): void {
    this.fields = msg.fields;
  }
  // On an error the client stops routing to this query (the ReadyForQuery that follows our
  // Sync goes to the client itself), so the error settles it.
  handleError(err: Error): void {
    this.fail(err);
  }
  handleReadyForQuery(): void {
    this.done(this.fields);
  }
  handleDataRow(): void {}
  handleCommandComplete(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {}
  handleCopyData(): void {}
}

async function relationOfFields(
  client: pg.Client,
  fields: readonly { name: string; dataTypeID: number }[],
): Promise<RelationInfo> {
  const res = { fields };
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

/**
 * The planner's estimate of the rows a SELECT returns (`EXPLAIN`, which runs nothing), for a
 * progress bar; undefined when the server will not say. One round trip.
 */
export async function estimateRows(client: pg.Client, select: string): Promise<number | undefined> {
  try {
    const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>(
      `EXPLAIN (FORMAT JSON) ${select}`,
    );
    const n = rows[0]?.['QUERY PLAN']?.[0]?.Plan?.['Plan Rows'];
    return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.round(n) : undefined;
  } catch {
    return undefined;
  }
}
