// Points Redshift plan diagnostics found only once the live state is read at the file: a
// session that is not a superuser at its connection, an ADD COLUMN ... NOT NULL without a
// default at the column. The planner knows addresses, not positions; this maps one to the
// other after the plan is built: the Redshift engine's locate (engine.ts), run by planConfig.
import { fileLocator, formatPath, type YamlPath } from '../../config/load.js';
import type { LoadedConfig } from '../../config/types.js';
import { foldIdent } from '../../plan/normalize.js';
import type { Diagnostic } from '../../plan/plan.js';
import { SUPERUSER_CODE } from './redshift-session.js';
import { ADD_NOT_NULL_CODE } from './table-diff.js';

export function locateRedshiftDiagnostics(loaded: LoadedConfig, diagnostics: Diagnostic[]): Diagnostic[] {
  const codes = [SUPERUSER_CODE, ADD_NOT_NULL_CODE];
  const unplaced = diagnostics.filter((d) => codes.includes(d.code) && d.line === undefined);
  if (unplaced.length === 0) return diagnostics;
  const locator = fileLocator(loaded);
  if (locator === null) return diagnostics; // the file moved since it was loaded: keep them as they are
  const { config } = loaded;
  const schemaConn = new Map(
    (config.schemas ?? []).map((s) => [foldIdent(s.name), s.connection ?? loaded.defaultConnection]),
  );
  const pathOf = (d: Diagnostic): YamlPath | null => {
    if (d.code === SUPERUSER_CODE) {
      const m = /^connection (\S+):/.exec(d.message);
      return m && loaded.connections[m[1]!] ? ['connections', m[1]!] : null;
    }
    // `<connection>.table:<schema>.<table>: column "<name>" ...`
    const m = /^([^.]+)\.table:([^.]+)\.([^:]+): column "([^"]+)"/.exec(d.message);
    if (!m) return null;
    const [, conn, schema, table, column] = m as unknown as [string, string, string, string, string];
    const i = (config.tables ?? []).findIndex(
      (t) => foldIdent(t.schema) === schema && foldIdent(t.name) === table && schemaConn.get(schema) === conn,
    );
    if (i < 0) return null;
    const j = config.tables![i]!.columns.findIndex((c) => foldIdent(c.name) === column);
    return j < 0 ? ['tables', i] : ['tables', i, 'columns', j];
  };
  return diagnostics.map((d) => {
    if (!unplaced.includes(d)) return d;
    const path = pathOf(d);
    if (!path || !locator) return d;
    const at = locator.at(path);
    return { ...d, file: at.file ?? loaded.file, line: at.line, col: at.col, path: formatPath(path) };
  });
}
