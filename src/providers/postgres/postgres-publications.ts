// A datashare on PostgreSQL (and the embedded warehouse) is a publication over the same
// objects: its tables (`ALTER PUBLICATION … ADD TABLE`) and, for a schema with `includeNew`,
// the whole schema (`ADD TABLES IN SCHEMA`, PostgreSQL 15+), which picks up tables created
// later just as INCLUDENEW does on Redshift. Consumers by account or namespace and public
// accessibility are Redshift-only (config rules refuse them here); subscribers connect to the
// publication by its name. This file assembles live publications and compiles changes. Pure.

import type { DatashareResource } from '../../plan/model.js';
import type { Change, FieldChange, Statement } from '../../plan/plan.js';
import { qualified } from '../grant-sql.js';
import { quoteIdent as qi } from '../sql-quote.js';

/** Publications, their effective tables, and their schemas (TABLES IN SCHEMA), as read. */
export function assemblePublications(
  names: readonly string[],
  tables: readonly [string, string, string][],
  schemas: readonly [string, string][],
): DatashareResource[] {
  const out = new Map<string, DatashareResource>();
  for (const name of names)
    out.set(name, {
      kind: 'datashare',
      name,
      publicAccessible: false,
      schemas: [],
      tables: [],
      includeNew: [],
      consumers: [],
    });
  for (const [pub, schema, table] of tables) out.get(pub)?.tables.push(`${schema}.${table}`);
  for (const [pub, schema] of schemas) out.get(pub)?.includeNew.push(schema);
  for (const d of out.values()) {
    d.tables.sort();
    d.includeNew.sort();
    d.schemas = [...new Set([...d.includeNew, ...d.tables.map(schemaOf)])].sort();
  }
  return [...out.values()];
}

const schemaOf = (t: string) => t.slice(0, t.indexOf('.'));
const s = (sql: string): Statement => ({ sql });

export function compilePublication(change: Change): Statement[] {
  const before = change.before as DatashareResource | null;
  const after = change.after as DatashareResource | null;
  switch (change.action) {
    case 'create':
      return createPublication(after!);
    case 'delete':
      return [s(`DROP PUBLICATION ${qi(before!.name)}`)];
    case 'replace':
      return [s(`DROP PUBLICATION ${qi(before!.name)}`), ...createPublication(after!)];
    case 'update':
      return updatePublication(before!, after!, change.fields);
    default:
      return [];
  }
}

function createPublication(d: DatashareResource): Statement[] {
  const n = qi(d.name);
  const out = [s(`CREATE PUBLICATION ${n}`)];
  if (d.includeNew.length)
    out.push(s(`ALTER PUBLICATION ${n} ADD TABLES IN SCHEMA ${d.includeNew.map(qi).join(', ')}`));
  const explicit = d.tables.filter((t) => !d.includeNew.includes(schemaOf(t)));
  if (explicit.length) out.push(s(`ALTER PUBLICATION ${n} ADD TABLE ${explicit.map(qualified).join(', ')}`));
  return out;
}

function updatePublication(
  before: DatashareResource,
  after: DatashareResource,
  fields: FieldChange[],
): Statement[] {
  const n = qi(after.name);
  const out: Statement[] = [];
  const gained = after.includeNew.filter((x) => !before.includeNew.includes(x));
  const lost = before.includeNew.filter((x) => !after.includeNew.includes(x));
  const field = (prefix: string, side: 'before' | 'after') =>
    fields
      .filter(
        (f) =>
          f.path.startsWith(prefix) && f[side] !== null && f[side === 'before' ? 'after' : 'before'] === null,
      )
      .map((f) => String(f[side]));
  // PostgreSQL refuses a table listed on its own when its whole schema is in the publication:
  // explicit tables of a schema that becomes whole leave first.
  const explicitBefore = before.tables.filter((t) => !before.includeNew.includes(schemaOf(t)));
  const leaving = [
    ...field('tables.', 'before').filter((t) => !before.includeNew.includes(schemaOf(t))),
    ...explicitBefore.filter((t) => gained.includes(schemaOf(t))),
  ];
  const uniqueLeaving = [...new Set(leaving)].filter((t) => before.tables.includes(t));
  if (uniqueLeaving.length)
    out.push(s(`ALTER PUBLICATION ${n} DROP TABLE ${uniqueLeaving.map(qualified).join(', ')}`));
  if (lost.length) out.push(s(`ALTER PUBLICATION ${n} DROP TABLES IN SCHEMA ${lost.map(qi).join(', ')}`));
  if (gained.length) out.push(s(`ALTER PUBLICATION ${n} ADD TABLES IN SCHEMA ${gained.map(qi).join(', ')}`));
  // Tables to list on their own: new ones outside whole schemas, and the declared ones of a
  // schema that stops being whole.
  const explicitAfter = after.tables.filter((t) => !after.includeNew.includes(schemaOf(t)));
  const adding = explicitAfter.filter(
    (t) => !before.tables.includes(t) || lost.includes(schemaOf(t)) || uniqueLeaving.includes(t),
  );
  const stillLeaving = new Set(field('tables.', 'before'));
  const toAdd = adding.filter((t) => !stillLeaving.has(t));
  if (toAdd.length) out.push(s(`ALTER PUBLICATION ${n} ADD TABLE ${toAdd.map(qualified).join(', ')}`));
  return out;
}
