// The embedded bucket store for newcomers: each bucket is a folder `<dir>/<name>/` holding
// objects as files (a folder marker `events/` is a directory), and the bucket settings S3
// would enforce — block public access, object ownership, encryption, the policy — are
// recorded in a JSON sidecar `<dir>/<name>.bucket.json`. Nothing enforces them: plans say
// "recorded, not enforced" on every such call so nobody mistakes this for S3.
// It replays the same S3 API calls the S3 provider sends (see s3-compile), on the file system.
// The folder is wharf's alone: created with a marker file, and a folder that is not empty and
// not marked is refused (see data-dir.ts).
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { Change, Statement } from '../../plan/plan.js';
import { checkDataDir, ensureDataDir } from '../data-dir.js';
import {
  type LiveSnapshot,
  type LockHandle,
  LockTimeoutError,
  type Provider,
  type ReadScope,
} from '../provider.js';
import {
  type BlockPublicAccess,
  type BucketEncryption,
  type BucketResource,
  type ObjectOwnership,
  ownedSidsFromTags,
} from '../s3/bucket-model.js';
import { type IamPolicy, parsePolicy } from '../s3/policy/index.js';
import { compileBucketChange } from '../s3/s3-compile.js';
import { ApiCallError, NO_PRIVILEGES } from '../s3/s3-errors.js';

/** What the sidecar holds: the settings as last applied. */
interface Sidecar {
  format: 'wharf-local-bucket';
  blockPublicAccess: BlockPublicAccess;
  objectOwnership: ObjectOwnership;
  encryption: BucketEncryption | null;
  policy: IamPolicy | null;
  tags: Record<string, string>;
}

/** A bucket folder without a sidecar: nothing recorded, i.e. S3's "not configured" answers. */
const UNSET: Omit<Sidecar, 'format'> = {
  blockPublicAccess: {
    BlockPublicAcls: false,
    IgnorePublicAcls: false,
    BlockPublicPolicy: false,
    RestrictPublicBuckets: false,
  },
  objectOwnership: 'ObjectWriter',
  encryption: null,
  policy: null,
  tags: {},
};

const LOCK_FILE = '.wharf-apply.lock';

export class LocalBucketProvider implements Provider {
  readonly type = 'local-bucket';

  /** `dir` is absolute: the folder that holds the buckets. */
  constructor(private readonly dir: string) {}

  async read(scope: ReadScope): Promise<LiveSnapshot> {
    checkDataDir(this.dir, 'local buckets');
    const buckets: BucketResource[] = [];
    for (const name of [...(scope.buckets ?? [])].sort()) {
      const root = this.bucketDir(name);
      if (!isDir(root)) continue;
      const s = this.sidecar(name);
      buckets.push({
        kind: 'bucket',
        name,
        blockPublicAccess: s.blockPublicAccess,
        objectOwnership: s.objectOwnership,
        encryption: s.encryption,
        folders: (scope.folders?.[name] ?? []).filter((f) => isDir(path.join(root, f))).sort(),
        policy: s.policy,
        ownedSids: ownedSidsFromTags(s.tags),
        tags: s.tags,
      });
    }
    return {
      resources: buckets,
      capabilities: NO_PRIVILEGES,
      roundTrips: 0,
      serverVersion: `local folder ${path.relative(process.cwd(), this.dir) || '.'}; settings recorded, not enforced`,
    };
  }

  compile(change: Change): Statement[] {
    return compileBucketChange(change, { enforced: false });
  }

  async execute(change: Change): Promise<void> {
    for (const st of change.statements) this.run(st);
  }

  async lock(holder: string, timeoutMs: number): Promise<LockHandle> {
    ensureDataDir(this.dir, 'local buckets');
    const file = path.join(this.dir, LOCK_FILE);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const fd = openSync(file, 'wx');
        writeFileSync(fd, holder);
        closeSync(fd);
        return { release: async () => rmSync(file, { force: true }) };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        if (Date.now() >= deadline) {
          let other = 'unknown';
          try {
            other = readFileSync(file, 'utf8');
          } catch {}
          throw new LockTimeoutError(other);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async close(): Promise<void> {}

  private bucketDir(name: string): string {
    return path.join(this.dir, name);
  }

  private sidecarFile(name: string): string {
    return path.join(this.dir, `${name}.bucket.json`);
  }

  private sidecar(name: string): Omit<Sidecar, 'format'> {
    const file = this.sidecarFile(name);
    if (!existsSync(file)) return UNSET;
    const s = JSON.parse(readFileSync(file, 'utf8')) as Sidecar;
    return {
      blockPublicAccess: s.blockPublicAccess ?? UNSET.blockPublicAccess,
      objectOwnership: s.objectOwnership ?? UNSET.objectOwnership,
      encryption: s.encryption ?? null,
      policy: s.policy ? parsePolicy(s.policy) : null,
      tags: s.tags ?? {},
    };
  }

  private record(name: string, patch: Partial<Omit<Sidecar, 'format'>>): void {
    const next: Sidecar = { format: 'wharf-local-bucket', ...this.sidecar(name), ...patch };
    writeFileSync(this.sidecarFile(name), `${JSON.stringify(next, null, 2)}\n`);
  }

  private run(st: Statement): void {
    const api = st.api;
    if (!api) throw new ApiCallError('a local-bucket connection runs API calls only, not SQL', st.sql);
    const input = api.input as Record<string, unknown> & { Bucket: string };
    const bucket = input.Bucket;
    if (api.operation !== 'CreateBucket' && !isDir(this.bucketDir(bucket))) {
      throw new ApiCallError(`s3:${api.operation} failed: NoSuchBucket: ${bucket} does not exist`, st.sql);
    }
    switch (api.operation) {
      case 'CreateBucket':
        if (isDir(this.bucketDir(bucket)))
          throw new ApiCallError(`s3:CreateBucket failed: BucketAlreadyOwnedByYou: ${bucket}`, st.sql);
        ensureDataDir(this.dir, 'local buckets');
        mkdirSync(this.bucketDir(bucket), { recursive: true });
        this.record(bucket, {});
        return;
      case 'PutPublicAccessBlock':
        this.record(bucket, { blockPublicAccess: input.PublicAccessBlockConfiguration as BlockPublicAccess });
        return;
      case 'PutBucketOwnershipControls': {
        const rules = (input.OwnershipControls as { Rules: { ObjectOwnership: ObjectOwnership }[] }).Rules;
        this.record(bucket, { objectOwnership: rules[0]!.ObjectOwnership });
        return;
      }
      case 'PutBucketEncryption': {
        const d = (
          input.ServerSideEncryptionConfiguration as {
            Rules: {
              ApplyServerSideEncryptionByDefault: {
                SSEAlgorithm: 'AES256' | 'aws:kms';
                KMSMasterKeyID?: string;
              };
            }[];
          }
        ).Rules[0]!.ApplyServerSideEncryptionByDefault;
        this.record(bucket, {
          encryption: { algorithm: d.SSEAlgorithm, kmsKeyId: d.KMSMasterKeyID ?? null },
        });
        return;
      }
      case 'PutBucketPolicy':
        this.record(bucket, { policy: parsePolicy(JSON.parse(String(input.Policy))) });
        return;
      case 'DeleteBucketPolicy':
        this.record(bucket, { policy: null });
        return;
      case 'PutBucketTagging': {
        const set = (input.Tagging as { TagSet: { Key: string; Value: string }[] }).TagSet;
        this.record(bucket, { tags: Object.fromEntries(set.map((t) => [t.Key, t.Value])) });
        return;
      }
      case 'DeleteBucketTagging':
        this.record(bucket, { tags: {} });
        return;
      case 'PutObject': {
        const key = String(input.Key);
        const target = path.resolve(this.bucketDir(bucket), key);
        if (!target.startsWith(this.bucketDir(bucket) + path.sep))
          throw new ApiCallError(
            `s3:PutObject failed: key ${JSON.stringify(key)} leaves the bucket folder`,
            st.sql,
          );
        if (key.endsWith('/')) mkdirSync(target, { recursive: true });
        else {
          mkdirSync(path.dirname(target), { recursive: true });
          writeFileSync(target, String(input.Body ?? ''));
        }
        return;
      }
      default:
        throw new ApiCallError(`unsupported operation ${api.operation} on a local bucket`, st.sql);
    }
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
