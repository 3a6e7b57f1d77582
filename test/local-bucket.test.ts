// The embedded bucket store (type: local-bucket) through the CLI, as a newcomer uses it: the
// plan shows API calls marked "recorded, not enforced", the policy diff and access summary;
// widening access needs --allow-widen or a "yes" at the prompt; apply then plan converges;
// out-of-band edits are drift or unmanaged statements.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Plan } from '../src/plan/plan.js';
import { runCli } from './support/cli.js';

const FILE = `version: 1
connections:
  files: { type: local-bucket }
buckets:
  - name: acme-vendor-share
    create: true
    folders: [events/, metrics, signals/]
    encryption: { type: sse-s3 }
    policy:
      statements:
        - sid: VendorRead
          principals: ["arn:aws:iam::388856629077:role/Vendor"]
          actions: [s3:GetObject, s3:ListBucket]
          resources: [bucket, objects]
          readOnly: true
        - sid: DenyInsecureTransport
          effect: deny
          principals: "*"
          actions: ["s3:*"]
          resources: [bucket, objects]
          conditions: { Bool: { "aws:SecureTransport": false } }
`;

let work: string;
let file: string;
const bucketDir = () => path.join(work, '.wharf', 'buckets', 'acme-vendor-share');
const sidecar = () => path.join(work, '.wharf', 'buckets', 'acme-vendor-share.bucket.json');
const wharf = (...args: string[]) => runCli([...args.slice(0, 1), '-f', file, ...args.slice(1)]);

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-lb-'));
  file = path.join(work, 'wharf.yaml');
  fs.writeFileSync(file, FILE);
});
afterEach(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

describe('local-bucket', () => {
  it('plans API calls, marks settings recorded-not-enforced, and shows the policy diff and who gains access', async () => {
    const json = await wharf('plan', '--json');
    expect(json.code).toBe(0);
    const plan = JSON.parse(json.stdout) as Plan;
    expect(plan.decisions).toEqual({ destroy: false, widen: true });
    expect(plan.connections.files!.scope).toEqual({
      schemas: [],
      roles: [],
      buckets: ['acme-vendor-share'],
      folders: { 'acme-vendor-share': ['events/', 'metrics/', 'signals/'] },
    });
    const [c] = plan.changes;
    expect(c).toMatchObject({ address: 'files.bucket:acme-vendor-share', action: 'create', widening: true });
    expect(c!.statements.map((s) => [s.api!.operation, s.enforced ?? true])).toEqual([
      ['CreateBucket', true],
      ['PutBucketOwnershipControls', false],
      ['PutPublicAccessBlock', false],
      ['PutBucketEncryption', false],
      ['PutObject', true],
      ['PutObject', true],
      ['PutObject', true],
      ['PutBucketPolicy', false],
      ['PutBucketTagging', true],
    ]);
    expect(c!.policy!.access).toContain(
      'arn:aws:iam::388856629077:role/Vendor gains s3:GetObject on arn:aws:s3:::acme-vendor-share/*',
    );

    const text = await wharf('plan');
    expect(text.stdout).toContain('[widens access]');
    expect(text.stdout).toContain('(recorded, not enforced)');
    expect(text.stdout).toContain('+++ planned');
    expect(text.stdout).toContain('apply needs --allow-widen');

    const md = await wharf('plan', '--markdown');
    expect(md.stdout).toContain('**1 change(s) widen access**');
    expect(md.stdout).toContain('```diff');
    expect(md.stdout).toContain('s3:PutBucketPolicy Bucket=acme-vendor-share');
  });

  it('apply refuses to widen access without --allow-widen, then applies with it and converges', async () => {
    const refused = await wharf('apply', '--auto-approve');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/widen access; re-run with --allow-widen/);
    expect(fs.existsSync(bucketDir())).toBe(false);

    const applied = await wharf('apply', '--auto-approve', '--allow-widen');
    expect(applied.code).toBe(0);
    for (const f of ['events', 'metrics', 'signals'])
      expect(fs.statSync(path.join(bucketDir(), f)).isDirectory()).toBe(true);
    const recorded = JSON.parse(fs.readFileSync(sidecar(), 'utf8'));
    expect(recorded.objectOwnership).toBe('BucketOwnerEnforced');
    expect(recorded.policy.Statement.map((s: { Sid: string }) => s.Sid)).toEqual([
      'VendorRead',
      'DenyInsecureTransport',
    ]);

    const again = await wharf('plan', '--detailed-exitcode');
    expect(again.stdout).toContain('No changes');
    expect(again.code).toBe(0);
  });

  it('a "yes" at the terminal prompt approves the wider access', async () => {
    const r = await runCli(['apply', '-f', file], { tty: true, input: 'yes\n' });
    expect(r.stdout).toContain('including the wider access?');
    expect(r.code).toBe(0);
    expect(fs.existsSync(bucketDir())).toBe(true);
  });

  it('a saved plan that widens access needs --allow-widen too', async () => {
    const out = path.join(work, 'plan.json');
    expect((await wharf('plan', '--out', out)).code).toBe(0);
    const refused = await runCli(['apply', out]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--allow-widen');
    expect((await runCli(['apply', out, '--allow-widen'])).code).toBe(0);
  });

  it('a saved plan is refused when the bucket moved since it was made', async () => {
    await wharf('apply', '--auto-approve', '--allow-widen');
    const recorded = JSON.parse(fs.readFileSync(sidecar(), 'utf8'));
    recorded.objectOwnership = 'ObjectWriter';
    fs.writeFileSync(sidecar(), JSON.stringify(recorded));
    const out = path.join(work, 'plan.json');
    expect((await wharf('plan', '--out', out)).code).toBe(0);
    recorded.encryption = null;
    fs.writeFileSync(sidecar(), JSON.stringify(recorded));
    const stale = await runCli(['apply', out]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/the plan is stale: the live state of connection files changed/);
  });

  it('out of band: a foreign statement is unmanaged, a missing folder and a relaxed flag are drift', async () => {
    await wharf('apply', '--auto-approve', '--allow-widen');
    const recorded = JSON.parse(fs.readFileSync(sidecar(), 'utf8'));
    recorded.policy.Statement.push({
      Sid: 'Analysts',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::123456789012:role/analysts' },
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::acme-vendor-share/*',
    });
    fs.writeFileSync(sidecar(), JSON.stringify(recorded));
    const quiet = await wharf('drift', '-v');
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toContain('files.bucket:acme-vendor-share/policy:Analysts');

    recorded.blockPublicAccess.RestrictPublicBuckets = false;
    fs.writeFileSync(sidecar(), JSON.stringify(recorded));
    fs.rmSync(path.join(bucketDir(), 'signals'), { recursive: true });
    const drift = await wharf('drift', '--json');
    expect(drift.code).toBe(2);
    const plan = JSON.parse(drift.stdout) as Plan;
    expect(plan.changes[0]!.fields.map((f) => f.path)).toEqual([
      'blockPublicAccess.RestrictPublicBuckets',
      'folders.signals/',
    ]);
    expect(plan.changes[0]!.statements.map((s) => s.api!.operation)).toEqual([
      'PutPublicAccessBlock',
      'PutObject',
    ]);
    expect(plan.decisions.widen).toBeUndefined();

    expect((await wharf('apply', '--auto-approve')).code).toBe(0);
    expect((await wharf('plan', '--detailed-exitcode')).code).toBe(0);
    const kept = JSON.parse(fs.readFileSync(sidecar(), 'utf8'));
    expect(kept.policy.Statement.map((s: { Sid: string }) => s.Sid)).toEqual([
      'VendorRead',
      'DenyInsecureTransport',
      'Analysts',
    ]);
  });

  it('turning block public access off widens access and is a warning at validate', async () => {
    await wharf('apply', '--auto-approve', '--allow-widen');
    fs.writeFileSync(
      file,
      FILE.replace('    create: true\n', '    create: true\n    blockPublicAccess: false\n'),
    );
    const v = await wharf('validate');
    expect(v.code).toBe(0);
    expect(v.stderr).toMatch(
      /buckets\[0\]\.blockPublicAccess {2}warning: bucket acme-vendor-share: block public access is off/,
    );
    const plan = JSON.parse((await wharf('plan', '--json')).stdout) as Plan;
    expect(plan.changes[0]!.widening).toBe(true);
    expect(plan.changes[0]!.reasons).toContain('block public access: BlockPublicPolicy is turned off');
    expect(plan.diagnostics.map((d) => d.code)).toContain('block-public-access-off');
  });

  it('a statement removed from the file is removed from the bucket, which needs --allow-destroy', async () => {
    await wharf('apply', '--auto-approve', '--allow-widen');
    const tagged = JSON.parse(fs.readFileSync(sidecar(), 'utf8'));
    expect(tagged.tags).toEqual({ 'wharf:policy-sids': 'DenyInsecureTransport VendorRead' });
    const start = FILE.indexOf('        - sid: VendorRead');
    const end = FILE.indexOf('        - sid: DenyInsecureTransport');
    fs.writeFileSync(file, FILE.slice(0, start) + FILE.slice(end));
    const plan = JSON.parse((await wharf('plan', '--json')).stdout) as Plan;
    expect(plan.changes[0]).toMatchObject({ destructive: true });
    expect(plan.changes[0]!.policy!.access).toContain(
      'arn:aws:iam::388856629077:role/Vendor loses s3:GetObject on arn:aws:s3:::acme-vendor-share/*',
    );
    const refused = await wharf('apply', '--auto-approve');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--allow-destroy');
    expect((await wharf('apply', '--auto-approve', '--allow-destroy')).code).toBe(0);
    const after = JSON.parse(fs.readFileSync(sidecar(), 'utf8'));
    expect(after.policy.Statement.map((s: { Sid: string }) => s.Sid)).toEqual(['DenyInsecureTransport']);
    expect(after.tags).toEqual({ 'wharf:policy-sids': 'DenyInsecureTransport' });
    expect((await wharf('plan', '--detailed-exitcode')).code).toBe(0);
  });

  it('a file without connections gets the embedded bucket store for its buckets', async () => {
    fs.writeFileSync(
      file,
      'version: 1\nbuckets:\n  - name: first-share\n    create: true\n    folders: [events/]\n',
    );
    const applied = await wharf('apply', '--auto-approve');
    expect(applied.stdout).toContain('buckets.bucket:first-share: done');
    expect(fs.statSync(path.join(work, '.wharf', 'buckets', 'first-share', 'events')).isDirectory()).toBe(
      true,
    );
    expect(fs.existsSync(path.join(work, '.wharf', 'local'))).toBe(false); // no warehouse was started
    expect((await wharf('plan', '--detailed-exitcode')).code).toBe(0);
  });

  it('a bucket removed from the file is released: no change, nothing deleted', async () => {
    await wharf('apply', '--auto-approve', '--allow-widen');
    fs.writeFileSync(file, 'version: 1\nconnections:\n  files: { type: local-bucket }\nbuckets: []\n');
    const r = await wharf('plan', '--detailed-exitcode');
    expect(r.code).toBe(0);
    expect(fs.existsSync(bucketDir())).toBe(true);
  });
});
