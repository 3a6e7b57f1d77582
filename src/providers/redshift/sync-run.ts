// A sync whose source and destination are on one Redshift connection runs inside Redshift:
// two Data API round trips (plus polling) whatever the data size. The first reads both sides'
// columns and the stored state (creating the state table if needed); the second is the whole
// run as one batch, which Redshift runs as one transaction (see sync-sql.ts). Killing wharf
// does not stop a submitted batch: it commits completely or not at all, and the next run
// starts from whatever it committed.
import { randomUUID } from 'node:crypto';
import { killPoint } from '../../kill-point.js';
import { badOpsError } from '../../sync/apply.js';
import type { ColumnInfo, RelationInfo } from '../../sync/catalog.js';
import { checkSync, declaredCategory } from '../../sync/check.js';
import { type SyncConfig, splitTable } from '../../sync/config.js';
import { shapeOf } from '../../sync/prepare.js';
import { CDC_CUR, CDC_OP, CDC_SEQ, readNames, sourceRelation } from '../../sync/sql.js';
import { STATE_SCHEMA, STATE_TABLE, syncKey } from '../../sync/state.js';
import { SyncError, type SyncResult, type SyncRunOptions } from '../../sync/types.js';
import { cursorBackwardsError } from '../../sync/watermark.js';
import type { OpenedConnection } from '../connect.js';
import { DataApiStatementError } from './data-api-errors.js';
import type { DataApiResult, DataApiTransport } from './data-api-transport.js';
import {
  REDSHIFT_STATE_DDL,
  type RedshiftRunInput,
  type RedshiftRunResult,
  redshiftLiteral,
  redshiftRunStatements,
  type StoredState,
} from './sync-sql.js';

/** How many times a run that lost a race with another run of the same sync starts again. */
const MAX_RACES = 5;

export async function runOnRedshift(
  sync: SyncConfig,
  conn: OpenedConnection,
  options: SyncRunOptions,
): Promise<SyncResult> {
  const api = conn.dataApi!;
  options.hooks?.onRoute?.(sync.name, { pushDown: true });
  for (let attempt = 1; ; attempt++) {
    const r = await attemptRun(sync, api, options);
    if (r) return r;
    if (attempt >= MAX_RACES)
      throw new SyncError(
        `sync ${sync.name}: another run of this sync committed ${MAX_RACES} times while this one ran; nothing was changed by this run`,
      );
    options.hooks?.onProgress?.(sync.name, 0);
  }
}

export interface Described {
  src: RelationInfo;
  dst: RelationInfo;
  stored: StoredState;
  stateExists: boolean;
  /** Tables in wharf_state. */
  stateTables: Set<string>;
}

/** One run; null when another run of the same sync committed first (nothing was written). */
async function attemptRun(
  sync: SyncConfig,
  api: DataApiTransport,
  options: SyncRunOptions,
): Promise<SyncResult | null> {
  const dryRun = Boolean(options.dryRun);
  const relation = sourceRelation(sync.from);
  const target = splitTable(sync.to.table);
  const key = syncKey(sync.name, target);
  const d = await describeOnRedshift(api, sync, relation, key.target, key.name, !dryRun);
  const issues = checkSync(sync, d.src, d.dst);
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length)
    throw new SyncError(`sync ${sync.name}: ${errors.map((e) => e.message).join('; ')}`, issues);
  const shape = shapeOf(sync, d.src, d.dst);
  const typeOf = (info: RelationInfo, c: string) => info.columns.find((x) => x.name === c)!;
  const readColumns: ColumnInfo[] = readNames(shape).map((name) => {
    if (shape.cdc) {
      if (name === CDC_OP) return { ...typeOf(d.src, shape.cdc.op), name };
      if (name === CDC_SEQ) return { ...typeOf(d.src, shape.cdc.sequence), name };
      if (name === CDC_CUR) return { ...typeOf(d.src, shape.cursor!.column), name };
    }
    return typeOf(d.dst, name);
  });
  const input: RedshiftRunInput = {
    shape,
    relation,
    key,
    readColumns,
    stored: d.stored,
    fullRefresh: Boolean(options.fullRefresh),
    dryRun,
    runId: randomUUID(),
    stateExists: d.stateExists,
    keysExist: shape.cdc ? d.stateTables.has(shape.cdc.keysTable.name) : false,
    ...(shape.cdc
      ? {
          keyTypes: shape.key.map((k) => typeOf(d.dst, k).type),
          seqType: typeOf(d.src, shape.cdc.sequence).type,
        }
      : {}),
  };
  let r: RedshiftRunResult | null;
  try {
    r = await runBatch(api, sync.name, redshiftRunStatements(input));
  } catch (e) {
    if (e instanceof DataApiStatementError && e.sql.startsWith('CREATE TEMP TABLE wharf_src'))
      throw new SyncError(`sync ${sync.name}: reading the source fails: ${e.message}; nothing was changed`);
    throw e;
  }
  if (!dryRun && r?.ok) killPoint('after-commit-before-state');
  if (r === null || (!dryRun && !r.fresh)) return null;
  if (r.bad_ops > 0) throw badOpsError(sync.name, shape, r.bad_ops);
  if (r.backwards) throw cursorBackwardsError(sync.name, shape, d.stored.watermark, r.high);
  options.hooks?.onProgress?.(sync.name, r.read);
  if (!dryRun) killPoint('after-batch');
  const rows = { inserted: r.inserted, updated: r.updated, deleted: r.deleted };
  /** The watermark the run stored (or, dry, would store). */
  const watermark = sync.mode === 'full' ? null : r.watermark;
  return {
    name: sync.name,
    mode: sync.mode,
    status: 'ok',
    rows,
    read: r.read,
    durationMs: 0,
    watermark: dryRun ? (options.fullRefresh ? null : d.stored.watermark) : watermark,
    ...(dryRun
      ? {
          dryRun: {
            statements: [
              ...(d.stateExists ? [] : REDSHIFT_STATE_DDL),
              // What the real run would execute (its DDL included).
              ...redshiftRunStatements({
                ...input,
                dryRun: false,
                runId: '<run id>',
              }).sqls.filter((s) => !s.startsWith('DROP TABLE')),
            ],
            rows: r.read,
            watermark,
          },
        }
      : {}),
  };
}

/**
 * Redshift aborts one of two transactions that wrote the same tables concurrently (error 1023,
 * serializable isolation): nothing of it was kept, and the run starts again.
 */
function lostRace(e: unknown): boolean {
  return e instanceof DataApiStatementError && /\b1023\b|serializable isolation violation/i.test(e.message);
}

/**
 * Runs one batch of redshiftRunStatements and reads its result row; null when Redshift aborted
 * it for a concurrent writer (nothing kept; the caller starts again).
 */
export async function runBatch(
  api: DataApiTransport,
  name: string,
  batch: { sqls: string[]; resultIndex: number },
): Promise<RedshiftRunResult | null> {
  let results: DataApiResult[];
  try {
    results = await api.batchQuery(batch.sqls);
  } catch (e) {
    if (lostRace(e)) return null;
    throw e;
  }
  const row = results[batch.resultIndex]?.rows[0];
  if (!row) throw new Error(`sync ${name}: the run's result row is missing`);
  return parseResult(row);
}

function parseResult(row: Record<string, unknown>): RedshiftRunResult {
  const num = (v: unknown) => Number(v ?? 0);
  const bool = (v: unknown) => v === true || v === 't' || v === 'true';
  const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    read: num(row.read),
    high: str(row.high),
    high_seq: str(row.high_seq),
    watermark: str(row.watermark),
    last_sequence: str(row.last_sequence),
    bad_ops: num(row.bad_ops),
    backwards: bool(row.backwards),
    fresh: bool(row.fresh),
    ok: bool(row.ok),
    inserted: num(row.inserted),
    updated: num(row.updated),
    deleted: num(row.deleted),
  };
}

/**
 * Creates the state schema and table (IF NOT EXISTS). Two first runs doing it at the same
 * moment: the catalog refuses one of them (or Redshift aborts it, error 1023); by then the
 * objects exist, and doing it again finds them.
 */
async function createState(api: DataApiTransport): Promise<void> {
  try {
    await api.batch(REDSHIFT_STATE_DDL);
  } catch (e) {
    if (!(e instanceof DataApiStatementError)) throw e;
    await api.batch(REDSHIFT_STATE_DDL);
  }
}

const COLUMNS_SQL = (schema: string, table: string) =>
  `SELECT column_name, data_type, is_nullable, sortkey FROM svv_redshift_columns
    WHERE database_name = current_database() AND schema_name = ${redshiftLiteral(schema)} AND table_name = ${redshiftLiteral(table)}
    ORDER BY ordinal_position`;

/** A table's columns from SVV_REDSHIFT_COLUMNS; the leading sort key column stands for an index. */
function tableInfo(result: DataApiResult | undefined): RelationInfo {
  const rows = result?.rows ?? [];
  return {
    exists: rows.length > 0,
    columns: rows.map((r) => {
      const type = String(r.data_type);
      return {
        name: String(r.column_name),
        type,
        category: declaredCategory(type),
        notNull: String(r.is_nullable).toUpperCase() === 'NO',
      };
    }),
    indexLeads: rows.filter((r) => Math.abs(Number(r.sortkey)) === 1).map((r) => String(r.column_name)),
    primaryKey: [],
    estimatedRows: 0,
  };
}

/** Data API type names (pg_type names) as DDL types. */
const TYPE_NAMES: Record<string, string> = {
  int2: 'smallint',
  int4: 'integer',
  int8: 'bigint',
  float4: 'real',
  float8: 'double precision',
  numeric: 'numeric',
  bool: 'boolean',
  varchar: 'character varying(65535)',
  bpchar: 'character(1)',
  text: 'character varying(65535)',
  date: 'date',
  timestamp: 'timestamp without time zone',
  timestamptz: 'timestamp with time zone',
  time: 'time without time zone',
  timetz: 'time with time zone',
  super: 'super',
};

function queryInfo(result: DataApiResult | undefined): RelationInfo {
  return {
    exists: true,
    columns: (result?.columns ?? []).map((c) => {
      const type = TYPE_NAMES[c.typeName] ?? c.typeName;
      return { name: c.name, type, category: declaredCategory(type), notNull: false };
    }),
    indexLeads: [],
    primaryKey: [],
    estimatedRows: 0,
  };
}

/** The source's columns on Redshift (a table, or a query planned with LIMIT 0). */
export async function describeRedshiftSource(
  api: DataApiTransport,
  sync: SyncConfig,
  relation: string,
): Promise<RelationInfo> {
  if (sync.from.table) return describeRedshiftTable(api, sync.from.table);
  try {
    return await describeRedshiftQuery(api, relation);
  } catch (e) {
    if (e instanceof DataApiStatementError)
      throw new SyncError(`sync ${sync.name}: the source query fails: ${e.message}`);
    throw e;
  }
}

/** A table's columns on Redshift (`schema.table`); `exists` false when there is none. */
export async function describeRedshiftTable(api: DataApiTransport, qualified: string): Promise<RelationInfo> {
  const t = splitTable(qualified);
  return tableInfo(await api.query(COLUMNS_SQL(t.schema, t.name)));
}

/** The columns a query returns on Redshift (planned with LIMIT 0); throws the service's error. */
export async function describeRedshiftQuery(api: DataApiTransport, relation: string): Promise<RelationInfo> {
  return queryInfo(await api.query(`SELECT * FROM ${relation} s LIMIT 0`));
}

/**
 * Both sides' columns and the stored state in one batch (the state's own SELECT included, as
 * it exists after the first run). When the state table is missing: `create` makes it (a real
 * run; DDL is sent only then, so a user without CREATE rights on the database can run syncs
 * once it exists) and reads again; otherwise (dry run, plan) the state is empty.
 */
export async function describeOnRedshift(
  api: DataApiTransport,
  sync: SyncConfig,
  relation: string,
  target: string,
  name: string,
  create: boolean,
  /** false: the source is on another connection (only the destination and state are read). */
  withSource = true,
): Promise<Described> {
  const dst = splitTable(sync.to.table);
  const sqls = [
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ${redshiftLiteral(STATE_SCHEMA)}`,
    COLUMNS_SQL(dst.schema, dst.name),
  ];
  if (!withSource) sqls.push('SELECT 1 AS none');
  else if (sync.from.table) {
    const s = splitTable(sync.from.table);
    sqls.push(COLUMNS_SQL(s.schema, s.name));
  } else sqls.push(`SELECT * FROM ${relation} s LIMIT 0`);
  const stateSql = `SELECT watermark, last_sequence, run_id FROM ${STATE_TABLE} WHERE target = ${redshiftLiteral(target)} AND name = ${redshiftLiteral(name)}`;
  let results: DataApiResult[];
  let stateExists = true;
  try {
    results = await api.batchQuery([...sqls, stateSql]);
  } catch (e) {
    if (!(e instanceof DataApiStatementError)) throw e;
    if (e.sql.startsWith('SELECT * FROM ('))
      throw new SyncError(`sync ${sync.name}: the source query fails: ${e.message}`);
    if (e.sql !== stateSql) throw e;
    // No state table yet (the first run on this database).
    stateExists = false;
    if (create) await createState(api);
    try {
      results = await api.batchQuery(sqls);
    } catch (again) {
      if (again instanceof DataApiStatementError && again.sql.startsWith('SELECT * FROM ('))
        throw new SyncError(`sync ${sync.name}: the source query fails: ${again.message}`);
      throw again;
    }
  }
  const tables = new Set((results[0]?.rows ?? []).map((r) => String(r.name)));
  const row = stateExists ? results[3]?.rows[0] : undefined;
  return {
    dst: tableInfo(results[1]),
    src: sync.from.table ? tableInfo(results[2]) : queryInfo(results[2]),
    stored: {
      watermark: row?.watermark == null ? null : String(row.watermark),
      lastSequence: row?.last_sequence == null ? null : String(row.last_sequence),
      exists: Boolean(row),
      runId: row?.run_id == null ? null : String(row.run_id),
    },
    stateExists: stateExists || create,
    stateTables: tables,
  };
}
