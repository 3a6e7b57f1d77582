// Bucket connections (s3, local-bucket) -> ready providers: the S3 engine's open (engine.ts)
// loads this module on the first connect. The only place an S3 client is constructed. Credentials come from the standard AWS chain
// (environment, shared config and credentials files, SSO, instance or container roles), or
// from the connection's `profile` and `roleArn` (aws-credentials.ts); the file never holds them. The SDK is loaded only when an s3 connection is opened.
import path from 'node:path';
import type { ConnectionConfig } from '../../config/types.js';
import { awsIdentity } from '../aws-credentials.js';
import { AWS_TIMEOUTS, noRegionError, watchAwsErrors } from '../aws-errors.js';
import type { OpenedConnection } from '../connect.js';
import { LocalBucketProvider } from '../local-bucket/local-bucket-provider.js';
import { LocalObjectStore } from '../local-bucket/objects.js';

export async function openBucketConnection(
  name: string,
  config: ConnectionConfig,
  baseDir: string,
): Promise<OpenedConnection> {
  if (config.type === 'local-bucket') {
    const dir = path.resolve(baseDir, config.dir ?? '.wharf/buckets');
    const provider = new LocalBucketProvider(dir);
    return {
      name,
      config,
      provider,
      objects: new LocalObjectStore(dir),
      description: `local buckets in ${path.relative(process.cwd(), dir) || '.'} (settings recorded, not enforced)`,
      close: () => provider.close(),
    };
  }
  // The SDK warns on every run under Node 20 that its releases after January 2027 will need
  // Node 22: news for whoever upgrades wharf's dependencies, not for someone running a plan.
  if (!process.env.WHARF_DEBUG) process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const [sdk, { S3Provider }, { S3ObjectStore }] = await Promise.all([
    import('@aws-sdk/client-s3'),
    import('./s3-provider.js'),
    import('./objects.js'),
  ]);
  const { S3Client } = sdk;
  const client = new S3Client({
    ...(await awsIdentity(config, config.region)),
    ...(config.region ? { region: config.region } : {}),
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(config.forcePathStyle !== undefined ? { forcePathStyle: config.forcePathStyle } : {}),
    // S3-compatible servers often reject the newer default checksums on control calls.
    ...(config.endpoint ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const } : {}),
    requestHandler: AWS_TIMEOUTS,
  });
  watchAwsErrors(client, name, 's3');
  let region: string;
  try {
    region = config.region ?? (await client.config.region());
  } catch (e) {
    client.destroy();
    throw noRegionError(name, e);
  }
  const server = config.endpoint ? `S3-compatible server at ${config.endpoint}` : `S3 ${region}`;
  const provider = new S3Provider(client, { region, server });
  return {
    name,
    config,
    provider,
    objects: new S3ObjectStore(client, sdk),
    description: server,
    close: async () => {
      client.destroy();
    },
  };
}
