// The S3 engine as the core sees it (src/providers/engine.ts): buckets on `s3` connections and on
// `local-bucket` ones (folders that behave as buckets, src/providers/local-bucket). The clients
// and the providers load on connect only.
import type { BucketResource, Resource } from '../../plan/model.js';
import type { Engine } from '../engine.js';
import { diffBuckets } from './bucket-diff.js';
import { BUCKET_CONNECTION_TYPES, bucketPatternMessage } from './config.js';
import { bucketsToDesired } from './desired.js';
import { inspectBucket } from './inspect.js';
import { locateBucketDiagnostics } from './locate.js';
import { compilePolicy, readersOf } from './policy/index.js';
import { checkBucketRules } from './rules.js';

const isBucket = (r: Resource): r is BucketResource => r.kind === 'bucket';

export const s3Engine: Engine = {
  name: 'S3',
  connectionTypes: BUCKET_CONNECTION_TYPES,
  holds: 'buckets',
  async open(name, config, baseDir) {
    const { openBucketConnection } = await import('./connect.js');
    return openBucketConnection(name, config, baseDir);
  },
  checkRules: checkBucketRules,
  patternMessage(path, value) {
    const last = path[path.length - 1];
    const parent = path[path.length - 2];
    if (path[0] === 'buckets' && (last === 'name' || parent === 'folders'))
      return bucketPatternMessage(last === 'name' ? 'name' : 'folder', value);
    if (path[0] === 'connections' && (last === 'region' || last === 'endpoint' || last === 'accountId'))
      return bucketPatternMessage(last, value);
    return undefined;
  },
  toDesired(loaded, byConn) {
    for (const { connection, bucket } of bucketsToDesired(loaded)) byConn.get(connection)?.push(bucket);
  },
  // Buckets never depend on warehouse objects: the differ sees buckets only.
  differs: {
    bucket: (connection, desired, live) =>
      diffBuckets(connection, desired.filter(isBucket), live.filter(isBucket)),
  },
  locate: locateBucketDiagnostics,
  exportReaders(loaded, bucket, prefix) {
    const b = (loaded.config.buckets ?? []).find((x) => x.name === bucket);
    if (!b) return undefined;
    return readersOf(b.policy ? compilePolicy(b.name, b.policy) : null, bucket, prefix);
  },
  inspect: {
    sections: { bucket: 'buckets' },
    resource: (r) => (r.kind === 'bucket' ? inspectBucket(r) : undefined),
  },
};
