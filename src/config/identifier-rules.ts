// How long a name may be, by the engine it reaches, counted in bytes of its UTF-8 form after
// case folding (what wharf sends, quoted): PostgreSQL keeps at most NAMEDATALEN - 1 = 63 bytes
// (https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS) and
// would silently truncate a longer one; Redshift allows 127 bytes
// (https://docs.aws.amazon.com/redshift/latest/dg/r_names.html). Every name in the file is
// checked against the engine of the connection it belongs to (`Engine.identifierBytes`), at its
// own YAML position.

import { foldIdent } from '../plan/normalize.js';
import type { Diagnostic } from '../plan/plan.js';
import { engineFor } from '../providers/engine.js';
import { formatPath, type Locator, type YamlPath } from './load.js';
import type { ConnectionConfig, WharfConfig } from './types.js';

/** The longest name, in bytes, the connection's engine keeps. */
export function maxIdentifierBytes(conn: ConnectionConfig | undefined): { bytes: number; engine: string } {
  const engine = conn ? engineFor(conn.type) : undefined;
  return engine?.identifierBytes
    ? { bytes: engine.identifierBytes, engine: engine.name }
    : { bytes: 63, engine: 'PostgreSQL' };
}

export function checkIdentifierLengths(
  config: WharfConfig,
  connections: Record<string, ConnectionConfig>,
  defaultConnection: string,
  loc: Locator,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const connOf = (explicit: string | undefined) => explicit ?? defaultConnection;
  /** Checks `value` (a name, or `schema.table` when `qualified`) against the connection's engine. */
  const check = (value: unknown, path: YamlPath, conn: string | undefined, qualified = false) => {
    if (typeof value !== 'string') return;
    const { bytes, engine } = maxIdentifierBytes(conn === undefined ? undefined : connections[conn]);
    for (const part of qualified ? value.split('.') : [value]) {
      const n = Buffer.byteLength(foldIdent(part));
      if (n <= bytes) continue;
      const at = loc.at(path);
      out.push({
        severity: 'error',
        code: 'identifier-length',
        message: `name "${foldIdent(part)}" is ${n} bytes long; ${engine} allows at most ${bytes} bytes`,
        line: at.line,
        col: at.col,
        path: formatPath(path),
      });
    }
  };
  const each = (values: unknown, path: YamlPath, conn: string | undefined, qualified = false) => {
    if (!Array.isArray(values)) check(values, path, conn, qualified);
    else
      values.forEach((v, j) => {
        check(v, [...path, j], conn, qualified);
      });
  };

  const schemaConn = new Map<string, string>();
  (config.schemas ?? []).forEach((s, i) => {
    const conn = connOf(s.connection);
    schemaConn.set(foldIdent(s.name), conn);
    check(s.name, ['schemas', i, 'name'], conn);
    check(s.owner, ['schemas', i, 'owner'], conn);
  });
  const connOfSchema = (schema: string | undefined) =>
    schema === undefined ? undefined : schemaConn.get(foldIdent(schema.split('.')[0]!));

  (config.tables ?? []).forEach((t, i) => {
    const p: YamlPath = ['tables', i];
    const conn = connOfSchema(t.schema) ?? defaultConnection;
    check(t.schema, [...p, 'schema'], conn);
    check(t.name, [...p, 'name'], conn);
    check(t.owner, [...p, 'owner'], conn);
    (t.columns ?? []).forEach((c, j) => {
      check(c.name, [...p, 'columns', j, 'name'], conn);
    });
    each(t.primaryKey, [...p, 'primaryKey'], conn);
    check(t.partition?.by, [...p, 'partition', 'by'], conn);
    check(t.distribution?.key, [...p, 'distribution', 'key'], conn);
    if (t.sortKey && t.sortKey !== 'auto') each(t.sortKey.columns, [...p, 'sortKey', 'columns'], conn);
  });

  const roleConn = new Map<string, string>();
  (config.roles ?? []).forEach((r, i) => {
    const conn = connOf(r.connection);
    roleConn.set(foldIdent(r.name), conn);
    check(r.name, ['roles', i, 'name'], conn);
    each(r.memberOf, ['roles', i, 'memberOf'], conn);
  });

  (config.grants ?? []).forEach((g, i) => {
    const p: YamlPath = ['grants', i];
    const conn =
      connOfSchema(g.schema ?? g.allTablesInSchema ?? g.tables?.[0]) ??
      roleConn.get(foldIdent([g.to].flat()[0] ?? '')) ??
      defaultConnection;
    check(g.schema, [...p, 'schema'], conn);
    check(g.allTablesInSchema, [...p, 'allTablesInSchema'], conn);
    each(g.tables, [...p, 'tables'], conn, true);
    each(g.to, [...p, 'to'], conn);
  });

  (config.defaultPrivileges ?? []).forEach((d, i) => {
    const p: YamlPath = ['defaultPrivileges', i];
    const conn = connOfSchema(d.schema) ?? roleConn.get(foldIdent(d.forRole)) ?? defaultConnection;
    check(d.schema, [...p, 'schema'], conn);
    check(d.forRole, [...p, 'forRole'], conn);
    each(d.to, [...p, 'to'], conn);
  });

  (config.datashares ?? []).forEach((d, i) => {
    const p: YamlPath = ['datashares', i];
    const conn = connOf(d.connection);
    check(d.name, [...p, 'name'], conn);
    (d.schemas ?? []).forEach((s, j) => {
      if (typeof s === 'string') check(s, [...p, 'schemas', j], conn);
      else check(s.name, [...p, 'schemas', j, 'name'], conn);
    });
    each(d.tables, [...p, 'tables'], conn, true);
    each(d.allTablesInSchema, [...p, 'allTablesInSchema'], conn);
  });

  (config.syncs ?? []).forEach((s, i) => {
    const p: YamlPath = ['syncs', i];
    const target = s.to as { connection?: string; table?: string; partition?: { by?: string } } | undefined;
    const to = connOf(target?.connection);
    check(target?.table, [...p, 'to', 'table'], to, true);
    check(target?.partition?.by, [...p, 'to', 'partition', 'by'], connOf(s.from?.connection));
    check(s.from?.table, [...p, 'from', 'table'], connOf(s.from?.connection), true);
    each(s.primaryKey, [...p, 'primaryKey'], to);
    check(s.cursor?.column, [...p, 'cursor', 'column'], to);
  });
  return out;
}
