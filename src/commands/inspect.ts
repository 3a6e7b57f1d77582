// `wharf inspect` as a library function: read the live state of the file's connections with
// the same provider read as `plan` (same round trips), turn it into a wharf file (inspect-map.ts,
// inspect-yaml.ts), and check that file against the very state it came from: what it would
// still plan is reported with the rest of what the file cannot say. Writes nothing itself.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadConfigText } from '../config/load.js';
import { toDesired } from '../config/to-desired.js';
import type { LoadedConfig } from '../config/types.js';
import { diff } from '../plan/diff.js';
import { foldIdent } from '../plan/normalize.js';
import { type OpenedConnection, openConnection } from '../providers/connect.js';
import { engineFor } from '../providers/engine.js';
import type { LiveSnapshot } from '../providers/provider.js';
import { type Entry, type InspectNote, inspectWarehouse } from './inspect-map.js';
import { renderInspected } from './inspect-yaml.js';

export interface InspectOptions {
  /** Connections of the file to read (default: every connection of the file). */
  connections?: string[];
  schemas: string[];
  roles: string[];
  buckets: string[];
  /** Where the file will be written (relative paths of the connections are rewritten for it). */
  outFile?: string;
  now?: Date;
  open?: typeof openConnection;
}

export interface InspectResult {
  text: string;
  notes: InspectNote[];
  /** Round trips of each connection's read (the same read as plan's). */
  roundTrips: Record<string, number>;
  /** Addresses the written file would still change when planned against the same state. */
  residual: string[];
  /** Environment variables the file's password references name. */
  passwordEnv: string[];
}

export async function inspectConfig(loaded: LoadedConfig, options: InspectOptions): Promise<InspectResult> {
  const now = options.now ?? new Date();
  const open = options.open ?? openConnection;
  const names = options.connections?.length ? options.connections : Object.keys(loaded.connections);
  for (const n of names)
    if (!loaded.connections[n])
      throw new Error(
        `connection ${n} is not declared in ${loaded.file} (it declares ${Object.keys(loaded.connections).join(', ')})`,
      );
  const sections = {
    schemas: [] as Entry<Record<string, unknown>>[],
    tables: [] as Entry<Record<string, unknown>>[],
    roles: [] as Entry<Record<string, unknown>>[],
    grants: [] as Entry<Record<string, unknown>>[],
    defaultPrivileges: [] as Entry<Record<string, unknown>>[],
    datashares: [] as Entry<Record<string, unknown>>[],
    buckets: [] as Entry<Record<string, unknown>>[],
  };
  const notes: InspectNote[] = [];
  const roundTrips: Record<string, number> = {};
  const passwordEnv: string[] = [];
  const snapshots = new Map<string, LiveSnapshot>();
  const opened: OpenedConnection[] = [];
  const warehouses = names.filter((n) => engineFor(loaded.connections[n]!.type)?.holds === 'warehouse');
  const bucketConns = names.filter((n) => engineFor(loaded.connections[n]!.type)?.holds === 'buckets');
  const asking = (what: string, given: number, conns: string[], kind: string) => {
    if (given > 0 && conns.length === 0)
      throw new Error(
        `${what} names objects of a ${kind} connection, and none of ${names.join(', ')} is one`,
      );
  };
  asking('--schema/--role', options.schemas.length + options.roles.length, warehouses, 'warehouse');
  asking('--bucket', options.buckets.length, bucketConns, 'bucket');
  try {
    for (const name of [...warehouses, ...bucketConns]) {
      const cfg = loaded.connections[name]!;
      const isBuckets = bucketConns.includes(name);
      if (isBuckets && options.buckets.length === 0) continue;
      if (!isBuckets && options.schemas.length === 0 && options.roles.length === 0) continue;
      const conn = await open(name, cfg, loaded.baseDir);
      opened.push(conn);
      const asked = (xs: string[]) => [...new Set([...xs, ...xs.map(foldIdent)])].sort();
      const snap = await conn.provider.read(
        isBuckets
          ? { schemas: [], roles: [], buckets: [...options.buckets].sort(), folders: {} }
          : { schemas: asked(options.schemas), roles: asked(options.roles) },
      );
      snapshots.set(name, snap);
      roundTrips[name] = snap.roundTrips;
      if (isBuckets) {
        const inspectResource = engineFor(cfg.type)?.inspect?.resource;
        const live = new Map(
          snap.resources.flatMap((r) => (r.kind === 'bucket' ? [[r.name, r] as const] : [])),
        );
        for (const b of [...options.buckets].sort()) {
          const r = live.get(b);
          const got = r ? inspectResource?.(r) : undefined;
          if (!got) {
            notes.push({ object: `bucket ${b}`, reason: `not found on connection ${name}` });
            continue;
          }
          const value =
            bucketConns.length > 1 ? { name: got.entry.name, connection: name, ...got.entry } : got.entry;
          sections.buckets.push({ value });
          notes.push(...got.notes);
        }
        continue;
      }
      const normalizeType = engineFor(cfg.type)?.inspect?.normalizeType;
      const got = inspectWarehouse(snap.resources, {
        connection: name,
        schemas: options.schemas,
        roles: options.roles,
        connectingRoles: snap.connectingRoles ?? [],
        now,
        ...(normalizeType ? { normalizeType } : {}),
      });
      const several = warehouses.length > 1;
      for (const key of Object.keys(sections) as (keyof typeof sections)[]) {
        if (key === 'buckets') continue;
        for (const e of got[key]) {
          if (several && (key === 'schemas' || key === 'roles' || key === 'datashares'))
            e.value = { name: e.value.name, connection: name, ...e.value };
          sections[key].push(e);
        }
      }
      notes.push(...got.notes);
      passwordEnv.push(...got.passwordEnv);
    }
  } finally {
    for (const c of opened) await c.close().catch(() => {});
  }

  const used = [...snapshots.keys()];
  const outFile = options.outFile ? path.resolve(options.outFile) : path.resolve('wharf.yaml');
  const doc = {
    schemaRef: schemaRef(outFile),
    header: [
      `Written by wharf inspect from ${used.map((n) => `connection ${n} (${loaded.connections[n]!.type})`).join(', ') || 'no connection'}, ${now.toISOString()}.`,
      'Planned against the state it was read from, this file changes nothing.',
    ],
    connections: Object.fromEntries(used.map((n) => [n, connectionSource(loaded, n, outFile)])),
    ...(used.length > 1 && warehouses.length > 0 && used.includes(warehouses[0]!)
      ? { defaultConnection: warehouses[0]! }
      : {}),
    sections: Object.entries(sections) as [string, Entry<Record<string, unknown>>[]][],
    notes,
  };
  let text = renderInspected(doc);
  // The check: the written file, planned against the state it came from.
  const residual = checkResidual(text, outFile, snapshots, now);
  if (residual.length > 0) {
    doc.notes = [
      ...notes,
      ...residual.map((r) => ({
        object: r,
        reason: 'the file cannot say what the live state holds: plan would change it',
      })),
    ];
    doc.header = [
      doc.header[0]!,
      'Planned against the state it was read from, this file still changes what the notes below name.',
    ];
    text = renderInspected(doc);
  }
  return { text, notes: doc.notes, roundTrips, residual, passwordEnv };
}

/** The file's own connection entry, as written (its `${env:...}` references kept). */
function connectionSource(loaded: LoadedConfig, name: string, outFile: string): Record<string, unknown> {
  let raw: Record<string, unknown> | undefined;
  try {
    const text = readFileSync(loaded.file, 'utf8');
    const data = parseYaml(text) as { connections?: Record<string, Record<string, unknown>> } | null;
    raw = data?.connections?.[name];
  } catch {
    raw = undefined;
  }
  const out: Record<string, unknown> = {
    ...(raw ?? (loaded.connections[name] as unknown as Record<string, unknown>)),
  };
  // Folders of local connections are relative to the file: keep them pointing at the same place.
  const defaults: Record<string, [string, string]> = {
    local: ['dataDir', '.wharf/local'],
    'local-bucket': ['dir', '.wharf/buckets'],
  };
  const d = defaults[String(out.type)];
  if (d) {
    const [key, def] = d;
    const abs = path.resolve(loaded.baseDir, String(out[key] ?? def));
    const rel = path.relative(path.dirname(outFile), abs) || '.';
    if (rel !== def) out[key] = rel.split(path.sep).join('/');
  }
  return out;
}

/** The editor's schema line: the installed package's schemas/wharf.schema.json, relative to the file. */
function schemaRef(outFile: string): string {
  const schema = new URL('../../schemas/wharf.schema.json', import.meta.url).pathname;
  const rel = path.relative(path.dirname(outFile), schema).split(path.sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

function checkResidual(
  text: string,
  outFile: string,
  snapshots: Map<string, LiveSnapshot>,
  now: Date,
): string[] {
  const { loaded, diagnostics } = loadConfigText(text, outFile);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (!loaded || errors.length > 0)
    return errors.map((d) => `${d.path ?? ''} ${d.message}`.trim()).slice(0, 20);
  const desired = toDesired(loaded, now);
  const out: string[] = [];
  for (const [name, snap] of snapshots) {
    const result = diff({
      connection: name,
      desired: desired.get(name) ?? [],
      live: snap.resources,
      capabilities: snap.capabilities,
    });
    out.push(...result.changes.map((c) => `${c.address} (${c.action})`));
    out.push(...(result.diagnostics ?? []).filter((d) => d.severity === 'error').map((d) => d.message));
  }
  return out;
}
