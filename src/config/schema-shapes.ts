// The keys of every object in the JSON Schema (schemas/wharf.schema.json), next to the TypeScript
// type the loader hands out for it, so the two cannot drift apart unnoticed. Each list
// `satisfies` the exact shape of its type: a key the type lacks, a key it has that is missing
// here, or a required key marked optional (or the reverse) fails `npm run typecheck`. The
// schema-shapes test walks the schema and fails when its objects differ from these lists.
// Nothing at run time reads this file.

import type { ExportSyncConfig, SyncConfig } from '../sync/config.js';
import type {
  BlockPublicAccessConfig,
  BucketConfig,
  ColumnConfig,
  ConnectionConfig,
  DatashareConfig,
  DatashareConsumerConfig,
  DatashareSchemaConfig,
  DefaultPrivilegeConfig,
  GrantConfig,
  PolicyResourceConfig,
  RoleConfig,
  SchemaConfig,
  TableConfig,
  WharfConfig,
} from './types.js';

type Presence = 'required' | 'optional';

/** Every key of every member of a union. */
type KeysOf<T> = T extends unknown ? keyof T : never;

/** `required` when every member of T that has P requires it, else `optional`. */
type PresenceIn<T, P extends PropertyKey> = [
  T extends unknown
    ? P extends keyof T
      ? Record<never, never> extends Pick<T, P>
        ? 'optional'
        : 'required'
      : 'optional'
    : never,
] extends ['required']
  ? 'required'
  : 'optional';

/** Each key of T with its presence: an object literal checked against it lists exactly T's keys. */
export type Shape<T> = { [P in KeysOf<T>]-?: PresenceIn<T, P> };

type Obj<T> = Exclude<NonNullable<T>, string | boolean | number | unknown[]>;
type Item<T> = NonNullable<T> extends readonly (infer I)[] ? I : never;

/**
 * Keyed by where the object sits in the schema: a definition's name, `.key` for a property,
 * `[]` for array items, `|n` for the n-th alternative of an anyOf/oneOf.
 */
export const SCHEMA_SHAPES: Record<string, Record<string, Presence>> = {
  root: {
    version: 'required',
    defaultConnection: 'optional',
    connections: 'optional',
    schemas: 'optional',
    tables: 'optional',
    roles: 'optional',
    grants: 'optional',
    defaultPrivileges: 'optional',
    syncs: 'optional',
    buckets: 'optional',
    datashares: 'optional',
  } satisfies Shape<WharfConfig>,
  connection: {
    type: 'required',
    url: 'optional',
    dataDir: 'optional',
    database: 'optional',
    region: 'optional',
    endpoint: 'optional',
    forcePathStyle: 'optional',
    accountId: 'optional',
    dir: 'optional',
    cluster: 'optional',
    workgroup: 'optional',
    secretArn: 'optional',
    dbUser: 'optional',
    iamRole: 'optional',
    profile: 'optional',
    roleArn: 'optional',
    externalId: 'optional',
    sessionName: 'optional',
  } satisfies Shape<ConnectionConfig>,
  schema: {
    name: 'required',
    connection: 'optional',
    owner: 'optional',
    prune: 'optional',
  } satisfies Shape<SchemaConfig>,
  column: {
    name: 'required',
    type: 'required',
    nullable: 'optional',
    default: 'optional',
    encode: 'optional',
  } satisfies Shape<ColumnConfig>,
  table: {
    schema: 'required',
    name: 'required',
    columns: 'required',
    kind: 'optional',
    owner: 'optional',
    comment: 'optional',
    primaryKey: 'optional',
    partition: 'optional',
    distribution: 'optional',
    sortKey: 'optional',
  } satisfies Shape<TableConfig>,
  'table.partition': {
    by: 'required',
    granularity: 'required',
    ahead: 'optional',
    from: 'optional',
  } satisfies Shape<Obj<TableConfig['partition']>>,
  'table.distribution': {
    style: 'required',
    key: 'optional',
  } satisfies Shape<Obj<TableConfig['distribution']>>,
  'table.sortKey|1': {
    type: 'optional',
    columns: 'required',
  } satisfies Shape<Obj<TableConfig['sortKey']>>,
  role: {
    name: 'required',
    connection: 'optional',
    type: 'optional',
    password: 'optional',
    memberOf: 'optional',
  } satisfies Shape<RoleConfig>,
  grant: {
    to: 'required',
    privileges: 'required',
    schema: 'optional',
    tables: 'optional',
    allTablesInSchema: 'optional',
  } satisfies Shape<GrantConfig>,
  defaultPrivilege: {
    forRole: 'required',
    schema: 'optional',
    on: 'optional',
    privileges: 'required',
    to: 'required',
  } satisfies Shape<DefaultPrivilegeConfig>,
  sync: {
    name: 'required',
    from: 'required',
    to: 'required',
    mode: 'required',
    primaryKey: 'optional',
    cursor: 'optional',
    cdc: 'optional',
    batchRows: 'optional',
    ready: 'optional',
  } satisfies Shape<SyncConfig & Pick<ExportSyncConfig, 'ready'>>,
  'sync.from': {
    connection: 'optional',
    table: 'optional',
    query: 'optional',
  } satisfies Shape<SyncConfig['from']>,
  'sync.to': {
    connection: 'optional',
    table: 'optional',
    bucket: 'optional',
    prefix: 'optional',
    format: 'optional',
    compression: 'optional',
    partition: 'optional',
    conventions: 'optional',
    fileRows: 'optional',
  } satisfies Shape<Partial<SyncConfig['to']> & Partial<ExportSyncConfig['to']>>,
  'sync.to.partition': {
    by: 'required',
    granularity: 'optional',
    timeZone: 'optional',
    style: 'optional',
  } satisfies Shape<Obj<ExportSyncConfig['to']['partition']>>,
  'sync.ready': {
    prefix: 'required',
    column: 'optional',
    after: 'optional',
  } satisfies Shape<Obj<ExportSyncConfig['ready']>>,
  'sync.cursor': {
    column: 'required',
    lookback: 'optional',
  } satisfies Shape<Obj<SyncConfig['cursor']>>,
  'sync.cdc': {
    op: 'required',
    sequence: 'required',
    insert: 'optional',
    update: 'optional',
    delete: 'optional',
  } satisfies Shape<Obj<SyncConfig['cdc']>>,
  datashare: {
    name: 'required',
    connection: 'optional',
    publicAccessible: 'optional',
    schemas: 'optional',
    tables: 'optional',
    allTablesInSchema: 'optional',
    consumers: 'optional',
  } satisfies Shape<DatashareConfig>,
  'datashare.schemas[]|1': {
    name: 'required',
    includeNew: 'optional',
  } satisfies Shape<Obj<DatashareSchemaConfig>>,
  'datashare.consumers[]|0': {
    account: 'required',
    viaDataCatalog: 'optional',
  } satisfies Shape<Extract<DatashareConsumerConfig, { account: string }>>,
  'datashare.consumers[]|1': {
    namespace: 'required',
  } satisfies Shape<Extract<DatashareConsumerConfig, { namespace: string }>>,
  bucket: {
    name: 'required',
    connection: 'optional',
    create: 'optional',
    blockPublicAccess: 'optional',
    objectOwnership: 'optional',
    encryption: 'optional',
    folders: 'optional',
    policy: 'optional',
  } satisfies Shape<BucketConfig>,
  'bucket.blockPublicAccess|1': {
    blockPublicAcls: 'optional',
    ignorePublicAcls: 'optional',
    blockPublicPolicy: 'optional',
    restrictPublicBuckets: 'optional',
  } satisfies Shape<BlockPublicAccessConfig> satisfies Shape<Obj<BucketConfig['blockPublicAccess']>>,
  'bucket.encryption': {
    type: 'required',
    kmsKeyId: 'optional',
  } satisfies Shape<Obj<BucketConfig['encryption']>>,
  'bucket.policy': {
    exclusive: 'optional',
    statements: 'required',
  } satisfies Shape<Obj<BucketConfig['policy']>>,
  bucketStatement: {
    sid: 'required',
    effect: 'optional',
    principals: 'required',
    actions: 'required',
    resources: 'required',
    conditions: 'optional',
    readOnly: 'optional',
  } satisfies Shape<Item<Obj<BucketConfig['policy']>['statements']>>,
  'bucketStatement.resources[]|1': {
    prefix: 'required',
  } satisfies Shape<Obj<PolicyResourceConfig>>,
};
