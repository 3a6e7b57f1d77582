// AWS failures as the user reads them: one line naming the connection, what went wrong and what
// to do, worded the same for S3, the Redshift Data API and the Redshift control plane. Every case
// goes through the real SDK clients (opened by openConnection where the case allows) against a
// loopback HTTP server answering with each service's real error shapes, a closed port, a
// `.invalid` host (never resolves), or an environment without region or credentials.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatError } from '../src/cli/errors.js';
import type { ConnectionConfig } from '../src/config/types.js';
import type { Resource } from '../src/plan/model.js';
import { AwsError, watchAwsErrors } from '../src/providers/aws-errors.js';
import { type OpenedConnection, openConnection } from '../src/providers/connect.js';
import { DataApiTransport } from '../src/providers/redshift/data-api-transport.js';
import { S3Provider } from '../src/providers/s3/s3-provider.js';
import { runCli } from './support/cli.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

let server: http.Server;
let port: number;
let handler: Handler;
let requests: { method: string; url: string; target: string }[] = [];
let dir: string;
const savedEnv = { ...process.env };
const opened: OpenedConnection[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-aws-errors-'));
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        target: String(req.headers['x-amz-target'] ?? ''),
      });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  requests = [];
  handler = (_req, res) => {
    res.writeHead(500);
    res.end();
  };
  // Nothing from this machine's AWS set-up: empty shared files, no instance metadata lookups.
  for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
  const empty = path.join(dir, 'empty');
  fs.writeFileSync(empty, '');
  process.env.AWS_CONFIG_FILE = empty;
  process.env.AWS_SHARED_CREDENTIALS_FILE = empty;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
});

afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
});

function withCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID = 'AKIAWHARFTEST';
  process.env.AWS_SECRET_ACCESS_KEY = 'wharf-test-secret';
}

const local = () => `http://127.0.0.1:${port}`;

async function open(name: string, config: Record<string, unknown>): Promise<OpenedConnection> {
  const c = await openConnection(name, config as unknown as ConnectionConfig, dir);
  opened.push(c);
  return c;
}

const s3 = (endpoint: string, extra: Record<string, unknown> = {}) =>
  open('lake', { type: 's3', region: 'us-east-1', endpoint, forcePathStyle: true, ...extra });
const redshift = (endpoint: string, extra: Record<string, unknown> = {}) =>
  open('warehouse', {
    type: 'redshift',
    cluster: 'analytics',
    database: 'dev',
    dbUser: 'admin',
    region: 'us-east-1',
    endpoint,
    ...extra,
  });

const readBucket = (c: OpenedConnection) => c.provider.read({ schemas: [], roles: [], buckets: ['share'] });
const runSql = (c: OpenedConnection) => c.dataApi!.query('SELECT 1');
/** A DescribeClusters through the control plane: plan checks a datashare's prerequisites. */
const controlPlane = (c: OpenedConnection) =>
  c.provider.prerequisites!('warehouse', [
    { kind: 'datashare', name: 'toplyne', consumers: [] } as unknown as Resource,
  ]);

/** The error a promise rejects with, as the CLI prints it (one line, no "unexpected"). */
async function failure(p: Promise<unknown>): Promise<{ error: unknown; line: string }> {
  const error = await p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
  return { error, line: formatError(error) };
}

/** A closed port: bound once, then released. */
async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const p = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return p;
}

// The services' error shapes, as they send them.
function s3Error(res: http.ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>4442587FB7D0A2F9</RequestId><HostId>wharf</HostId></Error>`,
  );
}
function dataApiError(res: http.ServerResponse, code: string, message: string): void {
  res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'r-1' });
  res.end(JSON.stringify({ __type: code, message }));
}
function controlPlaneError(res: http.ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'text/xml' });
  res.end(
    `<ErrorResponse xmlns="http://redshift.amazonaws.com/doc/2012-12-01/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`,
  );
}

/** A small S3: the bucket exists and has none of its settings, except what `policy` answers. */
function s3Bucket(policy: (res: http.ServerResponse) => void): Handler {
  return (req, res) => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    if (req.method === 'HEAD') {
      res.writeHead(200);
      res.end();
    } else if (query.has('policy')) policy(res);
    else if (query.has('publicAccessBlock'))
      s3Error(
        res,
        404,
        'NoSuchPublicAccessBlockConfiguration',
        'The public access block configuration was not found',
      );
    else if (query.has('ownershipControls'))
      s3Error(res, 404, 'OwnershipControlsNotFoundError', 'The bucket ownership controls were not found');
    else if (query.has('encryption'))
      s3Error(
        res,
        404,
        'ServerSideEncryptionConfigurationNotFoundError',
        'The server side encryption configuration was not found',
      );
    else if (query.has('tagging')) s3Error(res, 404, 'NoSuchTagSet', 'The TagSet does not exist');
    else s3Error(res, 400, 'InvalidRequest', 'not expected by this test');
  };
}

const NETWORK_HINT = 'check "endpoint" and "region" in the file, and the network or proxy on the way';
const ACCESS_HINT =
  'allow it to the identity of the credentials (IAM policy), or use credentials that have it';
const THROTTLE_HINT =
  'run again later, run fewer wharf commands on this account at once, or ask AWS for a higher quota';

describe('region', () => {
  it('S3 and Redshift without a region say where to set one, before any request', async () => {
    withCredentials();
    const a = await failure(s3(local(), { region: undefined }));
    const b = await failure(redshift(local(), { region: undefined }));
    expect(a.line).toBe('connection lake: no AWS region: set "region" in the file or AWS_REGION');
    expect(b.line).toBe('connection warehouse: no AWS region: set "region" in the file or AWS_REGION');
    expect(a.error).toBeInstanceOf(AwsError);
    expect((a.error as AwsError).kind).toBe('region');
    expect(requests).toEqual([]);
  });

  it('AWS_REGION is enough', async () => {
    withCredentials();
    process.env.AWS_REGION = 'eu-west-1';
    const c = await redshift(local(), { region: undefined });
    expect(c.description).toContain('(eu-west-1)');
  });
});

describe('credentials', () => {
  const MISSING =
    'no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or sign in with "aws sso login"';

  it('none found: S3, the Data API and the control plane say so the same way, and nothing is sent', async () => {
    const lake = await s3(local());
    const wh = await redshift(local());
    process.env.AWS_ENDPOINT_URL_REDSHIFT = local();
    const wh2 = await redshift(local());
    const lines = [
      (await failure(readBucket(lake))).line,
      (await failure(runSql(wh))).line,
      (await failure(controlPlane(wh2))).line,
    ];
    expect(lines).toEqual([
      `connection lake: ${MISSING}`,
      `connection warehouse: ${MISSING}`,
      `connection warehouse: ${MISSING}`,
    ]);
    expect(requests).toEqual([]);
  });

  it('refused by AWS (unknown key): names the code and the call', async () => {
    withCredentials();
    // HeadBucket answers without a body, so the refusal is read on the calls after it.
    handler = (req, res) => {
      if (req.headers['x-amz-target'])
        dataApiError(
          res,
          'UnrecognizedClientException',
          'The security token included in the request is invalid.',
        );
      else if (req.method === 'HEAD') {
        res.writeHead(200);
        res.end();
      } else
        s3Error(
          res,
          403,
          'InvalidAccessKeyId',
          'The AWS Access Key Id you provided does not exist in our records.',
        );
    };
    const lake = await s3(local());
    const wh = await redshift(local());
    const fix = 'refresh them (e.g. "aws sso login"), or check AWS_PROFILE and AWS_ACCESS_KEY_ID';
    const a = await failure(readBucket(lake));
    expect(a.line).toMatch(
      new RegExp(
        `^connection lake: AWS refused the credentials \\(InvalidAccessKeyId on s3:[A-Za-z]+\\): ${reEscape(fix)}$`,
      ),
    );
    expect((await failure(runSql(wh))).line).toBe(
      `connection warehouse: AWS refused the credentials (UnrecognizedClientException on redshift-data:ExecuteStatement): ${fix}`,
    );
  });
});

describe('network', () => {
  it('a closed port: S3, the Data API and the control plane word it the same way', async () => {
    withCredentials();
    const closed = await closedPort();
    const at = `http://127.0.0.1:${closed}`;
    process.env.AWS_ENDPOINT_URL_REDSHIFT = at;
    const lake = await s3(at);
    const wh = await redshift(at);
    const lines = [
      (await failure(readBucket(lake))).line,
      (await failure(runSql(wh))).line,
      (await failure(controlPlane(wh))).line,
    ];
    const line = `cannot reach 127.0.0.1:${closed}: connection refused (ECONNREFUSED): ${NETWORK_HINT}`;
    expect(lines).toEqual([
      `connection lake: ${line}`,
      `connection warehouse: ${line}`,
      `connection warehouse: ${line}`,
    ]);
  });

  it('a host name that does not resolve (.invalid)', async () => {
    withCredentials();
    const at = 'http://wharf-no-such-host.invalid';
    const lake = await s3(at);
    const wh = await redshift(at);
    const a = await failure(readBucket(lake));
    const b = await failure(runSql(wh));
    const line = (name: string) =>
      new RegExp(
        `^connection ${name}: cannot reach wharf-no-such-host\\.invalid: the host name does not resolve \\((ENOTFOUND|EAI_AGAIN)\\): ${reEscape(NETWORK_HINT)}$`,
      );
    expect(a.line).toMatch(line('lake'));
    expect(b.line).toMatch(line('warehouse'));
    expect(a.line.replace('lake', 'warehouse')).toBe(b.line);
  });

  it('TLS spoken to a plain HTTP server', async () => {
    withCredentials();
    handler = (_req, res) => {
      res.writeHead(200);
      res.end();
    };
    const at = `https://127.0.0.1:${port}`;
    const a = await failure(readBucket(await s3(at)));
    const b = await failure(runSql(await redshift(at)));
    const line = `cannot reach 127.0.0.1:${port}: the TLS handshake failed (EPROTO): check that "endpoint" uses the scheme the server speaks (https:// or http://) and that its certificate is trusted (NODE_EXTRA_CA_CERTS)`;
    expect(a.line).toBe(`connection lake: ${line}`);
    expect(b.line).toBe(`connection warehouse: ${line}`);
  });

  it('a server that never answers times out', async () => {
    withCredentials();
    handler = () => {}; // accept, read, never answer
    // The connections' own limits are a minute; the same clients with a short one.
    const quick = {
      region: 'us-east-1',
      endpoint: local(),
      maxAttempts: 1,
      requestHandler: { socketTimeout: 200 },
    };
    const s3Client = new S3Client({ ...quick, forcePathStyle: true });
    const dataClient = new RedshiftDataClient(quick);
    watchAwsErrors(s3Client, 'lake', 's3');
    watchAwsErrors(dataClient, 'warehouse', 'redshift-data');
    try {
      const a = await failure(
        new S3Provider(s3Client, { server: 'test' }).read({ schemas: [], roles: [], buckets: ['share'] }),
      );
      const b = await failure(
        new DataApiTransport(dataClient, {
          clusterIdentifier: 'analytics',
          database: 'dev',
          dbUser: 'admin',
        }).query('SELECT 1'),
      );
      const line = `cannot reach 127.0.0.1:${port}: no answer in time: check the network, VPN, proxy or firewall between this machine and AWS`;
      expect(a.line).toBe(`connection lake: ${line}`);
      expect(b.line).toBe(`connection warehouse: ${line}`);
    } finally {
      s3Client.destroy();
      dataClient.destroy();
    }
  });
});

describe('access denied', () => {
  it('S3 (XML AccessDenied on the policy) names the bucket and the IAM action', async () => {
    withCredentials();
    handler = s3Bucket((res) => s3Error(res, 403, 'AccessDenied', 'Access Denied'));
    const { error, line } = await failure(readBucket(await s3(local())));
    expect(line).toBe(
      `connection lake: access denied to s3:GetBucketPolicy on bucket share (AccessDenied): ${ACCESS_HINT}`,
    );
    expect(error).toMatchObject({ kind: 'access-denied', code: 'AccessDenied' });
  });

  it('S3 HeadBucket 403 (no body) is access denied to s3:ListBucket, not a missing bucket', async () => {
    withCredentials();
    handler = (_req, res) => {
      res.writeHead(403);
      res.end();
    };
    const { line } = await failure(readBucket(await s3(local())));
    expect(line).toMatch(
      new RegExp(
        `^connection lake: access denied to s3:ListBucket on bucket share \\((Forbidden|HTTP 403)\\): ${reEscape(ACCESS_HINT)}$`,
      ),
    );
  });

  it('the Data API (JSON AccessDeniedException) and the control plane (query XML AccessDenied)', async () => {
    withCredentials();
    handler = (req, res) =>
      req.headers['x-amz-target']
        ? dataApiError(
            res,
            'AccessDeniedException',
            'User: arn:aws:sts::123456789012:assumed-role/ci/wharf is not authorized to perform: redshift-data:ExecuteStatement',
          )
        : controlPlaneError(
            res,
            403,
            'AccessDenied',
            'User: arn:aws:sts::123456789012:assumed-role/ci/wharf is not authorized to perform: redshift:DescribeClusters',
          );
    process.env.AWS_ENDPOINT_URL_REDSHIFT = local();
    const wh = await redshift(local());
    expect((await failure(runSql(wh))).line).toBe(
      `connection warehouse: access denied to redshift-data:ExecuteStatement on cluster analytics (AccessDeniedException): ${ACCESS_HINT}`,
    );
    expect((await failure(controlPlane(wh))).line).toBe(
      `connection warehouse: access denied to redshift:DescribeClusters on cluster analytics (AccessDenied): ${ACCESS_HINT}`,
    );
  });
});

describe('throttling', () => {
  it('S3 SlowDown, after the SDK retried it', async () => {
    withCredentials();
    handler = s3Bucket((res) => s3Error(res, 503, 'SlowDown', 'Please reduce your request rate.'));
    const { line } = await failure(readBucket(await s3(local())));
    expect(line).toBe(
      `connection lake: AWS is throttling s3:GetBucketPolicy on bucket share (SlowDown), still after retries: ${THROTTLE_HINT}`,
    );
    expect(requests.filter((r) => r.url.includes('policy')).length).toBeGreaterThan(1);
  });

  it('the Data API ThrottlingException, after the transport retried it', async () => {
    withCredentials();
    handler = (_req, res) => dataApiError(res, 'ThrottlingException', 'Rate exceeded');
    const client = new RedshiftDataClient({ region: 'us-east-1', endpoint: local(), maxAttempts: 1 });
    watchAwsErrors(client, 'warehouse', 'redshift-data');
    try {
      const t = new DataApiTransport(
        client,
        { clusterIdentifier: 'analytics', database: 'dev', dbUser: 'admin' },
        { sleep: async () => {}, maxThrottleRetries: 3 },
      );
      const { line } = await failure(t.query('SELECT 1'));
      expect(line).toBe(
        `connection warehouse: AWS is throttling redshift-data:ExecuteStatement on cluster analytics (ThrottlingException), still after retries: ${THROTTLE_HINT}`,
      );
      expect(requests).toHaveLength(4);
    } finally {
      client.destroy();
    }
  });

  it('the control plane Throttling', async () => {
    withCredentials();
    handler = (_req, res) => controlPlaneError(res, 400, 'Throttling', 'Rate exceeded');
    process.env.AWS_ENDPOINT_URL_REDSHIFT = local();
    const { line } = await failure(controlPlane(await redshift(local())));
    expect(line).toBe(
      `connection warehouse: AWS is throttling redshift:DescribeClusters on cluster analytics (Throttling), still after retries: ${THROTTLE_HINT}`,
    );
  });
});

describe('service errors', () => {
  it('S3 InternalError: the service said it failed on its side', async () => {
    withCredentials();
    handler = s3Bucket((res) =>
      s3Error(res, 500, 'InternalError', 'We encountered an internal error. Please try again.'),
    );
    const { line } = await failure(readBucket(await s3(local())));
    expect(line).toBe(
      'connection lake: s3:GetBucketPolicy on bucket share failed (InternalError: We encountered an internal error. Please try again.): AWS failed on its side; run again later',
    );
  });

  it('Data API ValidationException: the names in the file are to check', async () => {
    withCredentials();
    handler = (_req, res) =>
      dataApiError(res, 'ValidationException', "Redshift endpoint doesn't exist in this region.");
    const { line } = await failure(runSql(await redshift(local())));
    expect(line).toBe(
      "connection warehouse: redshift-data:ExecuteStatement on cluster analytics failed (ValidationException: Redshift endpoint doesn't exist in this region.): check the names in the file (bucket, cluster, workgroup, database) against the account and region",
    );
  });

  it('answers the reader expects (no policy, no tags, ...) are not errors', async () => {
    withCredentials();
    handler = s3Bucket((res) => s3Error(res, 404, 'NoSuchBucketPolicy', 'The bucket policy does not exist'));
    const snap = await readBucket(await s3(local()));
    expect(snap.resources).toMatchObject([{ kind: 'bucket', name: 'share', policy: null, tags: {} }]);
  });
});

describe('through the CLI', () => {
  it('wharf plan on an s3 connection at a closed port prints the network line and exits 1', async () => {
    withCredentials();
    const closed = await closedPort();
    const file = path.join(dir, 'lake.yaml');
    fs.writeFileSync(
      file,
      `version: 1
connections:
  lake: { type: s3, region: us-east-1, endpoint: "http://127.0.0.1:${closed}", forcePathStyle: true }
buckets:
  - name: acme-share
    connection: lake
`,
    );
    const r = await runCli(['plan', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `error: connection lake: cannot reach 127.0.0.1:${closed}: connection refused (ECONNREFUSED): ${NETWORK_HINT}`,
    );
    expect(r.stderr).not.toMatch(/unexpected/);
  });
});

function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
