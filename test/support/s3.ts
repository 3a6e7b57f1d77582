// S3 test support: a real S3-protocol server (s3rver) on loopback in a child process, an
// S3Client for it, and a client that sends the bucket-configuration calls s3rver does not
// implement (policy, public access block, ownership controls, encryption, tagging) to an in-memory
// fake built on aws-sdk-client-mock, and everything else to the real server. The fake refuses
// what S3 refuses (MalformedPolicy, a public policy under BlockPublicPolicy, MalformedXML,
// InvalidTag) and reads back what S3 stores (account principals as root ARNs, every Block Public
// Access flag, BucketKeyEnabled); a bucket created through the client starts with S3's defaults.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  DeleteBucketTaggingCommand,
  GetBucketEncryptionCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetPublicAccessBlockCommand,
  PutBucketEncryptionCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutPublicAccessBlockCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import type { LoadedConfig } from '../../src/config/types.js';
import type { S3Like } from '../../src/providers/s3/s3-reader.js';

export interface TestS3Server {
  endpoint: string;
  client: S3Client;
  stop(): Promise<void>;
}

export async function startS3Server(): Promise<TestS3Server> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-s3rver-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [path.join(import.meta.dirname, 's3rver-child.mjs'), dir],
    {
      env: { ...process.env, NODE_OPTIONS: '--openssl-legacy-provider' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n')[0];
      if (buf.includes('\n') && line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.on('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    client: s3ClientFor(endpoint),
    stop: async () => {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function s3ClientFor(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
}

export function s3Error(name: string, status: number, message = name): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message,
  });
}

export interface BucketControls {
  policy?: string;
  publicAccessBlock?: Record<string, boolean>;
  ownership?: string;
  encryption?: Record<string, unknown>;
  tags?: { Key: string; Value: string }[];
}

const CONTROL = new Set([
  GetBucketPolicyCommand,
  PutBucketPolicyCommand,
  DeleteBucketPolicyCommand,
  GetPublicAccessBlockCommand,
  PutPublicAccessBlockCommand,
  GetBucketOwnershipControlsCommand,
  PutBucketOwnershipControlsCommand,
  GetBucketEncryptionCommand,
  PutBucketEncryptionCommand,
  GetBucketTaggingCommand,
  PutBucketTaggingCommand,
  DeleteBucketTaggingCommand,
]);

/**
 * A client for `real` whose control calls go to a stateful fake instead (s3rver has no
 * bucket-policy APIs). `controls` is the fake's state per bucket; tests edit it to simulate
 * out-of-band changes. The fake refuses what S3 refuses and reads back what S3 stores
 * (see s3-rules below), and a bucket created through the client starts with the settings S3
 * gives every new bucket.
 */
export function withFakeControls(real: S3Like): { client: S3Like; controls: Map<string, BucketControls> } {
  const controls = new Map<string, BucketControls>();
  const fakeS3 = new S3Client({ region: 'us-east-1' });
  const fake = mockClient(fakeS3);
  const state = (b: string | undefined) => {
    const s = controls.get(b!) ?? {};
    controls.set(b!, s);
    return s;
  };
  fake
    .on(GetBucketPolicyCommand)
    .callsFake(({ Bucket }) => {
      const p = state(Bucket).policy;
      if (p === undefined) throw s3Error('NoSuchBucketPolicy', 404, 'The bucket policy does not exist');
      return { Policy: storedPolicy(p) };
    })
    .on(PutBucketPolicyCommand)
    .callsFake(({ Bucket, Policy }) => {
      const doc = checkPolicy(String(Bucket), Policy);
      if (state(Bucket).publicAccessBlock?.BlockPublicPolicy === true && isPublicPolicy(doc))
        throw s3Error('AccessDenied', 403, 'Access Denied');
      state(Bucket).policy = Policy;
      return {};
    })
    .on(DeleteBucketPolicyCommand)
    .callsFake(({ Bucket }) => {
      delete state(Bucket).policy;
      return {};
    })
    .on(GetPublicAccessBlockCommand)
    .callsFake(({ Bucket }) => {
      const c = state(Bucket).publicAccessBlock;
      if (!c)
        throw s3Error(
          'NoSuchPublicAccessBlockConfiguration',
          404,
          'The public access block configuration was not found',
        );
      // Every flag comes back, false when the PUT left it out.
      return {
        PublicAccessBlockConfiguration: Object.fromEntries(BPA_FLAGS.map((f) => [f, c[f] === true])),
      };
    })
    .on(PutPublicAccessBlockCommand)
    .callsFake(({ Bucket, PublicAccessBlockConfiguration }) => {
      const c = requireShape(PublicAccessBlockConfiguration, BPA_FLAGS);
      for (const f of BPA_FLAGS) if (c[f] !== undefined && typeof c[f] !== 'boolean') throw malformedXml();
      state(Bucket).publicAccessBlock = { ...(c as Record<string, boolean>) };
      return {};
    })
    .on(GetBucketOwnershipControlsCommand)
    .callsFake(({ Bucket }) => {
      const o = state(Bucket).ownership;
      if (!o)
        throw s3Error('OwnershipControlsNotFoundError', 404, 'The bucket ownership controls were not found');
      return { OwnershipControls: { Rules: [{ ObjectOwnership: o }] } };
    })
    .on(PutBucketOwnershipControlsCommand)
    .callsFake(({ Bucket, OwnershipControls }) => {
      const rules = requireShape(OwnershipControls, ['Rules']).Rules;
      if (!Array.isArray(rules) || rules.length !== 1) throw malformedXml();
      const rule = requireShape(rules[0], ['ObjectOwnership']);
      if (!OWNERSHIPS.includes(String(rule.ObjectOwnership))) throw malformedXml();
      state(Bucket).ownership = String(rule.ObjectOwnership);
      return {};
    })
    .on(GetBucketEncryptionCommand)
    .callsFake(({ Bucket }) => {
      const e = state(Bucket).encryption;
      if (!e)
        throw s3Error(
          'ServerSideEncryptionConfigurationNotFoundError',
          404,
          'The server side encryption configuration was not found',
        );
      return { ServerSideEncryptionConfiguration: e };
    })
    .on(PutBucketEncryptionCommand)
    .callsFake(({ Bucket, ServerSideEncryptionConfiguration }) => {
      state(Bucket).encryption = checkEncryption(ServerSideEncryptionConfiguration);
      return {};
    })
    .on(GetBucketTaggingCommand)
    .callsFake(({ Bucket }) => {
      const t = state(Bucket).tags;
      if (!t) throw s3Error('NoSuchTagSet', 404, 'The TagSet does not exist');
      return { TagSet: t };
    })
    .on(PutBucketTaggingCommand)
    .callsFake(({ Bucket, Tagging }) => {
      state(Bucket).tags = checkTags(Tagging);
      return {};
    })
    .on(DeleteBucketTaggingCommand)
    .callsFake(({ Bucket }) => {
      delete state(Bucket).tags;
      return {};
    });
  const fakeClient: S3Like = fakeS3;
  return {
    controls,
    client: {
      send: async (cmd: { constructor: unknown; input?: { Bucket?: string } }) => {
        if ([...CONTROL].some((C) => cmd instanceof C)) return fakeClient.send(cmd);
        const out = await real.send(cmd);
        if (cmd instanceof CreateBucketCommand) controls.set(String(cmd.input.Bucket), newBucketControls());
        return out;
      },
    },
  };
}

// ---- s3-rules: what S3 refuses, and what it stores -------------------------------------------

const BPA_FLAGS = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'];
const OWNERSHIPS = ['BucketOwnerPreferred', 'ObjectWriter', 'BucketOwnerEnforced'];

/**
 * What a bucket created today starts with: all four Block Public Access flags on, ACLs
 * disabled (BucketOwnerEnforced) and SSE-S3 default encryption, read back with
 * BucketKeyEnabled false.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/create-bucket-overview.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/default-bucket-encryption.html
 */
function newBucketControls(): BucketControls {
  return {
    publicAccessBlock: Object.fromEntries(BPA_FLAGS.map((f) => [f, true])),
    ownership: 'BucketOwnerEnforced',
    encryption: {
      Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false }],
    },
  };
}

/** The SDK serializes only the members it models; S3 refuses any other element (MalformedXML). */
function malformedXml() {
  return s3Error(
    'MalformedXML',
    400,
    'The XML you provided was not well-formed or did not validate against our published schema',
  );
}

function requireShape(v: unknown, keys: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw malformedXml();
  for (const k of Object.keys(v)) if (!keys.includes(k)) throw malformedXml();
  return v as Record<string, unknown>;
}

/**
 * PutBucketEncryption: one rule; AES256, aws:kms or aws:kms:dsse; a KMS key only with KMS.
 * Stored as S3 reads it back: BucketKeyEnabled false unless set.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketEncryption.html
 */
function checkEncryption(v: unknown): Record<string, unknown> {
  const rules = requireShape(v, ['Rules']).Rules;
  if (!Array.isArray(rules) || rules.length !== 1) throw malformedXml();
  const rule = requireShape(rules[0], ['ApplyServerSideEncryptionByDefault', 'BucketKeyEnabled']);
  const d = requireShape(rule.ApplyServerSideEncryptionByDefault, ['SSEAlgorithm', 'KMSMasterKeyID']);
  const alg = String(d.SSEAlgorithm);
  if (!['AES256', 'aws:kms', 'aws:kms:dsse'].includes(alg)) throw malformedXml();
  if (d.KMSMasterKeyID !== undefined && alg === 'AES256')
    throw s3Error(
      'InvalidArgument',
      400,
      'a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse',
    );
  return {
    Rules: [
      {
        ApplyServerSideEncryptionByDefault: { ...d },
        BucketKeyEnabled: rule.BucketKeyEnabled === true,
      },
    ],
  };
}

/**
 * PutBucketTagging: at most 50 tags, unique keys of 1-128 characters, values of at most 256,
 * none in the reserved `aws:` prefix.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketTagging.html
 */
function checkTags(v: unknown): { Key: string; Value: string }[] {
  const set = requireShape(v, ['TagSet']).TagSet;
  if (!Array.isArray(set)) throw malformedXml();
  const tags = set.map((t) => requireShape(t, ['Key', 'Value']) as { Key: string; Value: string });
  const bad = (m: string) => s3Error('InvalidTag', 400, m);
  if (tags.length > 50) throw bad('Object tags cannot be greater than 50');
  if (new Set(tags.map((t) => t.Key)).size !== tags.length)
    throw bad('Cannot provide multiple Tags with the same key');
  for (const t of tags) {
    if (typeof t.Key !== 'string' || t.Key.length < 1 || t.Key.length > 128)
      throw bad('The TagKey you have provided is invalid');
    if (typeof t.Value !== 'string' || t.Value.length > 256)
      throw bad('The TagValue you have provided is invalid');
    if (t.Key.toLowerCase().startsWith('aws:')) throw bad('System tags cannot be added/updated by requester');
  }
  return tags.map((t) => ({ Key: t.Key, Value: t.Value }));
}

type Doc = Record<string, unknown>;
const malformedPolicy = (message: string) => s3Error('MalformedPolicy', 400, message);
const STATEMENT_KEYS = [
  'Sid',
  'Effect',
  'Principal',
  'NotPrincipal',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
];
const listOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

/**
 * PutBucketPolicy as S3 validates it: JSON, known elements, a Principal on every statement,
 * principals that can exist (IAM account, user, role or assumed-role ARNs, account ids,
 * services, canonical users, "*"), s3 actions, and resources in this bucket.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshoot-403-errors.html
 */
function checkPolicy(bucket: string, text: unknown): Doc {
  let doc: unknown;
  try {
    doc = JSON.parse(String(text));
  } catch {
    throw malformedPolicy("Policies must be valid JSON and the first byte must be '{'");
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw malformedPolicy("Policies must be valid JSON and the first byte must be '{'");
  const d = doc as Doc;
  for (const k of Object.keys(d))
    if (!['Version', 'Id', 'Statement'].includes(k)) throw malformedPolicy(`Unknown field ${k}`);
  if (d.Version !== undefined && d.Version !== '2012-10-17' && d.Version !== '2008-10-17')
    throw malformedPolicy('The policy must contain a valid version string');
  if (d.Statement === undefined) throw malformedPolicy('Missing required field Statement');
  const sids = new Set<string>();
  for (const raw of listOf(d.Statement)) {
    if (typeof raw !== 'object' || raw === null) throw malformedPolicy('Statement is not well-formed');
    const st = raw as Doc;
    for (const k of Object.keys(st))
      if (!STATEMENT_KEYS.includes(k)) throw malformedPolicy(`Unknown field ${k}`);
    if (typeof st.Sid === 'string') {
      if (sids.has(st.Sid)) throw malformedPolicy('Statement IDs (SID) in a single policy must be unique.');
      sids.add(st.Sid);
    }
    if (st.Effect !== 'Allow' && st.Effect !== 'Deny') throw malformedPolicy('Invalid effect');
    const principal = st.Principal ?? st.NotPrincipal;
    if (principal === undefined) throw malformedPolicy('Missing required field Principal');
    checkPrincipal(principal);
    const actions = st.Action ?? st.NotAction;
    if (actions === undefined) throw malformedPolicy('Missing required field Action');
    for (const a of listOf(actions))
      if (typeof a !== 'string' || !(a === '*' || /^s3:[A-Za-z*?]+$/i.test(a)))
        throw malformedPolicy('Policy has invalid action');
    const resources = st.Resource ?? st.NotResource;
    if (resources === undefined) throw malformedPolicy('Missing required field Resource');
    for (const r of listOf(resources))
      if (
        typeof r !== 'string' ||
        !(r === `arn:aws:s3:::${bucket}` || r.startsWith(`arn:aws:s3:::${bucket}/`))
      )
        throw malformedPolicy('Policy has invalid resource');
    if (st.Condition !== undefined && (typeof st.Condition !== 'object' || st.Condition === null))
      throw malformedPolicy('Invalid Condition');
  }
  return d;
}

const AWS_PRINCIPAL =
  /^(\*|\d{12}|arn:aws:iam::\d{12}:(root|user\/[\w+=,.@/-]+|role\/[\w+=,.@/-]+)|arn:aws:sts::\d{12}:assumed-role\/[\w+=,.@-]+\/[\w+=,.@-]+)$/;

function checkPrincipal(p: unknown): void {
  if (p === '*') return;
  const invalid = () => malformedPolicy('Invalid principal in policy');
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw invalid();
  const entries = Object.entries(p as Doc);
  if (entries.length === 0) throw invalid();
  for (const [kind, v] of entries) {
    const values = listOf(v);
    if (values.length === 0 || values.some((x) => typeof x !== 'string')) throw invalid();
    const ok =
      kind === 'AWS'
        ? values.every((x) => AWS_PRINCIPAL.test(String(x)))
        : kind === 'Service'
          ? values.every((x) => /^[a-z0-9.-]+\.amazonaws\.com$/.test(String(x)))
          : kind === 'CanonicalUser'
            ? values.every((x) => /^[0-9a-f]{64}$/.test(String(x)))
            : kind === 'Federated';
    if (!ok) throw invalid();
  }
}

/** Condition keys that pin a wildcard principal to known parties, so the grant is not public. */
const FIXING_KEYS = new Set(
  [
    'aws:SourceIp',
    'aws:SourceArn',
    'aws:SourceVpc',
    'aws:SourceVpce',
    'aws:SourceOwner',
    'aws:SourceAccount',
    'aws:SourceOrgID',
    'aws:userid',
    'aws:PrincipalAccount',
    'aws:PrincipalArn',
    'aws:PrincipalOrgID',
    's3:DataAccessPointArn',
    's3:DataAccessPointAccount',
  ].map((k) => k.toLowerCase()),
);

/**
 * "The meaning of public": a policy is public when an Allow statement grants to a wildcard
 * principal (or uses NotPrincipal) without a condition that fixes it to known values.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status
 */
export function isPublicPolicy(doc: Doc): boolean {
  return listOf(doc.Statement).some((raw) => {
    const st = raw as Doc;
    if (st.Effect !== 'Allow') return false;
    const wildcard =
      st.NotPrincipal !== undefined ||
      st.Principal === '*' ||
      listOf((st.Principal as Doc | undefined)?.AWS ?? []).includes('*');
    if (!wildcard) return false;
    const fixed = Object.entries((st.Condition as Record<string, Doc> | undefined) ?? {}).some(
      ([op, block]) =>
        !/IfExists$/.test(op) &&
        Object.entries(block).some(
          ([key, value]) =>
            FIXING_KEYS.has(key.toLowerCase()) && listOf(value).every((x) => !String(x).includes('*')),
        ),
    );
    return !fixed;
  });
}

/**
 * The policy as GetBucketPolicy returns it: S3 keeps the document, not the text (whitespace
 * goes), and an account id written as a principal comes back as the account's root ARN.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-accounts
 */
function storedPolicy(text: string): string {
  const doc = JSON.parse(text) as Doc;
  const root = (x: unknown) => (typeof x === 'string' && /^\d{12}$/.test(x) ? `arn:aws:iam::${x}:root` : x);
  const statements = listOf(doc.Statement).map((raw) => {
    const st = { ...(raw as Doc) };
    for (const k of ['Principal', 'NotPrincipal']) {
      const p = st[k];
      if (typeof p === 'object' && p !== null && (p as Doc).AWS !== undefined) {
        const aws = (p as Doc).AWS;
        st[k] = { ...(p as Doc), AWS: Array.isArray(aws) ? aws.map(root) : root(aws) };
      }
    }
    return st;
  });
  return JSON.stringify({ ...doc, Statement: Array.isArray(doc.Statement) ? statements : statements[0] });
}

/**
 * The examples' bucket half: their warehouse half (the tables their exports read, on the
 * embedded warehouse) is run by the export tests, not against this S3 server.
 */
export function bucketsOnly(loaded: LoadedConfig): LoadedConfig {
  const keep = Object.entries(loaded.connections).filter(([, c]) => c.type === 's3');
  const config = { ...loaded.config, connections: Object.fromEntries(keep) };
  delete config.schemas;
  delete config.tables;
  delete config.syncs;
  delete config.defaultConnection;
  return { ...loaded, config, connections: Object.fromEntries(keep), defaultConnection: keep[0]![0] };
}
