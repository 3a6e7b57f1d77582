// Semantic rules that JSON Schema cannot express: duplicate names (after case folding),
// references to undeclared objects, literal secrets, the seeds' table conventions and the
// engine constraints a user would otherwise meet only at apply time. An engine's own rules (its
// connection keys and sections) live in its folder and are found through src/providers/engine.ts.
import { foldIdent, normalizeType } from '../plan/normalize.js';
import type { Diagnostic } from '../plan/plan.js';
import { checkExpression, checkTypeName } from '../plan/sql-parse.js';
import { engineFor, engines } from '../providers/engine.js';
import { checkSyncRules } from '../sync/config.js';
import { bucketsByName } from '../sync/export/buckets.js';
import { literalSecrets } from './connection-string.js';
import { ENV_REF_RE, ENV_REF_WHOLE_RE } from './env.js';
import { checkIdentifierLengths } from './identifier-rules.js';
import { formatPath, type Locator, type YamlPath } from './load.js';
import type { ConnectionConfig, TableConfig, WharfConfig } from './types.js';

const SCHEMA_PRIVS = new Set(['usage', 'create', 'all']);
const TABLE_PRIVS = new Set([
  'select',
  'insert',
  'update',
  'delete',
  'truncate',
  'references',
  'trigger',
  'all',
]);
const POSTGRES_PRIVILEGES = { schema: SCHEMA_PRIVS, table: TABLE_PRIVS, defaultTable: TABLE_PRIVS };

/** The privileges a grant may name on the connection's engine, and the engine's name for messages. */
function privilegesOn(conn: ConnectionConfig | undefined): {
  engine: string;
  allowed: { schema: ReadonlySet<string>; table: ReadonlySet<string>; defaultTable: ReadonlySet<string> };
} {
  return (conn && engineFor(conn.type)?.grantPrivileges) ?? { engine: '', allowed: POSTGRES_PRIVILEGES };
}
const TIME_TYPES = new Set(['date', 'timestamp without time zone', 'timestamp with time zone']);

export function checkRules(
  config: WharfConfig,
  connections: Record<string, ConnectionConfig>,
  defaultConnection: string,
  loc: Locator,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const err = (path: YamlPath, code: string, message: string, key = false) => {
    const at = loc.at(path, key);
    out.push({ severity: 'error', code, message, line: at.line, col: at.col, path: formatPath(path) });
  };
  const warn = (path: YamlPath, code: string, message: string) => {
    const at = loc.at(path);
    out.push({ severity: 'warning', code, message, line: at.line, col: at.col, path: formatPath(path) });
  };

  // Connections.
  for (const [name, c] of Object.entries(connections)) {
    const p: YamlPath = ['connections', name];
    if (c.type !== 'local' && c.dataDir)
      err([...p, 'dataDir'], 'connection', `connection ${name}: "dataDir" applies to type local only`);
    // AWS credentials per connection (src/providers/aws-credentials.ts).
    for (const k of AWS_IDENTITY_KEYS) {
      if (c[k] === undefined) continue;
      if (c.type !== 's3' && c.type !== 'redshift')
        err([...p, k], 'connection', `connection ${name}: "${k}" applies to types s3 and redshift only`);
      else if ((k === 'externalId' || k === 'sessionName') && c.roleArn === undefined)
        err([...p, k], 'connection', `connection ${name}: "${k}" goes with "roleArn" (the role to assume)`);
    }
    // A secret is only ever a whole `${env:NAME}`, wherever a connection string can hold one.
    for (const key of ['url', 'endpoint'] as const) {
      const value = c[key];
      if (!value) continue;
      const literal = literalSecrets(value);
      if (literal.includes('the password in the URL'))
        err(
          [...p, key],
          'literal-secret',
          `connection ${name}: the URL holds a literal password; write it as \${env:NAME}, e.g. postgres://user:\${env:PGPASSWORD}@host/db`,
        );
      for (const where of literal.filter((w) => w !== 'the password in the URL'))
        err(
          [...p, key],
          'literal-secret',
          `connection ${name}: ${where} is a literal; write the password as one \${env:NAME} reference, e.g. password=\${env:PGPASSWORD}`,
        );
      checkEnvSyntax(value, [...p, key], err);
    }
  }
  const connNames = Object.keys(connections);
  if (config.defaultConnection !== undefined && !connections[config.defaultConnection]) {
    err(
      ['defaultConnection'],
      'unknown-reference',
      `defaultConnection: no connection named "${config.defaultConnection}" (declared: ${connNames.join(', ')})`,
    );
  }
  const connOf = (explicit: string | undefined, p: YamlPath): string | undefined => {
    const name = explicit ?? defaultConnection;
    if (!name) {
      err(
        p,
        'connection',
        `several connections are declared (${connNames.join(', ')}): name one with "connection" or set "defaultConnection"`,
      );
      return undefined;
    }
    if (!connections[name]) {
      err(
        [...p, 'connection'],
        'unknown-reference',
        `connection: no connection named "${name}" (declared: ${connNames.join(', ')})`,
      );
      return undefined;
    }
    return name;
  };

  // Schemas.
  const schemas = new Map<string, { conn: string | undefined; index: number }>();
  (config.schemas ?? []).forEach((s, i) => {
    const p: YamlPath = ['schemas', i];
    const conn = connOf(s.connection, p);
    const key = foldIdent(s.name);
    if (schemas.has(key))
      err(
        [...p, 'name'],
        'duplicate-name',
        `schema "${key}" is declared twice (first at schemas[${schemas.get(key)!.index}])`,
      );
    else schemas.set(key, { conn, index: i });
    if (key.startsWith('pg_') || key === 'information_schema')
      err([...p, 'name'], 'reserved-name', `schema "${key}" is a system schema and cannot be managed`);
    else if (key === 'wharf_state' || key === 'wharf_meta')
      err(
        [...p, 'name'],
        'reserved-name',
        `schema "${key}" is where wharf keeps its own state (sync watermarks, locks) and cannot be declared`,
      );
  });

  // Roles.
  const roles = new Map<string, { conn: string | undefined; index: number }>();
  (config.roles ?? []).forEach((r, i) => {
    const p: YamlPath = ['roles', i];
    const conn = connOf(r.connection, p);
    const key = foldIdent(r.name);
    if (roles.has(key))
      err(
        [...p, 'name'],
        'duplicate-name',
        `role "${key}" is declared twice (first at roles[${roles.get(key)!.index}])`,
      );
    else roles.set(key, { conn, index: i });
    if (key.startsWith('pg_') || key === 'public')
      err([...p, 'name'], 'reserved-name', `role "${key}" is reserved by the engine`);
    if (r.password !== undefined && !ENV_REF_WHOLE_RE.test(r.password)) {
      err(
        [...p, 'password'],
        'literal-secret',
        `role ${key}: password must be a reference such as \${env:${key.toUpperCase()}_PASSWORD}, never a literal`,
      );
    }
    if (r.password !== undefined && r.type !== 'user') {
      err([...p, 'password'], 'role', `role ${key}: only a role with type: user can log in with a password`);
    }
  });
  const roleRef = (name: string, p: YamlPath, conn: string | undefined, what: string) => {
    const key = foldIdent(name);
    const r = roles.get(key);
    if (!r) err(p, 'unknown-reference', `${what}: role "${key}" is not declared under roles`);
    else if (conn && r.conn && r.conn !== conn)
      err(p, 'unknown-reference', `${what}: role "${key}" is declared on connection ${r.conn}, not ${conn}`);
  };
  (config.roles ?? []).forEach((r, i) => {
    const conn = roles.get(foldIdent(r.name))?.conn;
    (r.memberOf ?? []).forEach((g, j) => {
      const p: YamlPath = ['roles', i, 'memberOf', j];
      if (foldIdent(g) === foldIdent(r.name))
        err(p, 'role', `role ${foldIdent(r.name)} cannot be a member of itself`);
      else roleRef(g, p, conn, 'memberOf');
    });
  });
  (config.schemas ?? []).forEach((s, i) => {
    if (s.owner) roleRef(s.owner, ['schemas', i, 'owner'], schemas.get(foldIdent(s.name))?.conn, 'owner');
  });

  // Tables.
  const tables = new Map<string, { conn: string | undefined; index: number }>();
  (config.tables ?? []).forEach((t, i) => {
    const p: YamlPath = ['tables', i];
    const sch = foldIdent(t.schema);
    const key = `${sch}.${foldIdent(t.name)}`;
    const s = schemas.get(sch);
    if (!s)
      err(
        [...p, 'schema'],
        'unknown-reference',
        `table ${key}: schema "${sch}" is not declared under schemas`,
      );
    if (tables.has(key))
      err(
        [...p, 'name'],
        'duplicate-name',
        `table "${key}" is declared twice (first at tables[${tables.get(key)!.index}])`,
      );
    else tables.set(key, { conn: s?.conn, index: i });
    if (t.owner) roleRef(t.owner, [...p, 'owner'], s?.conn, 'owner');
    checkTable(t, p, key, s?.conn ? connections[s.conn] : undefined, err, warn);
  });

  // Grants.
  (config.grants ?? []).forEach((g, i) => {
    const p: YamlPath = ['grants', i];
    const targets = [
      g.schema !== undefined,
      g.tables !== undefined,
      g.allTablesInSchema !== undefined,
    ].filter(Boolean).length;
    if (targets !== 1) {
      err(
        p,
        'grant',
        targets === 0
          ? 'grant needs one of "schema", "tables" or "allTablesInSchema"'
          : 'grant takes only one of "schema", "tables" or "allTablesInSchema"; split it into several grants',
      );
      return;
    }
    let conn: string | undefined;
    const onSchema = g.schema !== undefined;
    if (g.schema !== undefined || g.allTablesInSchema !== undefined) {
      const field = g.schema !== undefined ? 'schema' : 'allTablesInSchema';
      const sch = foldIdent((g.schema ?? g.allTablesInSchema)!);
      const s = schemas.get(sch);
      if (!s)
        err([...p, field], 'unknown-reference', `${field}: schema "${sch}" is not declared under schemas`);
      conn = s?.conn;
    }
    (g.tables ?? []).forEach((t, j) => {
      const key = t.split('.').map(foldIdent).join('.');
      const tt = tables.get(key);
      if (!tt)
        err([...p, 'tables', j], 'unknown-reference', `tables: table "${key}" is not declared under tables`);
      conn = conn ?? tt?.conn;
    });
    const on = privilegesOn(conn ? connections[conn] : undefined);
    const allowed = onSchema ? on.allowed.schema : on.allowed.table;
    g.privileges.forEach((pr, j) => {
      if (!allowed.has(pr.toLowerCase())) {
        err(
          [...p, 'privileges', j],
          'grant',
          `privilege "${pr}" does not apply to ${onSchema ? 'a schema' : 'tables'}${on.engine} (allowed: ${[...allowed].join(', ')})`,
        );
      }
    });
    listOf(g.to).forEach((r, j) => {
      roleRef(r, Array.isArray(g.to) ? [...p, 'to', j] : [...p, 'to'], conn, 'to');
    });
  });

  // Default privileges.
  (config.defaultPrivileges ?? []).forEach((d, i) => {
    const p: YamlPath = ['defaultPrivileges', i];
    let conn: string | undefined;
    if (d.schema !== undefined) {
      const s = schemas.get(foldIdent(d.schema));
      if (!s)
        err(
          [...p, 'schema'],
          'unknown-reference',
          `schema: schema "${foldIdent(d.schema)}" is not declared under schemas`,
        );
      conn = s?.conn;
    }
    roleRef(d.forRole, [...p, 'forRole'], conn, 'forRole');
    listOf(d.to).forEach((r, j) => {
      roleRef(r, Array.isArray(d.to) ? [...p, 'to', j] : [...p, 'to'], conn, 'to');
    });
    const dconn = conn ?? roles.get(foldIdent(d.forRole))?.conn;
    const on = privilegesOn(dconn ? connections[dconn] : undefined);
    d.privileges.forEach((pr, j) => {
      if (!on.allowed.defaultTable.has(pr.toLowerCase()))
        err(
          [...p, 'privileges', j],
          'grant',
          `privilege "${pr}" does not apply to default privileges on tables${on.engine} (allowed: ${[...on.allowed.defaultTable].join(', ')})`,
        );
    });
  });

  // Syncs.
  checkSyncRules(
    config.syncs ?? [],
    connNames,
    defaultConnection,
    bucketsByName(config.buckets, connections),
    err,
  );

  // Each engine's rules: buckets and bucket connections (S3); Redshift connections, table
  // layout keys and datashares.
  for (const e of engines())
    if (e.checkRules) out.push(...e.checkRules(config, connections, defaultConnection, loc));

  // Name lengths, by the engine each name reaches.
  out.push(...checkIdentifierLengths(config, connections, defaultConnection, loc));

  return out;
}

function checkTable(
  t: TableConfig,
  p: YamlPath,
  key: string,
  conn: ConnectionConfig | undefined,
  err: (path: YamlPath, code: string, message: string) => void,
  warn: (path: YamlPath, code: string, message: string) => void,
): void {
  const cols = new Map<string, { type: string; index: number }>();
  t.columns.forEach((c, j) => {
    const name = foldIdent(c.name);
    const type = checkTypeName(c.type);
    if (!type.ok)
      err(
        [...p, 'columns', j, 'type'],
        'type',
        `table ${key}: type of "${name}" must be exactly one type name, without constraints or clauses: ${type.message}`,
      );
    if (cols.has(name))
      err([...p, 'columns', j, 'name'], 'duplicate-name', `table ${key}: column "${name}" is declared twice`);
    else cols.set(name, { type: normalizeType(c.type), index: j });
  });
  const pk = (t.primaryKey ?? []).map(foldIdent);
  pk.forEach((c, j) => {
    if (!cols.has(c))
      err(
        [...p, 'primaryKey', j],
        'unknown-reference',
        `table ${key}: primary key column "${c}" is not among the columns`,
      );
  });
  if (new Set(pk).size !== pk.length)
    err([...p, 'primaryKey'], 'duplicate-name', `table ${key}: a primary key column is listed twice`);
  if (t.partition) {
    const by = foldIdent(t.partition.by);
    const col = cols.get(by);
    if (!col)
      err(
        [...p, 'partition', 'by'],
        'unknown-reference',
        `table ${key}: partition column "${by}" is not among the columns`,
      );
    else if (!TIME_TYPES.has(col.type))
      err(
        [...p, 'partition', 'by'],
        'partition',
        `table ${key}: partition column "${by}" must be a date or timestamp, not ${col.type}`,
      );
    if (pk.length > 0 && !pk.includes(by) && (conn?.type === 'local' || conn?.type === 'postgres')) {
      err(
        [...p, 'primaryKey'],
        'partition',
        `table ${key}: on PostgreSQL a partitioned table's primary key must include the partition column "${by}"; add it to primaryKey or drop partition`,
      );
    }
    // PostgreSQL partitions are tables named <name>_pYYYY_MM_DD (Redshift has none).
    if (conn?.type !== 'redshift' && Buffer.byteLength(foldIdent(t.name)) > 63 - 12)
      err(
        [...p, 'name'],
        'partition',
        `table ${key}: name too long for partition names (<name>_pYYYY_MM_DD); use at most 51 characters`,
      );
  }
  for (const [name, c] of cols) {
    const j = c.index;
    const def = t.columns[j]!.default;
    if (typeof def === 'string') {
      const checked = checkExpression(def);
      if (!checked.ok)
        err(
          [...p, 'columns', j, 'default'],
          'default',
          `table ${key}: default for "${name}" must be exactly one expression: ${checked.message}`,
        );
    } else if (typeof def === 'number' && !Number.isFinite(def))
      err(
        [...p, 'columns', j, 'default'],
        'default',
        `table ${key}: default for "${name}" must be a finite number; write a string for special values, e.g. "'NaN'"`,
      );
  }
  if (t.kind === 'events') {
    const need: [string, string[]][] = [
      ['a user id', ['user_id']],
      ['an event name', ['event_name', 'event']],
      ['an event timestamp', ['timestamp', 'event_timestamp', 'event_time', 'time']],
      ['updated_at', ['updated_at']],
    ];
    const missing = need
      .filter(([, names]) => !names.some((n) => cols.has(n)))
      .map(([what, names]) => `${what} (${names.join(' or ')})`);
    if (missing.length)
      err([...p, 'columns'], 'convention', `table ${key} (kind: events) lacks ${missing.join(', ')}`);
  }
  if (t.kind === 'profiles') {
    const missing: string[] = [];
    if (![...cols.keys()].some((c) => c === 'id' || c.endsWith('_id')))
      missing.push('an id column (id or *_id)');
    if (!cols.has('updated_at')) missing.push('updated_at');
    if (missing.length)
      err([...p, 'columns'], 'convention', `table ${key} (kind: profiles) lacks ${missing.join(', ')}`);
    if (pk.length === 0)
      err(
        p,
        'convention',
        `table ${key} (kind: profiles) needs a primaryKey: profiles are updated in place by key`,
      );
  }
  const upd = cols.get('updated_at');
  if ((t.kind === 'events' || t.kind === 'profiles') && upd && !TIME_TYPES.has(upd.type)) {
    err(
      [...p, 'columns', upd.index, 'type'],
      'convention',
      `table ${key}: updated_at must be a timestamp, not ${upd.type}`,
    );
  }
  if (t.kind === 'events' && !t.partition)
    warn(
      p,
      'convention',
      `table ${key}: the vendors recommend partitioning event tables on the event timestamp`,
    );
}

function checkEnvSyntax(
  value: string,
  p: YamlPath,
  err: (path: YamlPath, code: string, message: string) => void,
) {
  const stripped = value.replace(ENV_REF_RE, '');
  if (stripped.includes('${'))
    err(p, 'env-reference', 'malformed reference: write ${env:NAME} with NAME made of letters, digits and _');
}

const AWS_IDENTITY_KEYS = ['profile', 'roleArn', 'externalId', 'sessionName'] as const;

export function listOf(x: string | string[]): string[] {
  return Array.isArray(x) ? x : [x];
}
