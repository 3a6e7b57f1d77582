// Semantic rules for `buckets:` and the bucket connection types: which connection a bucket
// lives on, duplicate names, folder syntax, keys that belong to another connection type, and
// the bucket-policy lint that needs no live state (public or account-wide principals, write
// actions in read-only statements, no secure-transport deny), plus warnings for block public
// access turned off and ACLs enabled. Every problem points at its YAML path. The S3 engine's
// checkRules (engine.ts): src/config/rules.ts runs it with every engine's rules.

import type { Locator, YamlPath } from '../../config/load.js';
import { formatPath } from '../../config/load.js';
import type { ConnectionConfig, WharfConfig } from '../../config/types.js';
import type { Diagnostic } from '../../plan/plan.js';
import { bucketNameProblem, isBucketConnectionType } from './config.js';
import { compiledSids, lintPolicy, type PolicyStatementConfig } from './policy/index.js';

const KEYS_BY_TYPE: Record<string, readonly (keyof ConnectionConfig)[]> = {
  s3: ['region', 'endpoint', 'forcePathStyle', 'accountId'],
  'local-bucket': ['dir'],
};

/** Keys another connection type takes too (a Redshift connection has a region as well). */
const ALSO_ON: Partial<Record<keyof ConnectionConfig, readonly string[]>> = {
  region: ['redshift'],
  endpoint: ['redshift'],
};

/** The connection a bucket belongs to: its own, else the file's only bucket connection. */
export function bucketConnectionOf(
  explicit: string | undefined,
  connections: Record<string, ConnectionConfig>,
): string | undefined {
  if (explicit !== undefined) return explicit;
  const names = Object.entries(connections)
    .filter(([, c]) => isBucketConnectionType(c.type))
    .map(([n]) => n);
  return names.length === 1 ? names[0] : undefined;
}

/** Folder markers end with one slash: `events` and `events/` are the same folder. */
export function normalizeFolder(folder: string): string {
  return folder.endsWith('/') ? folder : `${folder}/`;
}

export function checkBucketRules(
  config: WharfConfig,
  connections: Record<string, ConnectionConfig>,
  defaultConnection: string,
  loc: Locator,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const add = (severity: 'error' | 'warning', path: YamlPath, code: string, message: string) => {
    const at = loc.at(path);
    out.push({ severity, code, message, line: at.line, col: at.col, path: formatPath(path) });
  };
  const err = (path: YamlPath, code: string, message: string) => add('error', path, code, message);
  const warn = (path: YamlPath, code: string, message: string) => add('warning', path, code, message);

  for (const [name, c] of Object.entries(connections)) {
    for (const [type, keys] of Object.entries(KEYS_BY_TYPE)) {
      if (c.type === type) continue;
      for (const k of keys) {
        if (c[k] !== undefined && !ALSO_ON[k]?.includes(c.type))
          err(
            ['connections', name, k],
            'connection',
            `connection ${name}: "${k}" applies to type ${type} only`,
          );
      }
    }
    if (isBucketConnectionType(c.type)) {
      for (const k of ['url', 'database'] as const) {
        if (c[k] !== undefined)
          err(['connections', name, k], 'connection', `connection ${name}: type ${c.type} takes no "${k}"`);
      }
    }
  }
  // Warehouse objects cannot live on a bucket connection.
  const onBucketConnection = (explicit: string | undefined) => {
    const n = explicit ?? defaultConnection;
    const c = n ? connections[n] : undefined;
    return c && isBucketConnectionType(c.type) ? n : undefined;
  };
  for (const section of ['schemas', 'roles'] as const) {
    (config[section] ?? []).forEach((r, i) => {
      const n = onBucketConnection(r.connection);
      if (n)
        err(
          [section, i, ...(r.connection ? ['connection'] : [])],
          'connection',
          `${section.slice(0, -1)} ${r.name}: connection ${n} holds buckets, not warehouse objects; name a warehouse connection`,
        );
    });
  }

  const seen = new Map<string, number>();
  (config.buckets ?? []).forEach((b, i) => {
    const p: YamlPath = ['buckets', i];
    const conn = bucketConnectionOf(b.connection, connections);
    if (conn === undefined) {
      const bucketConns = Object.keys(connections).filter((n) =>
        isBucketConnectionType(connections[n]!.type),
      );
      err(
        p,
        'connection',
        bucketConns.length === 0
          ? `bucket ${b.name}: no bucket connection is declared; add one with type s3 or local-bucket`
          : `bucket ${b.name}: several bucket connections are declared (${bucketConns.join(', ')}); name one with "connection"`,
      );
    } else if (!connections[conn]) {
      err([...p, 'connection'], 'unknown-reference', `connection: no connection named "${conn}"`);
    } else if (!isBucketConnectionType(connections[conn].type)) {
      err(
        [...p, 'connection'],
        'connection',
        `bucket ${b.name}: connection ${conn} is a ${connections[conn].type} warehouse; buckets need type s3 or local-bucket`,
      );
    }
    const nameProblem = bucketNameProblem(b.name);
    if (nameProblem)
      err([...p, 'name'], 'bucket-name', `invalid bucket name ${JSON.stringify(b.name)}: ${nameProblem}`);
    const key = `${conn}/${b.name}`;
    if (seen.has(key))
      err(
        [...p, 'name'],
        'duplicate-name',
        `bucket "${b.name}" is declared twice (first at buckets[${seen.get(key)}])`,
      );
    else seen.set(key, i);

    const folders = new Map<string, number>();
    (b.folders ?? []).forEach((f, j) => {
      const fp: YamlPath = [...p, 'folders', j];
      if (f.includes('//')) err(fp, 'folder', `bucket ${b.name}: folder "${f}" has an empty segment (//)`);
      const n = normalizeFolder(f);
      if (folders.has(n))
        err(
          fp,
          'duplicate-name',
          `bucket ${b.name}: folder "${n}" is listed twice (first at folders[${folders.get(n)}])`,
        );
      else folders.set(n, j);
    });
    if (b.encryption?.type === 'sse-s3' && 'kmsKeyId' in b.encryption)
      err(
        [...p, 'encryption', 'kmsKeyId'],
        'encryption',
        `bucket ${b.name}: kmsKeyId applies to type sse-kms only`,
      );

    const bpa = b.blockPublicAccess;
    const off =
      bpa === false
        ? ['all four flags']
        : typeof bpa === 'object'
          ? Object.entries(bpa)
              .filter(([, v]) => v === false)
              .map(([k]) => k)
          : [];
    if (off.length > 0)
      warn(
        [...p, 'blockPublicAccess'],
        'block-public-access-off',
        `bucket ${b.name}: block public access is off (${off.join(', ')}); a policy or ACL mistake can then expose the data`,
      );
    if (b.objectOwnership !== undefined && b.objectOwnership !== 'BucketOwnerEnforced')
      warn(
        [...p, 'objectOwnership'],
        'acls-enabled',
        `bucket ${b.name}: objectOwnership ${b.objectOwnership} keeps ACLs enabled; the vendors recommend BucketOwnerEnforced (ACLs disabled)`,
      );

    if (b.policy) {
      const owned = ownedSidsText(b.name, b.policy.statements);
      if (owned.length > 256)
        err(
          [...p, 'policy', 'statements'],
          'policy',
          `bucket ${b.name}: the statements' Sids take ${owned.length} characters; wharf records them in a bucket tag of at most 256: use shorter Sids`,
        );
      const sidIndex = new Map(b.policy.statements.map((s, j) => [s.sid, j]));
      const accountId = conn !== undefined ? connections[conn]?.accountId : undefined;
      for (const d of lintPolicy(b.name, b.policy.statements, accountId ? { accountId } : {})) {
        const j = d.sid !== undefined ? sidIndex.get(d.sid) : undefined;
        add(
          d.severity,
          j !== undefined ? [...p, 'policy', 'statements', j] : [...p, 'policy'],
          d.code,
          `bucket ${b.name}: ${d.message}`,
        );
      }
    }
  });
  return out;
}

/** The ownership tag's value for these statements (statements that do not compile count as their Sid). */
function ownedSidsText(bucket: string, statements: readonly PolicyStatementConfig[]): string {
  const sids = statements.flatMap((st) => {
    try {
      return compiledSids(bucket, st);
    } catch {
      return [st.sid];
    }
  });
  return sids.join(' ');
}
