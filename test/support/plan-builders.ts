// Builders of planner inputs shared by the pure planner tests: the engine's privilege lists
// and schema, table, role and grant resources, and a plan of one connection `w`.
import { type BuildInput, buildPlan, type ConnectionInput } from '../../src/plan/build.js';
import type { Capabilities } from '../../src/plan/diff.js';
import type {
  ColumnSpec,
  GrantResource,
  Resource,
  RoleResource,
  SchemaResource,
  TableResource,
} from '../../src/plan/model.js';
import type { Plan } from '../../src/plan/plan.js';

export const CAPS: Capabilities = {
  allPrivileges: {
    schema: ['usage', 'create'],
    table: ['select', 'insert', 'update', 'delete', 'truncate', 'references', 'trigger'],
  },
};

export const schema = (name: string, extra: Partial<SchemaResource> = {}): SchemaResource => ({
  kind: 'schema',
  name,
  owner: null,
  ...extra,
});

export const role = (name: string, extra: Partial<RoleResource> = {}): RoleResource => ({
  kind: 'role',
  name,
  login: false,
  memberOf: [],
  passwordRef: null,
  ...extra,
});

/** A grant on a schema (`s`) or a table (`s.t`). */
export const grant = (object: string, grantee: string, privileges: string[]): GrantResource => ({
  kind: 'grant',
  objectType: object.includes('.') ? 'table' : 'schema',
  object,
  grantee,
  privileges,
});

/** A table `s.t` (by default one nullable bigint column `id`). */
export const table = (
  id: string,
  columns: ColumnSpec[] = [{ name: 'id', type: 'bigint', nullable: true, default: null }],
  extra: Partial<TableResource> = {},
): TableResource => {
  const [s, n] = id.split('.') as [string, string];
  return {
    kind: 'table',
    schema: s,
    name: n,
    owner: null,
    columns,
    primaryKey: null,
    partition: null,
    comment: null,
    ...extra,
  };
};

/** The plan of one PostgreSQL connection `w`; each change compiles to one comment naming it. */
export function planOf(
  desired: Resource[],
  live: Resource[],
  connection: Partial<ConnectionInput> = {},
  input: Partial<BuildInput> = {},
): Plan {
  return buildPlan({
    configFile: 'wharf.yaml',
    baseDir: '/project',
    now: new Date('2026-11-23T00:00:00Z'),
    diagnostics: [],
    connections: [
      {
        name: 'w',
        type: 'postgres',
        spec: { type: 'postgres' },
        scope: { schemas: [], roles: [] },
        desired,
        live,
        capabilities: CAPS,
        server: 'PostgreSQL 18',
        compile: (c) => [{ sql: `-- ${c.action} ${c.address}` }],
        ...connection,
      },
    ],
    ...input,
  });
}
