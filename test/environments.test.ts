// One file for several environments: `${env:NAME}` (with `:-default`) in every string value,
// values from `--var`, `--var-file` and the environment (in that order), resolved values shown in
// the plan except secrets, and `-f DIR` merging a folder's files. Runs the CLI in-process against
// two databases of a real PostgreSQL and the embedded bucket store.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { envScope } from './support/env.js';
import { startTestServer, type TestServer } from './support/pg.js';

let pg: TestServer;
let dir: string;
let dbA: string;
let dbB: string;
const env = envScope();
const setEnv = env.set;

beforeAll(async () => {
  pg = await startTestServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-envs-'));
  dbA = await pg.createDatabase('staging');
  dbB = await pg.createDatabase('production');
}, 120_000);

afterAll(async () => {
  await pg?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  env.restore();
});

/** The environment-neutral file: the database, the vendor's user and the bucket differ. */
function writeShared(name = 'wharf.yaml'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(
    file,
    `version: 1
connections:
  wh:
    type: postgres
    url: "postgres://${pg.server.user}:\${env:WH_PASSWORD}@127.0.0.1:${pg.server.port}/\${env:WH_DATABASE}"
  files:
    type: local-bucket
    dir: "\${env:BUCKET_DIR:-buckets}"
defaultConnection: wh
schemas:
  - name: vendor_share
    owner: "\${env:VENDOR_USER}"
roles:
  - name: "\${env:VENDOR_USER}"
    type: user
buckets:
  - name: "acme-\${env:STAGE}-drop"
    create: true
    folders: ["\${env:VENDOR_FOLDER:-events}/"]
`,
  );
  return file;
}

interface JsonPlan {
  changes: { address: string; action: string }[];
  diagnostics: { severity: string; message: string }[];
}

async function planJson(file: string, vars: string[]): Promise<JsonPlan> {
  const r = await runCli(['plan', '-f', file, '--json', ...vars.flatMap((v) => ['--var', v])]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as JsonPlan;
}

describe('one file, two environments', () => {
  it('plans the two expected plans against two databases', async () => {
    const file = writeShared();
    setEnv({ WH_PASSWORD: pg.server.password });
    const staging = [`WH_DATABASE=${dbA}`, 'VENDOR_USER=heap_staging', 'STAGE=staging'];
    const production = [`WH_DATABASE=${dbB}`, 'VENDOR_USER=heap_prod', 'STAGE=prod', 'VENDOR_FOLDER=heap'];
    const a = await planJson(file, staging);
    const b = await planJson(file, production);
    const addresses = (p: JsonPlan) => p.changes.map((c) => `${c.action} ${c.address}`).sort();
    expect(addresses(a)).toEqual(
      [
        'create wh.role:heap_staging',
        'create wh.schema:vendor_share',
        'create files.bucket:acme-staging-drop',
      ].sort(),
    );
    expect(addresses(b)).toEqual(
      [
        'create wh.role:heap_prod',
        'create wh.schema:vendor_share',
        'create files.bucket:acme-prod-drop',
      ].sort(),
    );
    // The resolved values are what the plan shows (and its SQL uses).
    const text = await runCli(['plan', '-f', file, ...production.flatMap((v) => ['--var', v])]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('"heap_prod"');
    expect(text.stdout).toContain('heap/');
    expect(text.stdout).not.toContain('${env:');

    // Apply staging to its database; then staging plans nothing and production still plans its own.
    const applied = await runCli([
      'apply',
      '-f',
      file,
      '--auto-approve',
      ...staging.flatMap((v) => ['--var', v]),
    ]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect((await planJson(file, staging)).changes).toEqual([]);
    expect(addresses(await planJson(file, production))).toEqual(addresses(b));
    const c = await pg.client(dbA);
    try {
      const owner = await c.query(
        `SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = 'vendor_share'`,
      );
      expect(owner.rows).toEqual([{ owner: 'heap_staging' }]);
    } finally {
      await c.end();
    }
    const d = await pg.client(dbB);
    try {
      const none = await d.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'vendor_share'`);
      expect(none.rowCount).toBe(0);
    } finally {
      await d.end();
    }
  }, 120_000);
});

/** Line and column (1-based) where `needle` starts in `file`. */
function positionOf(file: string, needle: string): { line: number; col: number } {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const line = lines.findIndex((l) => l.includes(needle));
  expect(line).toBeGreaterThanOrEqual(0);
  return { line: line + 1, col: lines[line]!.indexOf(needle) + 1 };
}

describe('where values come from', () => {
  it('an unset variable without a default is an error at its place, and nothing runs', async () => {
    const file = writeShared('unset.yaml');
    setEnv({ WH_PASSWORD: pg.server.password, VENDOR_USER: undefined, STAGE: undefined });
    const r = await runCli([
      'apply',
      '-f',
      file,
      '--auto-approve',
      '--var',
      `WH_DATABASE=${dbB}`,
      '--var',
      'STAGE=x',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const owner = positionOf(file, '"${env:VENDOR_USER}"');
    expect(r.stderr).toContain(`${file}:${owner.line}:${owner.col}`);
    expect(r.stderr).toContain('variable VENDOR_USER is not set');
    // Each place that names it is reported (the owner and the role's name), none other.
    expect(r.stderr.match(/variable \w+ is not set/g)).toEqual([
      'variable VENDOR_USER is not set',
      'variable VENDOR_USER is not set',
    ]);
    const c = await pg.client(dbB);
    try {
      expect((await c.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'vendor_share'`)).rowCount).toBe(0);
    } finally {
      await c.end();
    }
    // validate reads the same values: the same error.
    const v = await runCli(['validate', '-f', file, '--var', 'STAGE=x']);
    expect(v.code).toBe(1);
    expect(v.stderr).toContain(`${file}:${owner.line}:${owner.col}`);
  });

  it('a default is used when the variable is unset; --var beats --var-file, which beats the environment', async () => {
    const file = writeShared('defaults.yaml');
    setEnv({
      WH_PASSWORD: pg.server.password,
      WH_DATABASE: dbB,
      VENDOR_USER: 'from_env',
      STAGE: 'env',
      VENDOR_FOLDER: undefined,
    });
    const env = await planJson(file, []);
    expect(env.changes.map((c) => c.address)).toContain('wh.role:from_env');
    expect(env.changes.map((c) => c.address)).toContain('files.bucket:acme-env-drop');
    const text = await runCli(['plan', '-f', file]);
    expect(text.stdout).toContain('events/'); // the default of ${env:VENDOR_FOLDER:-events}

    const varFile = path.join(dir, 'production.env');
    fs.writeFileSync(varFile, '# production\nVENDOR_USER=from_file\n\nSTAGE=file\n');
    const fromFile = await runCli(['plan', '-f', file, '--json', '--var-file', varFile]);
    expect(fromFile.code).toBe(0);
    const addresses = (JSON.parse(fromFile.stdout) as JsonPlan).changes.map((c) => c.address);
    expect(addresses).toContain('wh.role:from_file');
    expect(addresses).toContain('files.bucket:acme-file-drop');

    // Terraform's spelling -var works too.
    const fromVar = await runCli(['plan', '-f', file, '--json', '--var-file', varFile, '-var', 'STAGE=cli']);
    expect(fromVar.code).toBe(0);
    const both = (JSON.parse(fromVar.stdout) as JsonPlan).changes.map((c) => c.address);
    expect(both).toContain('wh.role:from_file');
    expect(both).toContain('files.bucket:acme-cli-drop');
    expect(both).not.toContain('files.bucket:acme-file-drop');
  });

  it('a malformed --var-file line is named by its line, without its value', async () => {
    const file = writeShared('badvars.yaml');
    const varFile = path.join(dir, 'bad.env');
    fs.writeFileSync(varFile, 'GOOD=1\nnot a pair Hidden-Value-7\n');
    const r = await runCli(['plan', '-f', file, '--var-file', varFile]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${varFile}:2: expected NAME=value`);
    expect(r.stderr).not.toContain('Hidden-Value-7');
  });

  it('a reference in a key, a default in a secret field and a malformed reference are refused where they are', async () => {
    const file = path.join(dir, 'refused.yaml');
    fs.writeFileSync(
      file,
      `version: 1
connections:
  "\${env:NAME}":
    type: postgres
    url: "postgres://u:\${env:PW:-hunter2}@127.0.0.1/db"
schemas:
  - name: "\${env:BROKEN"
`,
    );
    const r = await runCli(['validate', '-f', file]);
    expect(r.code).toBe(1);
    const key = positionOf(file, '"${env:NAME}"');
    const url = positionOf(file, '"postgres://');
    const broken = positionOf(file, '"${env:BROKEN');
    const lines = r.stderr.split('\n');
    const at = (p: { line: number; col: number }, message: string) =>
      lines.some((l) => l.startsWith(`${file}:${p.line}:${p.col} `) && l.includes(`error: ${message}`));
    expect(at(key, 'a key cannot hold')).toBe(true);
    expect(at(url, 'connections.${env:NAME}.url is a secret field: its ${env:NAME} takes no default')).toBe(
      true,
    );
    expect(at(broken, 'malformed reference')).toBe(true);
  });
});

describe('secrets passed with --var', () => {
  const ROLE_PW = 'Kv7q-Secret-Rw2z-Passed-By-Var';
  const WRONG_PW = 'Xj4m-Wrong-Ty8n-Passed-By-Var';

  it('never appear in any output, plan file or error', async () => {
    const file = path.join(dir, 'secret.yaml');
    fs.writeFileSync(
      file,
      `version: 1
connections:
  wh: { type: postgres, url: "postgres://${pg.server.user}:\${env:WH_PASSWORD}@127.0.0.1:${pg.server.port}/\${env:WH_DATABASE}" }
roles:
  - name: "\${env:VENDOR_USER}"
    type: user
    password: "\${env:VENDOR_PASSWORD}"
`,
    );
    const db = await pg.createDatabase('secret');
    setEnv({ WH_PASSWORD: undefined, VENDOR_PASSWORD: undefined });
    const vars = [
      '--var',
      `WH_PASSWORD=${pg.server.password}`,
      '--var',
      `VENDOR_PASSWORD=${ROLE_PW}`,
      '--var',
      `WH_DATABASE=${db}`,
      '--var',
      'VENDOR_USER=vendor_login',
    ];
    const planFile = path.join(dir, 'secret-plan.json');
    const runs = [
      await runCli(['validate', '-f', file, '--json', ...vars]),
      await runCli(['plan', '-f', file, ...vars]),
      await runCli(['plan', '-f', file, '--json', ...vars]),
      await runCli(['plan', '-f', file, '--markdown', ...vars]),
      await runCli(['plan', '-f', file, '--out', planFile, ...vars]),
      await runCli(['show', planFile]),
      await runCli(['apply', planFile, '--json', ...vars]),
      await runCli(['drift', '-f', file, '--json', ...vars]),
      // Errors: a wrong password, and a role password that is set nowhere.
      await runCli(['plan', '-f', file, ...vars, '--var', `WH_PASSWORD=${WRONG_PW}`]),
      await runCli([
        'apply',
        planFile,
        '--var',
        `WH_PASSWORD=${pg.server.password}`,
        '--var',
        `WH_DATABASE=${db}`,
      ]),
    ];
    const [, plain, json, , saved, , applied, drift, wrong, unsetPw] = runs;
    expect(plain!.code).toBe(0);
    expect(plain!.stdout).toContain('vendor_login');
    expect(json!.code).toBe(0);
    expect(saved!.code).toBe(0);
    expect(applied!.code).toBe(0);
    expect(drift!.code).toBe(0);
    expect(wrong!.code).toBe(1);
    expect(wrong!.stderr).toContain('password authentication failed');
    expect(unsetPw!.code).toBe(1);
    // The role really got the password given on the command line.
    const login = await pg.client(db, 'vendor_login', ROLE_PW);
    await login.end();
    const texts = [...runs.flatMap((r) => [r.stdout, r.stderr]), fs.readFileSync(planFile, 'utf8')];
    for (const secret of [ROLE_PW, WRONG_PW, pg.server.password, encodeURIComponent(pg.server.password)])
      for (const t of texts) expect(t.includes(secret)).toBe(false);
    // The plan shows the references of the secret fields, and the resolved name.
    expect(fs.readFileSync(planFile, 'utf8')).toContain('${env:VENDOR_PASSWORD}');
  }, 120_000);
});

describe('-f DIR', () => {
  function writeDir(name: string, files: Record<string, string>): string {
    const d = path.join(dir, name);
    fs.mkdirSync(d, { recursive: true });
    for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(d, f), text);
    return d;
  }
  const connections = () => `version: 1
connections:
  wh: { type: postgres, url: "${pg.urlFor('${env:WH_DATABASE}')}" }
`;

  it("merges the folder's *.yaml and *.yml files, in name order, into one config", async () => {
    const db = await pg.createDatabase('merged');
    const d = writeDir('merged', {
      '00-connections.yaml': connections(),
      '10-schemas.yml': 'schemas:\n  - name: vendor_share\n',
      '20-tables.yaml':
        'version: 1\ntables:\n  - schema: vendor_share\n    name: events\n    columns:\n      - { name: id, type: bigint }\n',
      'notes.txt': 'not read: schemas: [',
    });
    setEnv({ WH_DATABASE: db });
    const v = await runCli(['validate', '-f', d]);
    expect(v.stderr).toBe('');
    expect(v.stdout).toContain('1 schema, 1 table');
    const plan = await planJson(d, []);
    expect(plan.changes.map((c) => `${c.action} ${c.address}`)).toEqual([
      'create wh.schema:vendor_share',
      'create wh.table:vendor_share.events',
    ]);
  });

  it('reports a definition given in two files at both places, and runs nothing', async () => {
    const db = await pg.createDatabase('dup');
    const d = writeDir('duplicate', {
      'a.yaml': `${connections()}roles:\n  - name: heap\n    type: user\n`,
      'b.yaml': 'schemas:\n  - name: vendor_share\nroles:\n  - name: other\n  - name: HEAP\n',
    });
    setEnv({ WH_DATABASE: db });
    const r = await runCli(['apply', '-f', d, '--auto-approve']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const a = positionOf(path.join(d, 'a.yaml'), 'heap');
    const b = positionOf(path.join(d, 'b.yaml'), 'HEAP');
    const aAt = `${path.join(d, 'a.yaml')}:${a.line}:${a.col}`;
    const bAt = `${path.join(d, 'b.yaml')}:${b.line}:${b.col}`;
    const lines = r.stderr.split('\n');
    expect(
      lines.some((l) => l.startsWith(`${aAt} `) && l.includes(`defined twice: here and at ${bAt}`)),
    ).toBe(true);
    expect(
      lines.some((l) => l.startsWith(`${bAt} `) && l.includes(`defined twice: here and at ${aAt}`)),
    ).toBe(true);
    const c = await pg.client(db);
    try {
      expect((await c.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'vendor_share'`)).rowCount).toBe(0);
    } finally {
      await c.end();
    }
  });

  it('points a problem in any file at that file', async () => {
    const d = writeDir('problems', {
      'a.yaml': connections(),
      'b.yaml': 'schemas:\n  - name: ok_schema\n  - name: vendor_share\n    prnue: false\n',
      'c.yaml': 'roles:\n  - name: heap\n    memberOf: [nobody_declared]\n',
    });
    setEnv({ WH_DATABASE: 'unused' });
    const r = await runCli(['validate', '-f', d]);
    expect(r.code).toBe(1);
    const typo = positionOf(path.join(d, 'b.yaml'), 'prnue');
    expect(r.stderr).toContain(`${path.join(d, 'b.yaml')}:${typo.line}:${typo.col}`);
    expect(r.stderr).toContain('unknown key "prnue"');
  });
});
