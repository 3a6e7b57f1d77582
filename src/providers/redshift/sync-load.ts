// Rows from a PostgreSQL connection into Redshift. The source is read in one REPEATABLE READ
// snapshot with COPY … TO STDOUT, ordered by the cursor; the rows go to Redshift through the
// Data API as multi-row INSERTs into a temporary table, and each batch is one
// BatchExecuteStatement that also applies them (the same statements as a sync inside Redshift,
// see sync-sql.ts) and records the watermark: each batch is committed with its watermark.
// Memory stays bounded by one batch (about 1 MB of SQL).
//
// `full` loads the rows into a staging table in wharf_state batch after batch (the destination
// is untouched meanwhile), then swaps them in with DELETE + INSERT in one last batch.
//
// The Data API limits a statement to 100 KB and a batch to 40 statements; this path suits
// moderate volumes (it moves about 1 MB per round trip). A bulk path would stage files in S3
// and COPY them.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { killPoint } from '../../kill-point.js';
import { badOpsError } from '../../sync/apply.js';
import { type ColumnInfo, estimateRows, type RelationInfo } from '../../sync/catalog.js';
import { checkSync } from '../../sync/check.js';
import { type SyncConfig, splitTable } from '../../sync/config.js';
import { copyFields, copyOut } from '../../sync/copy.js';
import { describeSource, shapeOf } from '../../sync/prepare.js';
import { CDC_CUR, CDC_OP, CDC_SEQ, readList, readNames, readQuery, sourceRelation } from '../../sync/sql.js';
import { keysTableName, STATE_SCHEMA, syncKey } from '../../sync/state.js';
import { SyncError, type SyncResult, type SyncRunOptions } from '../../sync/types.js';
import { cursorBackwardsError } from '../../sync/watermark.js';
import type { OpenedConnection } from '../connect.js';
import { quoteIdent, quoteQualified } from '../sql-quote.js';
import { DataApiStatementError } from './data-api-errors.js';
import type { DataApiTransport } from './data-api-transport.js';
import { type Described, describeOnRedshift, runBatch } from './sync-run.js';
import {
  type RedshiftRunInput,
  RS_SRC,
  redshiftLiteral,
  redshiftRunStatements,
  type StoredState,
} from './sync-sql.js';

/** Under the Data API's 100 KB per statement, with room for multi-byte characters. */
const MAX_INSERT_BYTES = 60_000;
const MAX_RACES = 5;

export async function runIntoRedshift(
  sync: SyncConfig,
  srcConn: OpenedConnection,
  dstConn: OpenedConnection,
  options: SyncRunOptions,
  batchRows: number,
): Promise<SyncResult> {
  const src = await srcConn.connectSql!();
  try {
    for (let attempt = 1; ; attempt++) {
      const r = await attemptLoad(sync, src, dstConn.dataApi!, options, batchRows);
      if (r) return r;
      if (attempt >= MAX_RACES)
        throw new SyncError(
          `sync ${sync.name}: another run of this sync kept committing while this one ran; run it again`,
        );
    }
  } finally {
    await src.end().catch(() => {});
  }
}

/** PostgreSQL types as Redshift DDL types (for the columns only the source has: cdc's). */
function redshiftType(pgType: string): string {
  if (pgType === 'text') return 'VARCHAR(65535)';
  if (/^character varying$/.test(pgType)) return 'VARCHAR(65535)';
  if (pgType === 'jsonb' || pgType === 'json') return 'SUPER';
  return pgType;
}

/** A COPY text value as a SQL literal. */
function sqlValue(v: string | null): string {
  return v === null ? 'NULL' : redshiftLiteral(v);
}

async function attemptLoad(
  sync: SyncConfig,
  src: pg.Client,
  api: DataApiTransport,
  options: SyncRunOptions,
  batchRows: number,
): Promise<SyncResult | null> {
  const dryRun = Boolean(options.dryRun);
  const fullRefresh = Boolean(options.fullRefresh);
  const relation = sourceRelation(sync.from);
  const target = splitTable(sync.to.table);
  const key = syncKey(sync.name, target);
  const d: Described = await describeOnRedshift(api, sync, relation, key.target, key.name, !dryRun, false);
  const srcInfo = await describeSource(src, sync, relation);
  const issues = checkSync(sync, srcInfo, d.dst);
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length)
    throw new SyncError(`sync ${sync.name}: ${errors.map((e) => e.message).join('; ')}`, issues);
  const shape = shapeOf(sync, srcInfo, d.dst);
  const find = (info: RelationInfo, c: string) => info.columns.find((x) => x.name === c)!;
  const fromSource = (c: string, name: string): ColumnInfo => {
    const x = find(srcInfo, c);
    return { ...x, name, type: redshiftType(x.type) };
  };
  const readColumns: ColumnInfo[] = readNames(shape).map((name) => {
    if (shape.cdc) {
      if (name === CDC_OP) return fromSource(shape.cdc.op, name);
      if (name === CDC_SEQ) return fromSource(shape.cdc.sequence, name);
      if (name === CDC_CUR) return fromSource(shape.cursor!.column, name);
    }
    return find(d.dst, name);
  });
  const w0 = fullRefresh || sync.mode === 'full' ? null : d.stored.watermark;
  // A string inserted into SUPER stays a string: JSON text becomes SUPER through JSON_PARSE.
  const superAt = readColumns.map((c) => /^super$/i.test(c.type));
  const q = quoteIdent;
  const stageDdl = (table: string, temp: boolean) =>
    `CREATE ${temp ? 'TEMP ' : ''}TABLE ${table} (${readColumns.map((c) => `${q(c.name)} ${c.type}`).join(', ')})`;

  // The query that reads the source, in cursor order. Identical rows end up next to each other
  // (append without a key orders by every column too), and a batch never ends between two of
  // them: each batch compares whole groups of identical rows with the destination.
  let select: string;
  if (sync.mode === 'full') select = `SELECT ${readList(shape)} FROM ${relation} s`;
  else {
    const order =
      sync.mode === 'append' && shape.key.length === 0
        ? readNames(shape)
            .map((_, i) => String(i + 1))
            .join(', ')
        : `s.${q(shape.cursor!.column)}`;
    select = `${readQuery(shape, relation, w0)}\n ORDER BY ${order}`;
  }
  const stage = quoteQualified(STATE_SCHEMA, keysTableName(shape.target, sync.name, 'stage'));

  let stored: StoredState = d.stored;
  const totals = { inserted: 0, updated: 0, deleted: 0 };
  let read = 0;
  let watermark = w0;
  let batches = 0;
  const base: Omit<RedshiftRunInput, 'stored' | 'fullRefresh' | 'runId' | 'staged'> = {
    shape,
    relation,
    key,
    readColumns,
    dryRun: false,
    stateExists: d.stateExists,
    keysExist: shape.cdc ? d.stateTables.has(shape.cdc.keysTable.name) : false,
    ...(shape.cdc
      ? {
          keyTypes: shape.key.map((k) => find(d.dst, k).type),
          seqType: readColumns.find((c) => c.name === CDC_SEQ)!.type,
        }
      : {}),
  };

  /** One committed batch; false when another run changed the state first (nothing written). */
  const apply = async (staged: RedshiftRunInput['staged']): Promise<boolean> => {
    const runId = randomUUID();
    const { sqls, resultIndex } = redshiftRunStatements({
      ...base,
      stored,
      fullRefresh: fullRefresh && batches === 0,
      runId,
      staged,
    });
    const r = await runBatch(api, sync.name, { sqls, resultIndex });
    if (r?.ok) killPoint('after-commit-before-state');
    if (r === null || !r.fresh) return false;
    if (r.bad_ops > 0)
      throw badOpsError(
        sync.name,
        shape,
        r.bad_ops,
        `${batches} earlier batch(es) of this run were applied, this one was not`,
      );
    batches++;
    totals.inserted += r.inserted;
    totals.updated += r.updated;
    totals.deleted += r.deleted;
    read += r.read;
    watermark = r.watermark ?? watermark;
    stored = { watermark, lastSequence: r.last_sequence, exists: true, runId };
    options.hooks?.onProgress?.(sync.name, read);
    killPoint('after-batch');
    return true;
  };

  /** A dry run's result: exact when all rows fit one batch (or for `full`), else the rows read. */
  const dryResult = async (batch: string[] | undefined, toRead: number): Promise<SyncResult> => {
    let counts: { inserted: number; updated: number; deleted: number } | undefined;
    let wouldStore = w0;
    if (sync.mode === 'full') {
      const { rows } = await api.query(
        `SELECT COUNT(*) AS n FROM ${quoteQualified(shape.target.schema, shape.target.name)}`,
      );
      counts = { inserted: toRead, updated: 0, deleted: Number(rows[0]?.n ?? 0) };
    } else if (batch) {
      const { sqls, resultIndex } = redshiftRunStatements({
        ...base,
        stored,
        fullRefresh,
        runId: '<dry run>',
        dryRun: true,
        staged: { ddl: stageDdl(RS_SRC, true), inserts: batch, watermark: w0 },
      });
      const r = await runBatch(api, sync.name, { sqls, resultIndex });
      if (r?.watermark != null) wouldStore = r.watermark;
      if (r) counts = { inserted: r.inserted, updated: r.updated, deleted: r.deleted };
    }
    return {
      name: sync.name,
      mode: sync.mode,
      status: 'ok',
      rows: counts ?? { inserted: 0, updated: 0, deleted: 0 },
      read: toRead,
      durationMs: 0,
      watermark: w0,
      dryRun: {
        ...(counts ? {} : { counted: false }),
        statements: [
          `COPY (${select}) TO STDOUT  -- on the source, then per batch of up to ${batchRows} rows (about 1 MB):`,
          ...redshiftRunStatements({
            ...base,
            stored,
            fullRefresh,
            runId: '<run id>',
            staged:
              sync.mode === 'full'
                ? { table: stage }
                : {
                    ddl: stageDdl(RS_SRC, true),
                    inserts: ['INSERT INTO wharf_src VALUES (…), (…)'],
                    watermark: w0,
                  },
          }).sqls.filter((x) => !x.startsWith('DROP TABLE')),
        ],
        rows: toRead,
        watermark: sync.mode === 'full' ? null : wouldStore,
      },
    };
  };

  if (options.hooks?.onRoute) {
    const estimatedRows = await estimateRows(src, select);
    options.hooks.onRoute(sync.name, {
      pushDown: false,
      ...(estimatedRows !== undefined ? { estimatedRows } : {}),
    });
  }
  await src.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    if (w0 !== null) {
      // The cursor going backwards is checked on the source before anything is written.
      const cur = `s.${q(shape.cursor!.column)}`;
      const { rows } = await src.query<{ high: string | null; back: boolean }>(
        `SELECT max(${cur})::text AS high, coalesce(max(${cur}) < $1::${shape.cursor!.type}, true) AS back FROM ${relation} s`,
        [w0],
      );
      if (rows[0]?.back) throw cursorBackwardsError(sync.name, shape, w0, rows[0].high);
    }
    const full = sync.mode === 'full';
    const into = full ? stage : RS_SRC;
    // Statements per batch: a load batch of `full` is inserts only; an incremental batch
    // shares the 40 with about 20 statements of its own.
    const soft = full ? 38 : 18;
    const hard = full ? 40 : 20;
    // A dry run of `full` needs only the counts: every source row in, every destination row out.
    if (dryRun && full)
      return await dryResult(
        undefined,
        Number((await src.query<{ n: string }>(`SELECT count(*) AS n FROM (${select}) x`)).rows[0]!.n),
      );
    let streamed = 0;
    if (full) await api.batch([`DROP TABLE IF EXISTS ${stage}`, stageDdl(stage, false)]);
    let inserts: string[] = [];
    let tuples: string[] = [];
    let bytes = 0;
    let rows = 0;
    let prev: Buffer | undefined;
    const closeInsert = () => {
      if (tuples.length) inserts.push(`INSERT INTO ${into} VALUES ${tuples.join(', ')}`);
      tuples = [];
      bytes = 0;
    };
    // A dry run keeps the first batch to count exactly what it would write; when the rows need
    // more than one batch, the later ones would be compared with rows not written, so it stops
    // and reports only the rows it would read.
    let dryBatch: string[] | undefined;
    let inexact = false;
    /** Sends the rows gathered so far; false when another run changed the state first. */
    const flush = async (): Promise<boolean> => {
      closeInsert();
      if (inserts.length === 0) return true;
      const batch = inserts;
      inserts = [];
      rows = 0;
      if (dryRun) {
        if (dryBatch) inexact = true;
        dryBatch = batch;
        return true;
      }
      if (!full) return apply({ ddl: stageDdl(RS_SRC, true), inserts: batch, watermark: w0 });
      await api.batch(batch);
      killPoint('after-batch');
      return true;
    };
    for await (const b of copyOut(src, `COPY (${select}) TO STDOUT`, Math.min(batchRows, 10_000))) {
      // A dry run that found it needs several batches counts the rest without keeping it (the
      // COPY must run to its end for the session to stay usable).
      streamed += b.rows;
      if (inexact) continue;
      const text = Buffer.concat(b.chunks);
      for (let start = 0; start < text.length; ) {
        let end = text.indexOf(10, start);
        if (end < 0) end = text.length;
        const line = text.subarray(start, end);
        start = end + 1;
        const tuple = `(${copyFields(line)
          .map((v, i) => (superAt[i] && v !== null ? `JSON_PARSE(${sqlValue(v)})` : sqlValue(v)))
          .join(', ')})`;
        const size = Buffer.byteLength(tuple) + 2;
        const overflows = bytes + size > MAX_INSERT_BYTES && tuples.length > 0;
        const same = prev?.equals(line) ?? false;
        prev = Buffer.from(line);
        if (!same && rows > 0 && (inserts.length + (overflows ? 2 : 1) > soft || rows >= batchRows)) {
          if (!(await flush())) return null;
          if (inexact) break;
        }
        if (bytes + size > MAX_INSERT_BYTES && tuples.length > 0) closeInsert();
        if (inserts.length + 1 > hard)
          throw new SyncError(
            `sync ${sync.name}: more identical rows in a row than one Data API batch holds (about 1 MB); they cannot be loaded as one group`,
          );
        tuples.push(tuple);
        bytes += size;
        rows++;
      }
    }
    if (!inexact && !(await flush())) return null;
    if (dryRun) return await dryResult(inexact ? undefined : (dryBatch ?? []), streamed);
    if (full) {
      if (!(await apply({ table: stage }))) return null;
      await api.batch([`DROP TABLE IF EXISTS ${stage}`]);
    } else if (batches === 0 && fullRefresh) {
      // Nothing to read, but the reset still happens (and is recorded).
      if (!(await apply({ ddl: stageDdl(RS_SRC, true), inserts: [], watermark: null }))) return null;
    }
  } catch (e) {
    if (e instanceof DataApiStatementError && sync.mode === 'full')
      await api.batch([`DROP TABLE IF EXISTS ${stage}`]).catch(() => {});
    throw e;
  } finally {
    await src.query('ROLLBACK').catch(() => {});
  }
  return {
    name: sync.name,
    mode: sync.mode,
    status: 'ok',
    rows: totals,
    read,
    durationMs: 0,
    watermark: sync.mode === 'full' ? null : watermark,
  };
}
