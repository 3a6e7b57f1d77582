// Resource ids and addresses. An id is unique within one connection; an address is
// `<connection>.<kind>:<id>`, unique within a plan, and is what users see and type.
import type { Resource } from './model.js';

export function resourceId(r: Resource): string {
  switch (r.kind) {
    case 'schema':
      return r.name;
    case 'table':
      return `${r.schema}.${r.name}`;
    case 'role':
      return r.name;
    case 'grant':
      return `${r.objectType}:${r.object}/${r.grantee}`;
    case 'default_privileges':
      return `${r.forRole}/${r.schema ?? '*'}/${r.objectType}/${r.grantee}`;
    case 'bucket':
      return r.name;
    case 'datashare':
      return r.name;
    default:
      return assertNever(r);
  }
}

export function address(connection: string, r: Resource): string {
  return `${connection}.${r.kind}:${resourceId(r)}`;
}

export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`);
}
