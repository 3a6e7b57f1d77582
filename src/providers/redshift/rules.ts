// Semantic rules for Redshift: connection keys, the Redshift-only table keys (a clear error on
// any other connection), how `partition` maps to the sort key, and the datashare lint that
// needs no live state: a publicly accessible share, an account id given as a namespace (and
// the reverse), tables with an interleaved sort key (Redshift refuses to share them), and
// objects that are not declared on the share's connection. The Redshift engine's checkRules
// (engine.ts): src/config/rules.ts runs it with every engine's rules.

import type { Locator, YamlPath } from '../../config/load.js';
import { formatPath } from '../../config/load.js';
import type { ConnectionConfig, WharfConfig } from '../../config/types.js';
import { foldIdent } from '../../plan/normalize.js';
import type { Diagnostic, Severity } from '../../plan/plan.js';
import { checkTypeName, unquotedNames } from '../../plan/sql-parse.js';
import { ACCOUNT_ID_RE, NAMESPACE_RE, schemaEntry } from './config.js';
import { REDSHIFT_RESERVED_WORDS } from './reserved.js';

/**
 * Reserved words checked in a query: all but the ones Redshift also reads as functions without
 * parentheses (SYSDATE, CURRENT_USER_ID), which PostgreSQL's parser takes for column names.
 */
const RESERVED_AS_NAMES: ReadonlySet<string> = new Set(
  [...REDSHIFT_RESERVED_WORDS].filter((w) => w !== 'sysdate' && w !== 'current_user_id'),
);

const REDSHIFT_CONNECTION_KEYS = ['cluster', 'workgroup', 'secretArn', 'dbUser', 'iamRole'] as const;

/** An IAM role ARN, as UNLOAD's IAM_ROLE takes it (https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-authorization.html). */
export const IAM_ROLE_RE = /^arn:aws(?:-cn|-us-gov)?:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;

/**
 * The privileges a Redshift statement accepts, by where they are written (`all` included):
 * GRANT … ON TABLE, https://docs.aws.amazon.com/redshift/latest/dg/r_GRANT.html; ALTER DEFAULT
 * PRIVILEGES … ON TABLES, https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_DEFAULT_PRIVILEGES.html
 * (no ALTER there); GRANT … ON SCHEMA. Redshift has no TRIGGER privilege.
 */
export const REDSHIFT_PRIVILEGES = {
  schema: new Set(['usage', 'create', 'all']),
  table: new Set(['select', 'insert', 'update', 'delete', 'drop', 'references', 'alter', 'truncate', 'all']),
  defaultTable: new Set(['select', 'insert', 'update', 'delete', 'drop', 'references', 'truncate', 'all']),
} as const;

export function checkRedshiftRules(
  config: WharfConfig,
  connections: Record<string, ConnectionConfig>,
  defaultConnection: string,
  loc: Locator,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const add = (severity: Severity, path: YamlPath, code: string, message: string) => {
    const at = loc.at(path);
    out.push({ severity, code, message, line: at.line, col: at.col, path: formatPath(path) });
  };
  const err = (path: YamlPath, code: string, message: string) => add('error', path, code, message);

  for (const [name, c] of Object.entries(connections)) {
    const p: YamlPath = ['connections', name];
    if (c.type !== 'redshift') {
      for (const k of REDSHIFT_CONNECTION_KEYS)
        if (c[k] !== undefined)
          err([...p, k], 'connection', `connection ${name}: "${k}" applies to type redshift only`);
      continue;
    }
    if (Boolean(c.cluster) === Boolean(c.workgroup))
      err(
        p,
        'connection',
        `connection ${name}: type redshift needs exactly one of "cluster" (provisioned) or "workgroup" (serverless)`,
      );
    if (!c.database) err(p, 'connection', `connection ${name}: type redshift needs "database"`);
    if (Boolean(c.secretArn) === Boolean(c.dbUser))
      err(p, 'connection', `connection ${name}: type redshift needs exactly one of "secretArn" or "dbUser"`);
    if (c.dbUser && c.workgroup)
      err(
        [...p, 'dbUser'],
        'connection',
        `connection ${name}: "dbUser" works with a provisioned cluster only; use "secretArn" with a workgroup`,
      );
    if (c.iamRole !== undefined && !IAM_ROLE_RE.test(c.iamRole))
      err(
        [...p, 'iamRole'],
        'connection',
        `connection ${name}: iamRole ${JSON.stringify(c.iamRole)} is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)`,
      );
    if (c.url)
      err(
        [...p, 'url'],
        'connection',
        `connection ${name}: type redshift takes no "url"; it connects through the Data API`,
      );
  }

  const connOf = (explicit: string | undefined) => explicit ?? defaultConnection;
  const schemaConn = new Map<string, string>();
  for (const s of config.schemas ?? []) schemaConn.set(foldIdent(s.name), connOf(s.connection));
  const isRedshift = (conn: string | undefined) =>
    conn !== undefined && connections[conn]?.type === 'redshift';

  // Tables: Redshift-only keys, the layout's columns, and partition -> leading sort-key column.
  const interleaved = new Set<string>();
  const tablesOf = new Map<string, string[]>();
  (config.tables ?? []).forEach((t, i) => {
    const p: YamlPath = ['tables', i];
    const sch = foldIdent(t.schema);
    const key = `${sch}.${foldIdent(t.name)}`;
    const list = tablesOf.get(sch);
    if (list) list.push(key);
    else tablesOf.set(sch, [key]);
    const conn = schemaConn.get(sch);
    const redshift = isRedshift(conn);
    if (!redshift) {
      if (t.distribution)
        err(
          [...p, 'distribution'],
          'redshift-only',
          `table ${key}: "distribution" applies to a redshift connection only`,
        );
      if (t.sortKey)
        err(
          [...p, 'sortKey'],
          'redshift-only',
          `table ${key}: "sortKey" applies to a redshift connection only`,
        );
      t.columns.forEach((c, j) => {
        if (c.encode !== undefined)
          err(
            [...p, 'columns', j, 'encode'],
            'redshift-only',
            `table ${key}: "encode" applies to a redshift connection only`,
          );
      });
      return;
    }
    t.columns.forEach((c, j) => {
      // The default is checked with the PostgreSQL parser, which reads backslashes and
      // dollar quotes differently from Redshift (where \' does not end a string): refuse both,
      // so both parsers see the same single expression.
      if (typeof c.default === 'string' && /[\\$]/.test(c.default))
        err(
          [...p, 'columns', j, 'default'],
          'default',
          `table ${key}: default for "${foldIdent(c.name)}" on Redshift may not contain a backslash or a dollar quote; write a backslash as CHR(92)`,
        );
      const problem = redshiftTypeProblem(c.type);
      if (problem)
        err([...p, 'columns', j, 'type'], 'type', `table ${key}: column "${foldIdent(c.name)}" ${problem}`);
    });
    const cols = new Set(t.columns.map((c) => foldIdent(c.name)));
    const d = t.distribution;
    if (d?.style === 'key' && !d.key)
      err(
        [...p, 'distribution'],
        'distribution',
        `table ${key}: distribution style key needs "key" (the DISTKEY column)`,
      );
    if (d && d.style !== 'key' && d.key)
      err(
        [...p, 'distribution', 'key'],
        'distribution',
        `table ${key}: "key" applies to distribution style key only`,
      );
    if (d?.key && !cols.has(foldIdent(d.key)))
      err(
        [...p, 'distribution', 'key'],
        'unknown-reference',
        `table ${key}: distribution key "${foldIdent(d.key)}" is not among the columns`,
      );
    const sk = t.sortKey;
    if (sk && sk !== 'auto') {
      sk.columns.forEach((c, j) => {
        if (!cols.has(foldIdent(c)))
          err(
            [...p, 'sortKey', 'columns', j],
            'unknown-reference',
            `table ${key}: sort key column "${foldIdent(c)}" is not among the columns`,
          );
      });
      if (sk.type === 'interleaved') {
        interleaved.add(key);
        if (sk.columns.length > 8)
          err(
            [...p, 'sortKey', 'columns'],
            'sort-key',
            `table ${key}: an interleaved sort key has at most 8 columns`,
          );
      }
    }
    if (t.partition) {
      const by = foldIdent(t.partition.by);
      if (sk === 'auto')
        err(
          [...p, 'partition'],
          'partition',
          `table ${key}: on Redshift, partition maps to the leading sort-key column, which sortKey: auto does not allow`,
        );
      else if (sk && foldIdent(sk.columns[0] ?? '') !== by)
        err(
          [...p, 'sortKey', 'columns', 0],
          'partition',
          `table ${key}: on Redshift, partition maps to the leading sort-key column; make "${by}" the first sort-key column`,
        );
      else
        add(
          'info',
          [...p, 'partition'],
          'partition-mapping',
          `table ${key}: Redshift has no partitions; partition on ${by} becomes the leading sort-key column (${sk ? (sk.type ?? 'compound') : 'compound'} SORTKEY starting with ${by})`,
        );
    }
  });

  // A group holds users only (ALTER GROUP … ADD USER); RBAC roles may be granted to users and roles.
  const roleTypes = new Map((config.roles ?? []).map((r) => [foldIdent(r.name), r.type ?? 'role']));
  (config.roles ?? []).forEach((r, i) => {
    if (!isRedshift(connOf(r.connection))) return;
    (r.memberOf ?? []).forEach((g, j) => {
      const target = roleTypes.get(foldIdent(g));
      if (target === 'user')
        err(
          ['roles', i, 'memberOf', j],
          'role',
          `role ${foldIdent(r.name)}: on Redshift a user cannot have members`,
        );
      else if (target === 'group' && (r.type ?? 'role') !== 'user')
        err(
          ['roles', i, 'memberOf', j],
          'role',
          `role ${foldIdent(r.name)}: on Redshift only users can be members of group ${foldIdent(g)}`,
        );
    });
  });

  // Sync queries on Redshift: checked with the PostgreSQL parser, then sent to Redshift, which
  // reads a backslash in a string as an escape (\' does not end it) and has no dollar quotes.
  (config.syncs ?? []).forEach((sy, i) => {
    const q = sy.from?.query;
    if (typeof q !== 'string' || !isRedshift(connOf(sy.from.connection))) return;
    if (/[\\$]/.test(q))
      err(
        ['syncs', i, 'from', 'query'],
        'sync',
        `sync ${sy.name}: a query on Redshift may not contain a backslash or a dollar quote; write a backslash as CHR(92)`,
      );
    // A warning: the reference asks for quotes, but some reserved words (RAW, TAG, OPEN) are
    // common schema and column names that a cluster may still accept unquoted in a query.
    for (const { word, offset } of unquotedNames(q, RESERVED_AS_NAMES))
      add(
        'warning',
        ['syncs', i, 'from', 'query'],
        'reserved-word',
        `sync ${sy.name}: "${word}" is a Redshift reserved word; as a name in the query write it quoted, "${word}" (at character ${offset + 1})`,
      );
  });

  // Bucket exports from Redshift run UNLOAD, which writes to S3 as the connection's IAM role.
  (config.syncs ?? []).forEach((sy, i) => {
    if (typeof (sy.to as { bucket?: unknown } | undefined)?.bucket !== 'string') return;
    const conn = connOf(sy.from?.connection);
    if (!isRedshift(conn) || connections[conn]!.iamRole !== undefined) return;
    err(
      ['syncs', i, 'from'],
      'connection',
      `sync ${sy.name}: a bucket export from Redshift is written by UNLOAD, which needs "iamRole" on connection ${conn} (the IAM role ARN Redshift assumes to write to the bucket)`,
    );
  });

  // Datashares.
  const seen = new Map<string, number>();
  (config.datashares ?? []).forEach((d, i) => {
    const p: YamlPath = ['datashares', i];
    const name = foldIdent(d.name);
    const conn = connOf(d.connection);
    if (seen.has(name))
      err(
        [...p, 'name'],
        'duplicate-name',
        `datashare "${name}" is declared twice (first at datashares[${seen.get(name)}])`,
      );
    else seen.set(name, i);
    if (!connections[conn]) {
      err([...p, 'connection'], 'unknown-reference', `connection: no connection named "${conn}"`);
      return;
    }
    if (!isRedshift(conn)) {
      const type = connections[conn]!.type;
      if (type !== 'postgres' && type !== 'local') {
        err(
          p,
          'datashare',
          `datashare ${name}: datashares need a redshift, postgres or local connection; connection ${conn} is ${type}`,
        );
        return;
      }
      // On PostgreSQL a datashare is a publication: no consumers to name, nothing public.
      if (d.publicAccessible !== undefined)
        err(
          [...p, 'publicAccessible'],
          'datashare',
          `datashare ${name}: "publicAccessible" applies to Redshift only; on ${type} a datashare is a publication`,
        );
      if (d.consumers?.length)
        err(
          [...p, 'consumers'],
          'datashare',
          `datashare ${name}: consumers by account or namespace are Redshift-only; on ${type} a datashare is a publication that subscribers connect to by name`,
        );
      const withTables = new Set([
        ...(d.tables ?? []).map((t) => foldIdent(t.split('.')[0] ?? '')),
        ...(d.allTablesInSchema ?? []).map(foldIdent),
      ]);
      (d.schemas ?? []).forEach((s, j) => {
        const e = schemaEntry(s);
        if (!e.includeNew && !withTables.has(foldIdent(e.name)))
          err(
            [...p, 'schemas', j],
            'datashare',
            `datashare ${name}: on ${type} a publication holds tables; share schema ${foldIdent(e.name)} with includeNew: true (the whole schema) or list its tables`,
          );
      });
    }
    const inConn = (schema: string) => schemaConn.get(schema) === conn;
    (d.schemas ?? []).forEach((s, j) => {
      const sch = foldIdent(schemaEntry(s).name);
      if (!inConn(sch))
        err(
          [...p, 'schemas', j],
          'unknown-reference',
          `datashare ${name}: schema "${sch}" is not declared on connection ${conn}`,
        );
    });
    const declared = new Set([...tablesOf.values()].flat());
    (d.tables ?? []).forEach((t, j) => {
      const key = t.split('.').map(foldIdent).join('.');
      if (!declared.has(key) || !inConn(key.slice(0, key.indexOf('.'))))
        err(
          [...p, 'tables', j],
          'unknown-reference',
          `datashare ${name}: table "${key}" is not declared under tables on connection ${conn}`,
        );
      else if (interleaved.has(key))
        err(
          [...p, 'tables', j],
          'datashare-interleaved',
          `datashare ${name}: table ${key} has an interleaved sort key, and Redshift does not share such tables; use a compound sort key`,
        );
    });
    (d.allTablesInSchema ?? []).forEach((s, j) => {
      const sch = foldIdent(s);
      if (!inConn(sch))
        err(
          [...p, 'allTablesInSchema', j],
          'unknown-reference',
          `datashare ${name}: schema "${sch}" is not declared on connection ${conn}`,
        );
      for (const t of tablesOf.get(sch) ?? [])
        if (interleaved.has(t))
          err(
            [...p, 'allTablesInSchema', j],
            'datashare-interleaved',
            `datashare ${name}: table ${t} has an interleaved sort key, and Redshift does not share such tables; use a compound sort key`,
          );
    });
    if (d.publicAccessible && isRedshift(conn))
      add(
        'warning',
        [...p, 'publicAccessible'],
        'datashare-public',
        `datashare ${name} is publicly accessible: consumer clusters that are reachable from the internet may use it; keep it only if the consumer requires it`,
      );
    const consumers = new Set<string>();
    (isRedshift(conn) ? (d.consumers ?? []) : []).forEach((c, j) => {
      const cp: YamlPath = [...p, 'consumers', j];
      if ('account' in c) {
        if (NAMESPACE_RE.test(c.account))
          err(
            [...cp, 'account'],
            'datashare-consumer',
            `datashare ${name}: "${c.account}" is a namespace id, not an account; write namespace: "${c.account}"`,
          );
        else if (!ACCOUNT_ID_RE.test(c.account))
          err(
            [...cp, 'account'],
            'datashare-consumer',
            `datashare ${name}: account must be a 12-digit AWS account id (quote it so YAML keeps leading zeros)`,
          );
        const k = `account:${c.account}`;
        if (consumers.has(k)) err(cp, 'duplicate-name', `datashare ${name}: consumer ${k} is listed twice`);
        consumers.add(k);
      } else {
        if (ACCOUNT_ID_RE.test(c.namespace))
          err(
            [...cp, 'namespace'],
            'datashare-consumer',
            `datashare ${name}: "${c.namespace}" is an account id, not a namespace; write account: "${c.namespace}"`,
          );
        else if (!NAMESPACE_RE.test(c.namespace))
          err(
            [...cp, 'namespace'],
            'datashare-consumer',
            `datashare ${name}: namespace must be a namespace GUID such as 86b5169f-01dc-4a6f-9fbb-e2e24359e9a8`,
          );
        const k = `namespace:${c.namespace.toLowerCase()}`;
        if (consumers.has(k)) err(cp, 'duplicate-name', `datashare ${name}: consumer ${k} is listed twice`);
        consumers.add(k);
      }
    });
  });
  return out;
}

// Redshift's documented data types and their aliases, by the name the PostgreSQL parser
// gives them (`int` -> int4, `double precision` -> float8, `character varying` -> varchar):
// https://docs.aws.amazon.com/redshift/latest/dg/c_Supported_data_types.html
const REDSHIFT_TYPES = new Set([
  'int2',
  'int4',
  'int8',
  'numeric',
  'decimal',
  'float4',
  'float8',
  'float',
  'bool',
  'boolean',
  'bpchar',
  'char',
  'character',
  'nchar',
  'varchar',
  'nvarchar',
  'text',
  'date',
  'timestamp',
  'timestamptz',
  'time',
  'timetz',
  'interval',
  'geometry',
  'geography',
  'hllsketch',
  'super',
  'varbyte',
  'varbinary',
]);

/** Why `raw` is not one of Redshift's data types, or null. Parse errors are reported elsewhere. */
export function redshiftTypeProblem(raw: string): string | null {
  const t = checkTypeName(raw);
  if (!t.ok) return null;
  const names = t.names[0] === 'pg_catalog' ? t.names.slice(1) : t.names;
  const name = names.join('.');
  if (names.length !== 1 || !REDSHIFT_TYPES.has(name))
    return `has type ${raw.trim()}, which is not a Redshift data type (e.g. SMALLINT, INTEGER, BIGINT, DECIMAL(p,s), REAL, DOUBLE PRECISION, BOOLEAN, CHAR(n), VARCHAR(n|MAX), DATE, TIMESTAMP, TIMESTAMPTZ, TIME, TIMETZ, INTERVAL, SUPER, VARBYTE, GEOMETRY, GEOGRAPHY, HLLSKETCH)`;
  if (t.arrayDims > 0) return `has type ${raw.trim()}: Redshift has no array types; use SUPER`;
  return null;
}
