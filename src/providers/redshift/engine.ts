// The Redshift engine as the core sees it (src/providers/engine.ts): its privileges and config
// rules, its part of the desired state (table layout and types, grantee types, datashares), the
// datashare differ and its part of a table diff, and its sync paths (inside Redshift, into it
// from PostgreSQL, out of it into PostgreSQL). The Data API clients and the sync paths load on
// first use only.
import type { Engine } from '../engine.js';
import { diffDatashares } from './datashare-diff.js';
import { applyRedshiftDesired, normalizeRedshiftType } from './desired.js';
import { locateRedshiftDiagnostics } from './locate.js';
import { checkRedshiftRules, REDSHIFT_PRIVILEGES } from './rules.js';
import { diffRedshiftTable } from './table-diff.js';

export const redshiftEngine: Engine = {
  name: 'Redshift',
  connectionTypes: ['redshift'],
  // https://docs.aws.amazon.com/redshift/latest/dg/r_names.html
  identifierBytes: 127,
  holds: 'warehouse',
  async open(name, config) {
    const { openRedshiftConnection } = await import('./connect.js');
    return openRedshiftConnection(name, config);
  },
  grantPrivileges: { engine: ' on Redshift', allowed: REDSHIFT_PRIVILEGES },
  checkRules: checkRedshiftRules,
  toDesired: applyRedshiftDesired,
  // Datashares read the connection's tables to expand ALL TABLES IN SCHEMA.
  differs: { datashare: diffDatashares },
  // A table on a Redshift connection carries its layout (`redshift`): distribution, sort key,
  // encodings, and what Redshift cannot alter in place.
  diffTable: (have, want, base) => (want.redshift ? diffRedshiftTable(have, want, base) : undefined),
  locate: locateRedshiftDiagnostics,
  inspect: { normalizeType: normalizeRedshiftType },
  sync: {
    runInside: async (sync, conn, options) =>
      (await import('./sync-run.js')).runOnRedshift(sync, conn, options),
    loadInto: async (sync, src, dst, options, batchRows) =>
      (await import('./sync-load.js')).runIntoRedshift(sync, src, dst, options, batchRows),
    extractFrom: async (sync, src, dst, options) =>
      (await import('./sync-extract.js')).runFromRedshift(sync, src, dst, options),
    exportFrom: async (sync, src, out, options) =>
      (await import('./export.js')).runExportOnRedshift(sync, src, out, options),
    async describeTable(conn, qualified) {
      if (!conn.dataApi) throw new Error(`connection ${conn.name} is not reached through the Data API`);
      return (await import('./sync-run.js')).describeRedshiftTable(conn.dataApi, qualified);
    },
  },
};
