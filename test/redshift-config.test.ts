// Redshift keys in the file: connection rules, Redshift-only keys elsewhere, partition as the
// leading sort-key column, and the datashare lint (public share, account vs namespace,
// interleaved sort keys), each reported at its YAML path.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, loadConfigText } from '../src/config/load.js';
import { toDesired } from '../src/config/to-desired.js';

const RS = `
version: 1
connections:
  rs: { type: redshift, cluster: analytics, database: dev, secretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:x" }
schemas: [{ name: s }]
`;

function problems(text: string) {
  return loadConfigText(text, 'f.yaml').diagnostics.map((d) => `${d.severity} ${d.path ?? ''} ${d.message}`);
}

describe('Redshift config rules', () => {
  // Redshift has no TRIGGER privilege, and ALTER DEFAULT PRIVILEGES … ON TABLES takes no ALTER:
  // https://docs.aws.amazon.com/redshift/latest/dg/r_GRANT.html,
  // https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_DEFAULT_PRIVILEGES.html
  it('privileges Redshift lacks are errors at their place, on grants and default privileges', () => {
    const text = `${RS}tables: [{ schema: s, name: t, columns: [{ name: a, type: int }] }]
roles: [{ name: bi, type: user }, { name: loader, type: user }]
grants:
  - { to: bi, privileges: [select, trigger], tables: [s.t] }
  - { to: bi, privileges: [all, drop, alter, truncate], tables: [s.t] }
defaultPrivileges:
  - { forRole: loader, schema: s, privileges: [select, alter, trigger], to: bi }
  - { forRole: loader, privileges: [all, drop, truncate], to: bi }
  - { forRole: loader, privileges: [trigger], to: bi }
`;
    const { diagnostics } = loadConfigText(text, 'f.yaml');
    expect(diagnostics.map((d) => `${d.line}:${d.col} ${d.path} ${d.message}`)).toEqual([
      '9:36 grants[0].privileges[1] privilege "trigger" does not apply to tables on Redshift (allowed: select, insert, update, delete, drop, references, alter, truncate, all)',
      '12:56 defaultPrivileges[0].privileges[1] privilege "alter" does not apply to default privileges on tables on Redshift (allowed: select, insert, update, delete, drop, references, truncate, all)',
      '12:63 defaultPrivileges[0].privileges[2] privilege "trigger" does not apply to default privileges on tables on Redshift (allowed: select, insert, update, delete, drop, references, truncate, all)',
      '14:37 defaultPrivileges[2].privileges[0] privilege "trigger" does not apply to default privileges on tables on Redshift (allowed: select, insert, update, delete, drop, references, truncate, all)',
    ]);
    expect(diagnostics.every((d) => d.file === 'f.yaml' && d.severity === 'error')).toBe(true);
  });

  it('PostgreSQL keeps its own privilege list: trigger is fine there, drop is not', () => {
    expect(
      problems(`
version: 1
connections: { pg: { type: postgres, url: "postgres://u:\${env:P}@h/db" } }
schemas: [{ name: s }]
tables: [{ schema: s, name: t, columns: [{ name: a, type: int }] }]
roles: [{ name: bi }]
grants: [{ to: bi, privileges: [trigger, drop], tables: [s.t] }]
`),
    ).toEqual([
      'error grants[0].privileges[1] privilege "drop" does not apply to tables (allowed: select, insert, update, delete, truncate, references, trigger, all)',
    ]);
  });

  it('a connection needs one of cluster/workgroup and one of secretArn/dbUser; dbUser is provisioned only', () => {
    expect(
      problems(`
version: 1
connections:
  a: { type: redshift, database: dev, secretArn: "arn:aws:secretsmanager:us-east-1:1:secret:x" }
  b: { type: redshift, workgroup: wg-1, database: dev, dbUser: admin }
defaultConnection: a
`),
    ).toEqual([
      'error connections.a connection a: type redshift needs exactly one of "cluster" (provisioned) or "workgroup" (serverless)',
      'error connections.b.dbUser connection b: "dbUser" works with a provisioned cluster only; use "secretArn" with a workgroup',
    ]);
  });

  // UNLOAD writes to S3 as an IAM role given by its ARN
  // (https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-authorization.html).
  it('iamRole is a role ARN, required when a bucket export reads from the connection, and Redshift-only', () => {
    const file = (rs: string, other = '') => `
version: 1
connections:
  rs: { type: redshift, cluster: analytics, database: dev, dbUser: admin${rs} }
  files: { type: s3, region: us-east-1${other} }
defaultConnection: rs
buckets: [{ name: exports-bucket, connection: files }]
syncs:
  - name: ev
    from: { table: raw.events }
    to: { bucket: exports-bucket, prefix: events/ }
    mode: full
`;
    expect(problems(file(''))).toEqual([
      'error syncs[0].from sync ev: a bucket export from Redshift is written by UNLOAD, which needs "iamRole" on connection rs (the IAM role ARN Redshift assumes to write to the bucket)',
    ]);
    expect(problems(file(', iamRole: "arn:aws:iam::123456789012:user/me"'))).toEqual([
      'error connections.rs.iamRole connection rs: iamRole "arn:aws:iam::123456789012:user/me" is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)',
    ]);
    expect(problems(file(', iamRole: "arn:aws:iam::123456789012:role/wharf-unload"'))).toEqual([]);
    expect(
      problems(
        file(
          ', iamRole: "arn:aws:iam::123456789012:role/wharf-unload"',
          ', iamRole: "arn:aws:iam::123456789012:role/x"',
        ),
      ),
    ).toEqual(['error connections.files.iamRole connection files: "iamRole" applies to type redshift only']);
  });

  it('a Redshift connection may name its region', () => {
    expect(
      problems(`
version: 1
connections:
  rs: { type: redshift, cluster: analytics, database: dev, dbUser: admin, region: eu-west-1, endpoint: "https://vpce-1.redshift-data.eu-west-1.vpce.amazonaws.com" }
`),
    ).toEqual([]);
  });

  it('Redshift-only table keys on a PostgreSQL connection are errors', () => {
    expect(
      problems(`
version: 1
connections: { pg: { type: postgres, url: "postgres://u:\${env:P}@h/db" } }
schemas: [{ name: s }]
tables:
  - schema: s
    name: t
    columns: [{ name: a, type: int, encode: az64 }]
    distribution: { style: even }
    sortKey: { columns: [a] }
`),
    ).toEqual([
      'error tables[0].columns[0].encode table s.t: "encode" applies to a redshift connection only',
      'error tables[0].distribution table s.t: "distribution" applies to a redshift connection only',
      'error tables[0].sortKey table s.t: "sortKey" applies to a redshift connection only',
    ]);
  });

  it('partition becomes the leading sort-key column, and the plan says so', () => {
    const text = `${RS}
tables:
  - schema: s
    name: Events
    columns: [{ name: T, type: timestamp }, { name: u, type: bigint }]
    partition: { by: t, granularity: month }
`;
    const r = loadConfigText(text, 'f.yaml');
    expect(r.diagnostics.map((d) => `${d.severity} ${d.message}`)).toEqual([
      'info table s.events: Redshift has no partitions; partition on t becomes the leading sort-key column (compound SORTKEY starting with t)',
    ]);
    const t = toDesired(r.loaded!, new Date('2026-11-23T00:00:00Z'))
      .get('rs')!
      .find((x) => x.kind === 'table');
    expect(t).toMatchObject({ partition: null, redshift: { sortKey: { type: 'compound', columns: ['t'] } } });
    expect(
      problems(`${RS}
tables:
  - schema: s
    name: e
    columns: [{ name: t, type: timestamp }, { name: u, type: bigint }]
    partition: { by: t, granularity: month }
    sortKey: { columns: [u, t] }
`),
    ).toEqual([
      'error tables[0].sortKey.columns[0] table s.e: on Redshift, partition maps to the leading sort-key column; make "t" the first sort-key column',
    ]);
  });

  it('lints datashares: public, account given as namespace and the reverse, interleaved tables', () => {
    expect(
      problems(`${RS}
tables:
  - schema: s
    name: t
    columns: [{ name: a, type: int }]
    sortKey: { type: interleaved, columns: [a] }
datashares:
  - name: share
    publicAccessible: true
    tables: [s.t]
    consumers:
      - { account: "86b5169f-01dc-4a6f-9fbb-e2e24359e9a8" }
      - { namespace: "388856629077" }
      - { account: "12345" }
`),
    ).toEqual([
      'warning datashares[0].publicAccessible datashare share is publicly accessible: consumer clusters that are reachable from the internet may use it; keep it only if the consumer requires it',
      'error datashares[0].tables[0] datashare share: table s.t has an interleaved sort key, and Redshift does not share such tables; use a compound sort key',
      'error datashares[0].consumers[0].account datashare share: "86b5169f-01dc-4a6f-9fbb-e2e24359e9a8" is a namespace id, not an account; write namespace: "86b5169f-01dc-4a6f-9fbb-e2e24359e9a8"',
      'error datashares[0].consumers[1].namespace datashare share: "388856629077" is an account id, not a namespace; write account: "388856629077"',
      'error datashares[0].consumers[2].account datashare share: account must be a 12-digit AWS account id (quote it so YAML keeps leading zeros)',
    ]);
  });

  it('on Redshift, only users join groups; roles join roles', () => {
    expect(
      problems(`${RS}
roles:
  - { name: g, type: group }
  - { name: r, type: role, memberOf: [g] }
  - { name: u, type: user, memberOf: [g, r] }
  - { name: v, type: user, memberOf: [u] }
`),
    ).toEqual([
      'error roles[1].memberOf[0] role r: on Redshift only users can be members of group g',
      'error roles[3].memberOf[0] role v: on Redshift a user cannot have members',
    ]);
  });

  it('a datashare on PostgreSQL is a publication: no consumers, nothing public, whole schemas need includeNew', () => {
    expect(
      problems(`
version: 1
schemas: [{ name: s }, { name: t }]
datashares: [{ name: share, schemas: [s, { name: t, includeNew: true }], publicAccessible: true, consumers: [{ account: "388856629077" }] }]
`),
    ).toEqual([
      'error datashares[0].schemas[0] datashare share: on local a publication holds tables; share schema s with includeNew: true (the whole schema) or list its tables',
      'error datashares[0].publicAccessible datashare share: "publicAccessible" applies to Redshift only; on local a datashare is a publication',
      'error datashares[0].consumers datashare share: consumers by account or namespace are Redshift-only; on local a datashare is a publication that subscribers connect to by name',
    ]);
  });

  it('folds mixed-case datashare and object names like Redshift does', () => {
    const r = loadConfigText(
      `${RS}
tables: [{ schema: S, name: T, columns: [{ name: a, type: int }] }]
datashares: [{ name: My_Share, schemas: [{ name: S, includeNew: true }], tables: [S.T], consumers: [{ namespace: "86B5169F-01DC-4A6F-9FBB-E2E24359E9A8" }] }]
`,
      'f.yaml',
    );
    expect(r.diagnostics).toEqual([]);
    const d = toDesired(r.loaded!, new Date())
      .get('rs')!
      .find((x) => x.kind === 'datashare');
    expect(d).toEqual({
      kind: 'datashare',
      name: 'my_share',
      publicAccessible: false,
      schemas: ['s'],
      tables: ['s.t'],
      includeNew: ['s'],
      consumers: [
        {
          type: 'namespace',
          id: '86b5169f-01dc-4a6f-9fbb-e2e24359e9a8',
          viaDataCatalog: false,
          status: 'granted',
        },
      ],
    });
  });
});

describe('Redshift connection', () => {
  it('builds its clients from the AWS environment without reaching AWS', async () => {
    const { openConnection } = await import('../src/providers/connect.js');
    const saved = process.env.AWS_REGION;
    process.env.AWS_REGION = 'eu-west-1';
    try {
      const c = await openConnection(
        'rs',
        {
          type: 'redshift',
          workgroup: 'analytics-wg',
          database: 'dev',
          secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x',
        },
        '.',
      );
      expect(c.provider.type).toBe('redshift');
      expect(c.description).toBe(
        'Redshift workgroup analytics-wg, database dev (eu-west-1), through the Data API',
      );
      await c.close();
    } finally {
      if (saved === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = saved;
    }
  });
});

// Redshift reserves words PostgreSQL does not (https://docs.aws.amazon.com/redshift/latest/dg/r_pg_keywords.html):
// as names they must be quoted. wharf quotes the names it writes; a sync's query is the user's.
describe('Redshift reserved words in sync queries', () => {
  const EXAMPLES = path.join(import.meta.dirname, '..', 'examples');

  it('every example passes validation without errors or reserved-word warnings', () => {
    const files = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const found = loadConfigFile(path.join(EXAMPLES, f)).diagnostics.filter(
        (d) => d.severity === 'error' || d.code === 'reserved-word',
      );
      expect([f, found]).toEqual([f, []]);
    }
  });

  it('the Toplyne syncs example quotes "timestamp" in its query', () => {
    const { loaded } = loadConfigFile(path.join(EXAMPLES, 'toplyne-redshift-syncs.yaml'));
    const query = loaded!.config.syncs!.find((s) => s.name === 'events')!.from.query!;
    expect(query).toContain('AS "timestamp"');
    expect(query).not.toMatch(/AS timestamp\b/i);
  });

  it('an unquoted reserved word used as a name is a warning at the query; keywords and quoted names are not', () => {
    const text = `${RS}syncs:
  - name: ev
    from: { query: "SELECT a AS timestamp, CAST(b AS timestamp) AS \\"open\\", c.tag, sysdate FROM s.t c WHERE c.a IS NOT NULL" }
    to: { table: s.d }
    mode: full
tables:
  - { schema: s, name: d, columns: [{ name: timestamp, type: timestamp }, { name: open, type: timestamp }, { name: tag, type: int }, { name: sd, type: timestamp }] }
`;
    const { diagnostics } = loadConfigText(text, 'f.yaml');
    expect(
      diagnostics
        .filter((d) => d.code === 'reserved-word')
        .map((d) => `${d.severity} ${d.line}:${d.col} ${d.path} ${d.message}`),
    ).toEqual([
      'warning 8:20 syncs[0].from.query sync ev: "timestamp" is a Redshift reserved word; as a name in the query write it quoted, "timestamp" (at character 13)',
      'warning 8:20 syncs[0].from.query sync ev: "tag" is a Redshift reserved word; as a name in the query write it quoted, "tag" (at character 58)',
    ]);
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it('the same query reading from PostgreSQL is not checked against Redshift words', () => {
    const text = `
version: 1
connections:
  rs: { type: redshift, cluster: analytics, database: dev, dbUser: admin }
  app: { type: postgres, url: "postgres://u:\${env:P}@h/db" }
defaultConnection: rs
schemas: [{ name: s }]
tables: [{ schema: s, name: d, columns: [{ name: timestamp, type: timestamp }] }]
syncs:
  - { name: ev, from: { connection: app, query: "SELECT a AS timestamp FROM t" }, to: { table: s.d }, mode: full }
`;
    expect(loadConfigText(text, 'f.yaml').diagnostics.filter((d) => d.code === 'reserved-word')).toEqual([]);
  });
});
