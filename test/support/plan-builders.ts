// Builders of planner inputs shared by the pure planner tests: the engine's privilege lists
// and a schema resource.
import type { Capabilities } from '../../src/plan/diff.js';
import type { SchemaResource } from '../../src/plan/model.js';

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
