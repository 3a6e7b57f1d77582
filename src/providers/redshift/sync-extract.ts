// Rows from Redshift into PostgreSQL. One Data API statement reads the rows the run needs (one
// snapshot of the source), and its result pages stream with COPY into a temporary table on the
// destination; there the same statements as any PostgreSQL run apply them and record the
// watermark, and the whole run commits as one transaction. Memory stays bounded by one result
// page. The Data API caps one statement's result (100 MB, on newer service versions 500 MB):
// a first load larger than that needs `lookback`-free chunks or a bulk path (UNLOAD to S3).
//
// --dry-run runs the same transaction and rolls it back: exact counts, nothing kept (the
// destination rows it would write are locked meanwhile).
import type pg from 'pg';
import { applyAndRecord } from '../../sync/apply.js';
import { describeTable, type RelationInfo } from '../../sync/catalog.js';
import { checkSync } from '../../sync/check.js';
import { type SyncConfig, splitTable } from '../../sync/config.js';
import { copyIn, copyText } from '../../sync/copy.js';
import { shapeOf } from '../../sync/prepare.js';
import {
  applyStatement,
  CDC_CUR,
  CDC_OP,
  CDC_SEQ,
  fullSwapStatements,
  keysTableDdl,
  readList,
  readNames,
  readQuery,
  sourceRelation,
  stagingDdl,
} from '../../sync/sql.js';
import {
  clearState,
  ensureStateTable,
  lockSync,
  readState,
  STATE_TABLE,
  syncKey,
  writeState,
} from '../../sync/state.js';
import { type RowCounts, SyncError, type SyncResult, type SyncRunOptions } from '../../sync/types.js';
import type { OpenedConnection } from '../connect.js';
import { quoteIdent, quoteQualified } from '../sql-quote.js';
import { describeRedshiftSource } from './sync-run.js';
import { redshiftLiteral } from './sync-sql.js';

const STAGE = 'wharf_stage';

/** Redshift types as PostgreSQL types, for the staging table's source-only (cdc) columns. */
function postgresType(t: string): string {
  if (/^super$/i.test(t)) return 'jsonb';
  if (/^character varying\(65535\)$/.test(t)) return 'text';
  return t;
}

export async function runFromRedshift(
  sync: SyncConfig,
  srcConn: OpenedConnection,
  dstConn: OpenedConnection,
  options: SyncRunOptions,
): Promise<SyncResult> {
  const api = srcConn.dataApi!;
  const relation = sourceRelation(sync.from);
  const target = splitTable(sync.to.table);
  const key = syncKey(sync.name, target);
  const dst: pg.Client = dstConn.takeSession?.() ?? (await dstConn.connectSql!());
  try {
    const [srcInfo, dstInfo] = await Promise.all([
      describeRedshiftSource(api, sync, relation),
      describeTable(dst, target.schema, target.name),
    ]);
    const issues = checkSync(sync, srcInfo, dstInfo);
    const errors = issues.filter((i) => i.severity === 'error');
    if (errors.length)
      throw new SyncError(`sync ${sync.name}: ${errors.map((e) => e.message).join('; ')}`, issues);
    const shape = shapeOf(sync, srcInfo, dstInfo);
    const find = (info: RelationInfo, c: string) => info.columns.find((x) => x.name === c)!;
    const staging = readNames(shape).map((name) => {
      if (shape.cdc) {
        if (name === CDC_OP) return { name, type: postgresType(find(srcInfo, shape.cdc.op).type) };
        if (name === CDC_SEQ) return { name, type: postgresType(find(srcInfo, shape.cdc.sequence).type) };
        if (name === CDC_CUR) return { name, type: postgresType(find(srcInfo, shape.cursor!.column).type) };
      }
      return { name, type: find(dstInfo, name).type };
    });
    const unlock = await lockSync(dst, key, options.lockTimeoutMs ?? 0);
    try {
      await dst.query('BEGIN');
      try {
        await ensureStateTable(dst);
        if (shape.cdc) {
          const seqType = staging.find((c) => c.name === CDC_SEQ)!.type;
          await dst.query(
            keysTableDdl(
              shape,
              shape.key.map((k) => find(dstInfo, k).type),
              seqType,
            ),
          );
        }
        const stored = await readState(dst, key);
        const fullRefresh = Boolean(options.fullRefresh);
        const w0 = fullRefresh || sync.mode === 'full' ? null : stored.watermark;
        const T = quoteQualified(shape.target.schema, shape.target.name);
        if (fullRefresh && sync.mode !== 'full') {
          await dst.query(`TRUNCATE ${T}`);
          if (shape.cdc)
            await dst.query(
              `TRUNCATE ${quoteQualified(shape.cdc.keysTable.schema, shape.cdc.keysTable.name)}`,
            );
          await clearState(dst, key);
        }

        // The rows the run reads, in one Data API statement (one snapshot of the source).
        const rowsRead =
          sync.mode === 'full'
            ? `SELECT ${readList(shape)} FROM ${relation} s`
            : readQuery(shape, relation, w0, { literal: redshiftLiteral });
        // The Data API returns BIGINT as a JSON number, which JavaScript rounds above 2^53:
        // such columns travel as text instead.
        const sourceType = (name: string) =>
          find(
            srcInfo,
            name === CDC_OP
              ? shape.cdc!.op
              : name === CDC_SEQ
                ? shape.cdc!.sequence
                : name === CDC_CUR
                  ? shape.cursor!.column
                  : name,
          ).type;
        const wide = readNames(shape).filter((n) => /^(bigint|int8)$/.test(sourceType(n)));
        const select =
          wide.length === 0
            ? rowsRead
            : `SELECT ${readNames(shape)
                .map((n) =>
                  wide.includes(n)
                    ? `r.${quoteIdent(n)}::VARCHAR(20) AS ${quoteIdent(n)}`
                    : `r.${quoteIdent(n)}`,
                )
                .join(', ')}\nFROM (${rowsRead}) r`;
        await dst.query(stagingDdl(STAGE, staging));
        const names = readNames(shape);
        let read = 0;
        options.hooks?.onRoute?.(sync.name, { pushDown: false });
        for await (const page of api.stream(select)) {
          if (page.rows.length === 0) continue;
          const lines = page.rows.map((row) => `${names.map((n) => copyText(row[n])).join('\t')}\n`);
          read += await copyIn(dst, `COPY ${quoteIdent(STAGE)} FROM STDIN`, [Buffer.from(lines.join(''))]);
          options.hooks?.onProgress?.(sync.name, read);
        }

        let rows: RowCounts;
        let watermark: string | null = null;
        if (sync.mode === 'full') {
          const before = Number(
            (await dst.query<{ n: string }>(`SELECT count(*) AS n FROM ${T}`)).rows[0]!.n,
          );
          for (const sql of fullSwapStatements(shape, STAGE)) await dst.query(sql);
          rows = { inserted: read, updated: 0, deleted: before };
          await writeState(dst, key, 'full', { watermark: null, lastSequence: null }, read);
        } else {
          // Statistics for the planner, as for a batch across connections (see run.ts).
          await dst.query(`ANALYZE ${quoteIdent(STAGE)}`);
          const seqType = shape.cdc ? staging.find((c) => c.name === CDC_SEQ)!.type : undefined;
          const r = await applyAndRecord(
            dst,
            { name: sync.name, shape, key, ...(seqType ? { seqType } : {}) },
            `SELECT * FROM ${quoteIdent(STAGE)}`,
            fullRefresh ? { watermark: null, lastSequence: null } : stored,
          );
          rows = r.rows;
          watermark = r.watermark;
        }
        await dst.query(options.dryRun ? 'ROLLBACK' : 'COMMIT');
        return {
          name: sync.name,
          mode: sync.mode,
          status: 'ok',
          rows,
          read,
          durationMs: 0,
          watermark,
          ...(options.dryRun
            ? {
                dryRun: {
                  statements: [
                    `${select}  -- on Redshift, through the Data API, streamed with COPY ${quoteIdent(STAGE)} FROM STDIN`,
                    sync.mode === 'full'
                      ? fullSwapStatements(shape, STAGE).join(';\n')
                      : applyStatement(shape, `SELECT * FROM ${quoteIdent(STAGE)}`, w0),
                    `-- then, in the same transaction: the watermark in ${STATE_TABLE}`,
                  ],
                  rows: read,
                  watermark,
                },
              }
            : {}),
        };
      } catch (e) {
        await dst.query('ROLLBACK').catch(() => {});
        throw e;
      }
    } finally {
      await unlock();
    }
  } finally {
    await dst.end().catch(() => {});
  }
}
