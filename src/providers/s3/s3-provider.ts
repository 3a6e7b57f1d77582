// The S3 provider: buckets on AWS S3 or an S3-compatible server, through the S3Client passed
// in. Reads with s3-reader, compiles with s3-compile, and executes a change's API calls in
// order (S3 has no transactions: a failed call stops the change, and a new plan shows what is
// left). S3 has no lock primitive either; apply's stale-plan check still refuses a plan whose
// buckets moved since it was made.
import {
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  DeleteBucketTaggingCommand,
  PutBucketEncryptionCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
} from '@aws-sdk/client-s3';
import type { Change, Statement } from '../../plan/plan.js';
import { AwsError } from '../aws-errors.js';
import type { LiveSnapshot, LockHandle, Provider, ReadScope } from '../provider.js';
import { compileBucketChange } from './s3-compile.js';
import { ApiCallError, NO_PRIVILEGES } from './s3-errors.js';
import { readS3Buckets, type S3Like } from './s3-reader.js';

const COMMANDS: Record<string, new (input: never) => unknown> = {
  CreateBucket: CreateBucketCommand,
  DeleteBucketPolicy: DeleteBucketPolicyCommand,
  DeleteBucketTagging: DeleteBucketTaggingCommand,
  PutBucketEncryption: PutBucketEncryptionCommand,
  PutBucketOwnershipControls: PutBucketOwnershipControlsCommand,
  PutBucketPolicy: PutBucketPolicyCommand,
  PutBucketTagging: PutBucketTaggingCommand,
  PutObject: PutObjectCommand,
  PutPublicAccessBlock: PutPublicAccessBlockCommand,
};

export interface S3ProviderOptions {
  region?: string;
  /** Shown in the plan, e.g. `S3 eu-west-1` or `S3-compatible server at http://127.0.0.1:4569`. */
  server: string;
}

export class S3Provider implements Provider {
  readonly type = 's3';

  constructor(
    private readonly client: S3Like,
    private readonly options: S3ProviderOptions,
  ) {}

  async read(scope: ReadScope): Promise<LiveSnapshot> {
    const { buckets, roundTrips } = await readS3Buckets(this.client, scope.buckets ?? [], scope.folders);
    return {
      resources: buckets,
      capabilities: NO_PRIVILEGES,
      roundTrips,
      serverVersion: this.options.server,
    };
  }

  compile(change: Change): Statement[] {
    return compileBucketChange(change, {
      enforced: true,
      ...(this.options.region ? { region: this.options.region } : {}),
    });
  }

  async execute(change: Change): Promise<void> {
    for (const st of change.statements) await runApiCall(this.client, st);
  }

  async lock(): Promise<LockHandle> {
    return { release: async () => {} };
  }

  async close(): Promise<void> {}
}

export async function runApiCall(client: S3Like, st: Statement): Promise<void> {
  if (!st.api) throw new ApiCallError('an S3 connection runs API calls only, not SQL', st.sql);
  const Command = COMMANDS[st.api.operation];
  if (!Command) throw new ApiCallError(`unsupported S3 operation ${st.api.operation}`, st.sql);
  try {
    await client.send(new Command(withContentLength(st.api.operation, st.api.input) as never));
  } catch (e) {
    const err = e as Error & { $metadata?: { httpStatusCode?: number } };
    const status = err.$metadata?.httpStatusCode;
    const message =
      e instanceof AwsError
        ? e.message
        : `s3:${st.api.operation} failed: ${err.name}${err.message && err.message !== err.name ? `: ${err.message}` : ''}`;
    throw new ApiCallError(message, st.sql, status ? `HTTP ${status}` : undefined);
  }
}

/**
 * A PutObject with a string body carries its length: the SDK sets Content-Length only for a
 * non-empty body, and warns ("Stream of unknown length") for a folder marker's empty one.
 */
function withContentLength(operation: string, input: Record<string, unknown>): Record<string, unknown> {
  if (operation !== 'PutObject' || typeof input.Body !== 'string' || input.ContentLength !== undefined)
    return input;
  return { ...input, ContentLength: Buffer.byteLength(input.Body) };
}
