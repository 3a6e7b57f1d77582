// AWS credentials per connection: `profile` (shared config and credentials files) and `roleArn`
// with `externalId` (STS AssumeRole), through the SDK's own providers, checked over loopback:
// one HTTP server on 127.0.0.1 plays STS (the Query protocol, an XML answer) and records every
// other request it gets (the Redshift Data API's and S3's), so the test sees which access key
// signed each one. Those requests are then refused, so the plan fails: only the signatures count.
// AssumeRole: https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
// Shared files and profiles: https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html
// Service endpoints from the environment (AWS_ENDPOINT_URL_STS):
// https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { envScope } from './support/env.js';

interface Recorded {
  /** The access key id of the SigV4 Authorization header. */
  accessKeyId: string | undefined;
  sessionToken: string | undefined;
  /** Data API: the X-Amz-Target; S3: method and path. */
  what: string;
  /** STS: the form parameters. */
  params?: Record<string, string>;
}

const ASSUMED = {
  accessKeyId: 'ASIAASSUMEDROLE00001',
  secretAccessKey: 'assumed-Secret-Key-Qp4Lm8Xz2Vb6',
  sessionToken: 'assumed-Session-Token-Rt5Nw9Yc3Kd7',
};
const PROFILE_KEYS = {
  producer: { id: 'AKIAPRODUCERPROFILE1', secret: 'producer-Secret-Hj3Fs8Wq1Zm5' },
  vendor: { id: 'AKIAVENDORPROFILE001', secret: 'vendor-Secret-Lk7Pd2Gx9Tn4' },
};

let server: http.Server;
let endpoint: string;
const recorded: Recorded[] = [];
let dir: string;
const env = envScope();
const setEnv = env.set;

function stsAnswer(): string {
  return `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>${ASSUMED.accessKeyId}</AccessKeyId>
      <SecretAccessKey>${ASSUMED.secretAccessKey}</SecretAccessKey>
      <SessionToken>${ASSUMED.sessionToken}</SessionToken>
      <Expiration>${new Date(Date.now() + 3600_000).toISOString()}</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <AssumedRoleId>AROAFAKE:wharf</AssumedRoleId>
      <Arn>arn:aws:sts::222222222222:assumed-role/wharf-admin/wharf</Arn>
    </AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</AssumeRoleResponse>`;
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const auth = String(req.headers.authorization ?? '');
      const accessKeyId = /Credential=([^/]+)\//.exec(auth)?.[1];
      const sessionToken = req.headers['x-amz-security-token'] as string | undefined;
      const form = Object.fromEntries(new URLSearchParams(body));
      if (req.method === 'POST' && form.Action === 'AssumeRole') {
        recorded.push({ accessKeyId, sessionToken, what: 'sts:AssumeRole', params: form });
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(stsAnswer());
        return;
      }
      const target = req.headers['x-amz-target'] as string | undefined;
      recorded.push({ accessKeyId, sessionToken, what: target ?? `${req.method} ${req.url}` });
      if (target) {
        res.writeHead(400, {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-errortype': 'AccessDeniedException',
        });
        res.end(JSON.stringify({ __type: 'AccessDeniedException', message: 'recorded by the test' }));
      } else {
        res.writeHead(403, { 'content-type': 'application/xml' });
        res.end('<Error><Code>AccessDenied</Code><Message>recorded by the test</Message></Error>');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-aws-creds-'));
  fs.writeFileSync(
    path.join(dir, 'credentials'),
    Object.entries(PROFILE_KEYS)
      .map(([p, k]) => `[${p}]\naws_access_key_id = ${k.id}\naws_secret_access_key = ${k.secret}\n`)
      .join('\n'),
  );
  fs.writeFileSync(
    path.join(dir, 'config'),
    '[profile producer]\nregion = us-east-1\n\n[profile vendor]\nregion = eu-west-1\n',
  );
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  fs.rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  env.restore();
  recorded.length = 0;
});

/** Only the temp files and the loopback STS: nothing from the machine's own AWS setup. */
function isolatedAws() {
  setEnv({
    AWS_CONFIG_FILE: path.join(dir, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'credentials'),
    AWS_ENDPOINT_URL_STS: endpoint,
    AWS_ACCESS_KEY_ID: undefined,
    AWS_SECRET_ACCESS_KEY: undefined,
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_REGION: undefined,
    AWS_DEFAULT_REGION: undefined,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL: undefined,
  });
}

function writeConfig(connections: string): string {
  const file = path.join(dir, 'wharf.yaml');
  fs.writeFileSync(file, `version: 1\nconnections:\n${connections}`);
  return file;
}

describe('AWS credentials per connection', () => {
  it('a redshift connection assumes roleArn with externalId, on top of its profile, and signs the Data API calls with the role', async () => {
    isolatedAws();
    const file = writeConfig(`  producer:
    type: redshift
    cluster: analytics
    database: dev
    dbUser: wharf
    region: us-east-1
    endpoint: ${endpoint}
    profile: producer
    roleArn: "arn:aws:iam::222222222222:role/\${env:ROLE_NAME}"
    externalId: "\${env:EXTERNAL_ID}"
    sessionName: wharf-ci
schemas:
  - name: vendor_share
`);
    const r = await runCli([
      'plan',
      '-f',
      file,
      '--var',
      'ROLE_NAME=wharf-admin',
      '--var',
      'EXTERNAL_ID=vendor-ext-123',
    ]);
    expect(r.code).toBe(1); // the recorder refuses the Data API call
    const sts = recorded.filter((x) => x.what === 'sts:AssumeRole');
    expect(sts.length).toBeGreaterThanOrEqual(1);
    expect(sts[0]!.params).toMatchObject({
      RoleArn: 'arn:aws:iam::222222222222:role/wharf-admin',
      ExternalId: 'vendor-ext-123',
      RoleSessionName: 'wharf-ci',
    });
    // STS was called with the profile's keys; the Data API with the role's.
    expect(sts[0]!.accessKeyId).toBe(PROFILE_KEYS.producer.id);
    const data = recorded.filter((x) => x.what.startsWith('RedshiftData.'));
    expect(data.length).toBeGreaterThanOrEqual(1);
    for (const d of data) {
      expect(d.accessKeyId).toBe(ASSUMED.accessKeyId);
      expect(d.sessionToken).toBe(ASSUMED.sessionToken);
    }
    for (const secret of [ASSUMED.secretAccessKey, ASSUMED.sessionToken, PROFILE_KEYS.producer.secret]) {
      expect(r.stdout.includes(secret) || r.stderr.includes(secret)).toBe(false);
    }
  });

  it('an s3 connection signs with its profile (and takes its region), another with its assumed role', async () => {
    isolatedAws();
    const bucket = (connection: string, name: string) =>
      writeConfig(`${connection}buckets:\n  - name: ${name}\n`);
    const vendor = bucket(
      `  vendor:\n    type: s3\n    endpoint: ${endpoint}\n    forcePathStyle: true\n    profile: vendor\n`,
      'vendor-drop',
    );
    const r1 = await runCli(['plan', '-f', vendor]);
    expect(r1.code).toBe(1); // refused by the recorder
    expect(r1.stderr).toContain('access denied');
    const s3 = () => recorded.filter((x) => x.what !== 'sts:AssumeRole');
    expect(s3().length).toBeGreaterThanOrEqual(1);
    expect(new Set(s3().map((x) => x.accessKeyId))).toEqual(new Set([PROFILE_KEYS.vendor.id]));
    expect(recorded.some((x) => x.what === 'sts:AssumeRole')).toBe(false);
    recorded.length = 0;

    const shared = bucket(
      `  shared:\n    type: s3\n    region: us-east-1\n    endpoint: ${endpoint}\n    forcePathStyle: true\n    roleArn: arn:aws:iam::333333333333:role/bucket-admin\n    profile: producer\n`,
      'shared-drop',
    );
    const r2 = await runCli(['plan', '-f', shared]);
    expect(r2.code).toBe(1);
    const sts = recorded.filter((x) => x.what === 'sts:AssumeRole');
    expect(sts.length).toBeGreaterThanOrEqual(1);
    expect(sts[0]!.params?.RoleArn).toBe('arn:aws:iam::333333333333:role/bucket-admin');
    expect(sts[0]!.params?.RoleSessionName).toBe('wharf');
    expect(sts[0]!.params?.ExternalId).toBeUndefined();
    expect(sts[0]!.accessKeyId).toBe(PROFILE_KEYS.producer.id);
    expect(s3().length).toBeGreaterThanOrEqual(1);
    for (const call of s3()) {
      expect(call.what).toContain('/shared-drop');
      expect(call.accessKeyId).toBe(ASSUMED.accessKeyId);
      expect(call.sessionToken).toBe(ASSUMED.sessionToken);
    }
  });

  it('profile and roleArn are refused on other connection types, externalId without roleArn too', async () => {
    const file = writeConfig(`  wh:
    type: postgres
    url: postgres://u@127.0.0.1/db
    profile: producer
  files:
    type: s3
    externalId: ext-1
`);
    const r = await runCli(['validate', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('connection wh: "profile" applies to types s3 and redshift only');
    expect(r.stderr).toContain('connection files: "externalId" goes with "roleArn"');
  });
});
