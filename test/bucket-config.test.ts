// Bucket rules at load time: connection keys per type, warehouse objects kept off bucket
// connections, folders, the owning account for policy lint, the ownership tag's size, and
// the desired bucket resource with its defaults.
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../src/config/load.js';
import { toDesired } from '../src/config/to-desired.js';

function problems(text: string): string[] {
  return loadConfigText(text, 'f.yaml').diagnostics.map(
    (d) => `${d.line}:${d.col} ${d.path} ${d.severity}: ${d.message}`,
  );
}

const ACCOUNT_GRANT = `
buckets:
  - name: own-share
    policy:
      statements:
        - sid: Own
          principals: ["111122223333"]
          actions: [s3:GetObject]
          resources: [objects]
        - sid: DenyInsecureTransport
          effect: deny
          principals: "*"
          actions: ["s3:*"]
          resources: [bucket, objects]
          conditions: { Bool: { "aws:SecureTransport": false } }
`;

describe('bucket rules', () => {
  it('an account principal is an error, unless it is the accountId of the connection', () => {
    const without = problems(
      `version: 1\nconnections:\n  s: { type: s3, region: eu-west-1 }${ACCOUNT_GRANT}`,
    );
    expect(without.join('\n')).toMatch(
      /buckets\[0\]\.policy\.statements\[0\] error: bucket own-share: Own: allows 111122223333/,
    );
    const own = problems(
      `version: 1\nconnections:\n  s: { type: s3, region: eu-west-1, accountId: "111122223333" }${ACCOUNT_GRANT}`,
    );
    expect(own).toEqual([]);
  });

  it('keys of one connection type on another, and warehouse objects on a bucket connection, are errors', () => {
    expect(
      problems(`version: 1
connections:
  w: { type: local, region: eu-west-1 }
  b: { type: local-bucket, url: "postgres://x", endpoint: "http://127.0.0.1:1" }
defaultConnection: b
schemas:
  - name: analytics
`),
    ).toEqual([
      '3:29 connections.w.region error: connection w: "region" applies to type s3 only',
      '4:33 connections.b.url error: connection b: type local-bucket takes no "url"',
      '4:59 connections.b.endpoint error: connection b: "endpoint" applies to type s3 only',
      '7:5 schemas[0] error: schema analytics: connection b holds buckets, not warehouse objects; name a warehouse connection',
    ]);
  });

  it('folders are normalized with one trailing slash; a folder listed twice is an error', () => {
    expect(
      problems(`version: 1\nbuckets:\n  - name: f-share\n    folders: [events, events/, a//b/]\n`),
    ).toEqual([
      '4:23 buckets[0].folders[1] error: bucket f-share: folder "events/" is listed twice (first at folders[0])',
      '4:32 buckets[0].folders[2] error: bucket f-share: folder "a//b/" has an empty segment (//)',
    ]);
  });

  it('Sids that do not fit the ownership tag are an error', () => {
    const statements = Array.from(
      { length: 12 },
      (_, i) =>
        `        - { sid: VendorStatementNumber${i}x, principals: ["arn:aws:iam::388856629077:role/V"], actions: [s3:GetObject], resources: [objects] }`,
    ).join('\n');
    const out = problems(
      `version: 1\nbuckets:\n  - name: t-share\n    policy:\n      statements:\n${statements}\n`,
    );
    expect(out.join('\n')).toMatch(
      /the statements' Sids take \d+ characters; wharf records them in a bucket tag of at most 256/,
    );
  });

  it('the desired bucket carries the documented defaults', () => {
    const { loaded } = loadConfigText(
      'version: 1\nbuckets:\n  - name: d-share\n    folders: [b, a/]\n',
      'f.yaml',
    );
    const desired = toDesired(loaded!, new Date(0));
    expect(desired.get('buckets')).toEqual([
      {
        kind: 'bucket',
        name: 'd-share',
        create: false,
        blockPublicAccess: {
          BlockPublicAcls: true,
          IgnorePublicAcls: true,
          BlockPublicPolicy: true,
          RestrictPublicBuckets: true,
        },
        objectOwnership: 'BucketOwnerEnforced',
        encryption: null,
        folders: ['a/', 'b/'],
        policy: null,
        policyExclusive: false,
      },
    ]);
    expect(desired.get('local')).toEqual([]);
  });
});
