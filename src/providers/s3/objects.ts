// S3 objects for bucket exports: uploads stream in 8 MiB parts (a multipart upload once the
// first part is full, a single PutObject for smaller objects), so an export never holds a file
// in memory; an object appears only when its upload completes, and an aborted upload leaves
// nothing. Listing pages through ListObjectsV2; deletes go 1,000 keys per DeleteObjects.
import type { S3Client } from '@aws-sdk/client-s3';
import {
  checkObjectKey,
  type ObjectStore,
  ObjectStoreError,
  type ObjectUpload,
  type StoredObject,
} from '../object-store.js';

const PART_BYTES = 8 * 1024 * 1024;

type S3 = typeof import('@aws-sdk/client-s3');

export class S3ObjectStore implements ObjectStore {
  constructor(
    private readonly client: S3Client,
    private readonly sdk: S3,
  ) {}

  private async send<T>(what: string, bucket: string, key: string | undefined, p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (e) {
      const err = e as { name?: string; message?: string };
      throw new ObjectStoreError(
        `s3:${what} on ${this.describe(bucket, key)} failed: ${err.name ?? 'Error'}: ${err.message ?? String(e)}`,
      );
    }
  }

  upload(bucket: string, key: string, contentType?: string): ObjectUpload {
    checkObjectKey(key);
    const { sdk, client } = this;
    let buffered: Buffer[] = [];
    let size = 0;
    let uploadId: string | undefined;
    const parts: { ETag: string; PartNumber: number }[] = [];
    const flushPart = async () => {
      const body = Buffer.concat(buffered, size);
      buffered = [];
      size = 0;
      if (!uploadId) {
        const created = await this.send(
          'CreateMultipartUpload',
          bucket,
          key,
          client.send(
            new sdk.CreateMultipartUploadCommand({
              Bucket: bucket,
              Key: key,
              ...(contentType ? { ContentType: contentType } : {}),
            }),
          ),
        );
        uploadId = created.UploadId!;
      }
      const n = parts.length + 1;
      const r = await this.send(
        'UploadPart',
        bucket,
        key,
        client.send(
          new sdk.UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: n,
            Body: body,
          }),
        ),
      );
      parts.push({ ETag: r.ETag!, PartNumber: n });
    };
    return {
      write: async (chunk) => {
        buffered.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        size += chunk.byteLength;
        if (size >= PART_BYTES) await flushPart();
      },
      finish: async () => {
        if (!uploadId) {
          await this.send(
            'PutObject',
            bucket,
            key,
            client.send(
              new sdk.PutObjectCommand({
                Bucket: bucket,
                Key: key,
                Body: Buffer.concat(buffered, size),
                ...(contentType ? { ContentType: contentType } : {}),
              }),
            ),
          );
          return;
        }
        if (size > 0) await flushPart();
        await this.send(
          'CompleteMultipartUpload',
          bucket,
          key,
          client.send(
            new sdk.CompleteMultipartUploadCommand({
              Bucket: bucket,
              Key: key,
              UploadId: uploadId,
              MultipartUpload: { Parts: parts },
            }),
          ),
        );
      },
      abort: async () => {
        buffered = [];
        if (uploadId)
          await client
            .send(new sdk.AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
            .catch(() => {});
      },
    };
  }

  async put(bucket: string, key: string, body: Uint8Array | string, contentType?: string): Promise<void> {
    checkObjectKey(key);
    await this.send(
      'PutObject',
      bucket,
      key,
      this.client.send(
        new this.sdk.PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: typeof body === 'string' ? Buffer.from(body) : body,
          ...(contentType ? { ContentType: contentType } : {}),
        }),
      ),
    );
  }

  async get(bucket: string, key: string): Promise<Buffer | undefined> {
    checkObjectKey(key);
    try {
      const r = await this.client.send(new this.sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await r.Body!.transformToByteArray());
    } catch (e) {
      const name = (e as { name?: string }).name;
      // The connection's error middleware wraps service errors (AwsError, its code kept).
      const code = (e as { code?: string }).code;
      if ([name, code].some((n) => n === 'NoSuchKey' || n === 'NotFound')) return undefined;
      throw new ObjectStoreError(
        `s3:GetObject on ${this.describe(bucket, key)} failed: ${name}: ${(e as Error).message}`,
      );
    }
  }

  async list(bucket: string, prefix: string): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    let token: string | undefined;
    do {
      const r = await this.send(
        'ListObjectsV2',
        bucket,
        prefix,
        this.client.send(
          new this.sdk.ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        ),
      );
      for (const o of r.Contents ?? [])
        if (o.Key && !o.Key.endsWith('/')) out.push({ key: o.Key, size: o.Size ?? 0 });
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async remove(bucket: string, keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const r = await this.send(
        'DeleteObjects',
        bucket,
        undefined,
        this.client.send(
          new this.sdk.DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
      const failed = r.Errors?.[0];
      if (failed)
        throw new ObjectStoreError(
          `s3:DeleteObjects on ${this.describe(bucket, failed.Key)} failed: ${failed.Code}: ${failed.Message}`,
        );
    }
  }

  async copy(bucket: string, from: string, to: string): Promise<void> {
    checkObjectKey(to);
    await this.send(
      'CopyObject',
      bucket,
      to,
      this.client.send(
        new this.sdk.CopyObjectCommand({
          Bucket: bucket,
          Key: to,
          CopySource: `${bucket}/${from.split('/').map(encodeURIComponent).join('/')}`,
        }),
      ),
    );
  }

  describe(bucket: string, key = ''): string {
    return `s3://${bucket}/${key}`;
  }
}
