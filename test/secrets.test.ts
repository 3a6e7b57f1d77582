// Secrets end to end, on a real PostgreSQL whose data folder and server log live in the
// project's .wharf/ folder: a deployer password holding @ # / ? ' " \ $ % and spaces
// connects through `${env:}`, a role's password from `${env:}` reaches the server as a
// SCRAM verifier (and the role really logs in with it over TCP), failures to connect say
// what failed without the password, and afterwards no output, plan file, server log
// (log_statement = all) or file under .wharf/ holds either password in any spelling.
// Also: the verifiers against their references, the one redaction filter, and the hostile
// corpus of literal passwords.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { formatError } from '../src/cli/errors.js';
import { redactingStream } from '../src/cli/redacting-stream.js';
import { registerSecret } from '../src/config/secrets.js';
import { acquireLocalServer, type LocalServer } from '../src/providers/local/local-server.js';
import { redshiftMd5Password, scramSha256Verifier } from '../src/providers/password-verifier.js';
import { runCli } from './support/cli.js';

// Each 4-character run is a marker: none may show up anywhere, not even as a fragment (the
// old URL splicing printed "getaddrinfo ENOTFOUND <the part after the @>").
const PW = `Qx7k@Ld2m#Wf9p/Ke4r?Zr5t'Mn6y"Bv8w\\Hs3j $Tp2v %Gy4q Jc7n%41`;
const ROLE_PW = `Vn3x@Rp8q#Cz1s/Dk6w?Fh2m'Gl9t"Jb4y\\Ws7e $Xa5r %Ym8u Pq3d%2F`;
const WRONG_PW = `Eo4k@Ng7w#Ut2z/Ia5c?Ob8h'Sy1d"Lr6v\\Mj9f $Wq3b %Ka2n Hx5t`;
const SECRETS = [PW, ROLE_PW, WRONG_PW];

/** The spellings a value can take in output, computed here independently of wharf. */
function spellings(v: string): string[] {
  const pct = encodeURIComponent(v);
  return [
    v,
    pct,
    pct.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()),
    encodeURI(v),
    new URLSearchParams({ v }).toString().slice(2),
    JSON.stringify(v).slice(1, -1),
    v.replace(/'/g, "''"),
    Buffer.from(v).toString('base64'),
    Buffer.from(v).toString('base64url'),
  ];
}

const markers = SECRETS.flatMap((s) => s.match(/[A-Za-z0-9]{4}/g) ?? []);

/** Every spelling of every secret (and, in text, every marker) that `text` holds. */
function leaks(text: string, withMarkers = true): string[] {
  const found = SECRETS.flatMap(spellings).filter((f) => text.includes(f));
  if (withMarkers) found.push(...markers.filter((m) => text.includes(m)));
  return found;
}

let project: string;
let server: LocalServer;
let admin: pg.Client;
const DB = 'secrets_db';
const outputs: { what: string; text: string }[] = [];

async function cli(what: string, args: string[]) {
  const r = await runCli(args);
  outputs.push({ what: `${what} stdout`, text: r.stdout }, { what: `${what} stderr`, text: r.stderr });
  return r;
}

function writeConfig(name: string, url: string): string {
  const file = path.join(project, name);
  fs.writeFileSync(
    file,
    `version: 1
connections:
  wh: { type: postgres, url: "${url}" }
schemas:
  - name: vendor_share
tables:
  - schema: vendor_share
    name: events
    columns:
      - { name: id, type: bigint }
roles:
  - { name: vendor_login, type: user, password: "\${env:WHARF_SECRET_ROLE_PW}" }
grants:
  - { to: vendor_login, privileges: [usage], schema: vendor_share }
  - { to: vendor_login, privileges: [select], allTablesInSchema: vendor_share }
`,
  );
  return file;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Set for the whole file in beforeAll; put back in afterAll. */
const SECRET_VARS = [
  'WHARF_SECRET_PW',
  'WHARF_SECRET_ROLE_PW',
  'WHARF_SECRET_WRONG_PW',
  'WHARF_SECRET_URL',
  'WHARF_SECRET_RAW_URL',
];
const savedEnv: Record<string, string | undefined> = {};

const sqlText = (v: string) => `'${v.replace(/'/g, "''")}'`;

beforeAll(async () => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-secrets-'));
  server = await acquireLocalServer({
    dir: path.join(project, '.wharf', 'pg'),
    database: 'postgres',
    binDir: process.env.WHARF_TEST_PG_BIN || undefined,
  });
  admin = new pg.Client({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database: 'postgres',
  });
  await admin.connect();
  // The deployer's password is set the way a person would, before statement logging starts.
  await admin.query('CREATE ROLE deployer LOGIN SUPERUSER');
  await admin.query(`ALTER ROLE deployer PASSWORD ${sqlText(PW)}`);
  await admin.query(`CREATE DATABASE ${DB}`);
  await admin.query(`ALTER SYSTEM SET log_statement = 'all'`);
  await admin.query('SELECT pg_reload_conf()');
  for (let i = 0; i < 100; i++) {
    const { rows } = await admin.query('SHOW log_statement');
    if (rows[0].log_statement === 'all') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const k of SECRET_VARS) savedEnv[k] = process.env[k];
  process.env.WHARF_SECRET_PW = PW;
  process.env.WHARF_SECRET_ROLE_PW = ROLE_PW;
  process.env.WHARF_SECRET_WRONG_PW = WRONG_PW;
  process.env.WHARF_SECRET_URL = `postgres://deployer:${encodeURIComponent(PW)}@127.0.0.1:${server.port}/${DB}`;
  // As users paste it: not percent-encoded, so the "#" cannot be read as part of a URL.
  process.env.WHARF_SECRET_RAW_URL = `postgres://deployer:${PW}@127.0.0.1:${server.port}/${DB}`;
}, 120_000);

afterEach(() => {
  vi.unstubAllEnvs();
});

afterAll(async () => {
  for (const k of SECRET_VARS)
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  await admin?.end().catch(() => {});
  await server?.release();
  fs.rmSync(project, { recursive: true, force: true });
});

describe('secrets on a real PostgreSQL', () => {
  let file: string;

  it('connects with the password from ${env:}, saves a plan with --out and applies it; the role logs in', async () => {
    file = writeConfig(
      'wharf.yaml',
      `postgres://deployer:\${env:WHARF_SECRET_PW}@127.0.0.1:${server.port}/${DB}`,
    );
    const planFile = path.join(project, 'plan.json');
    const planned = await cli('plan --out', ['plan', '-f', file, '--out', planFile]);
    expect(planned.stderr).toBe('');
    expect(planned.code).toBe(0);
    expect(planned.stdout).toContain('wh.role:vendor_login  create');
    expect(planned.stdout).toContain('LOGIN PASSWORD ${env:WHARF_SECRET_ROLE_PW};');
    const saved = fs.readFileSync(planFile, 'utf8');
    outputs.push({ what: 'plan.json', text: saved });
    expect(saved).toContain('PASSWORD ${env:WHARF_SECRET_ROLE_PW}');
    expect(saved).toContain('${env:WHARF_SECRET_PW}@127.0.0.1');

    const applied = await cli('apply plan.json', ['apply', planFile]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/Apply complete: \d+ done, 0 failed, 0 not run/);

    // The server stores exactly what wharf computed: a SCRAM-SHA-256 verifier.
    const { rows } = await admin.query(`SELECT rolpassword FROM pg_authid WHERE rolname = 'vendor_login'`);
    expect(rows[0].rolpassword).toMatch(
      /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/,
    );
    // ...and it works: the vendor logs in over TCP with the clear password, and reads.
    const vendor = new pg.Client({
      host: '127.0.0.1',
      port: server.port,
      user: 'vendor_login',
      password: ROLE_PW,
      database: DB,
    });
    await vendor.connect();
    const who = await vendor.query(
      'SELECT current_user AS u, (SELECT count(*) FROM vendor_share.events)::int AS n',
    );
    expect(who.rows[0]).toEqual({ u: 'vendor_login', n: 0 });
    await vendor.end();
    // A wrong password is still refused: the verifier is not a blank check.
    const impostor = new pg.Client({
      host: '127.0.0.1',
      port: server.port,
      user: 'vendor_login',
      password: WRONG_PW,
      database: DB,
    });
    impostor.on('error', () => {});
    await expect(impostor.connect()).rejects.toMatchObject({ code: '28P01' });
  });

  it('converges: no perpetual password change in plan or drift, also with the whole URL in one variable', async () => {
    const again = await cli('plan', ['plan', '-f', file, '--detailed-exitcode']);
    expect(again.stdout).toContain('No changes');
    expect(again.code).toBe(0);
    const drift = await cli('drift', ['drift', '-f', file]);
    expect(drift.stdout).toContain('No drift');
    expect(drift.code).toBe(0);

    const whole = writeConfig('whole-url.yaml', '${env:WHARF_SECRET_URL}');
    const json = await cli('plan --json (whole URL)', ['plan', '-f', whole, '--json', '--detailed-exitcode']);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).changes).toEqual([]);
    const md = await cli('plan --markdown (whole URL)', ['plan', '-f', whole, '--markdown']);
    expect(md.code).toBe(0);
    const dj = await cli('drift --json', ['drift', '-f', whole, '--json']);
    expect(dj.code).toBe(0);
  });

  it('a failed connection says what failed, not the password', async () => {
    const closed = await freePort();
    const wrongPort = writeConfig(
      'wrong-port.yaml',
      `postgres://deployer:\${env:WHARF_SECRET_PW}@127.0.0.1:${closed}/${DB}`,
    );
    const a = await cli('plan (wrong port)', ['plan', '-f', wrongPort]);
    expect(a.code).toBe(1);
    expect(a.stderr).toContain(`error: connection wh: cannot reach 127.0.0.1:${closed} (ECONNREFUSED)`);

    const wrongPw = writeConfig(
      'wrong-password.yaml',
      `postgres://deployer:\${env:WHARF_SECRET_WRONG_PW}@127.0.0.1:${server.port}/${DB}`,
    );
    const b = await cli('apply (wrong password)', ['apply', '-f', wrongPw, '--auto-approve']);
    expect(b.code).toBe(1);
    expect(b.stderr).toContain('error: connection wh: password authentication failed for user "deployer"');

    const raw = writeConfig('raw-url.yaml', '${env:WHARF_SECRET_RAW_URL}');
    const c = await cli('plan (unencoded URL in a variable)', ['plan', '-f', raw]);
    expect(c.code).toBe(1);
    expect(c.stderr).toContain('error: connection wh: url holds a "#" outside an ${env:NAME} reference');

    vi.stubEnv('WHARF_SECRET_UNSET', undefined);
    const unset = writeConfig(
      'unset.yaml',
      `postgres://deployer:\${env:WHARF_SECRET_UNSET}@127.0.0.1:${server.port}/${DB}`,
    );
    const d = await cli('plan (unset variable)', ['plan', '-f', unset]);
    expect(d.code).toBe(1);
    expect(d.stderr).toContain('connection wh: url: environment variable WHARF_SECRET_UNSET is not set');
  });

  it('plan --out writes no file rather than one holding a password', async () => {
    // A password that is also a name in the plan (the schema): the plan would show it.
    vi.stubEnv('WHARF_SECRET_NAME_PW', 'vendor_share');
    const f = path.join(project, 'name-as-password.yaml');
    fs.writeFileSync(
      f,
      fs.readFileSync(file, 'utf8').replace('${env:WHARF_SECRET_ROLE_PW}', '${env:WHARF_SECRET_NAME_PW}'),
    );
    const out = path.join(project, 'refused-plan.json');
    const r = await cli('plan --out (password in plan)', ['plan', '-f', f, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: ${out} was not written: the plan holds the value of a password`);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('the server statement log (log_statement = all) holds the verifier, never a password', async () => {
    const log = fs.readFileSync(path.join(project, '.wharf', 'pg', 'server.log'), 'utf8');
    // The log really records statements: wharf's CREATE ROLE is there, with a verifier (apply
    // sends several statements per message: one log entry, its next lines indented by a tab).
    expect(log).toMatch(
      /statement: (?:[^\n]*(?:\n\t[^\n]*)*\n\t)?CREATE ROLE "vendor_login" LOGIN PASSWORD 'SCRAM-SHA-256\$4096:/,
    );
    expect(leaks(log)).toEqual([]);
  });

  it('no output, plan file or file under .wharf/ holds a password in any spelling', async () => {
    expect(outputs.length).toBeGreaterThan(10);
    for (const o of outputs)
      expect({ what: o.what, leaks: leaks(o.text) }).toEqual({ what: o.what, leaks: [] });
    // Stop the server so that its files are complete, then read every one (data files too).
    await admin.end();
    await server.release();
    const files = fs.readdirSync(path.join(project, '.wharf'), { recursive: true, withFileTypes: true });
    const regular = files.filter((f) => f.isFile()).map((f) => path.join(f.parentPath, f.name));
    expect(regular.some((f) => f.endsWith('server.log'))).toBe(true);
    const needles = SECRETS.flatMap(spellings).map((s) => Buffer.from(s));
    for (const f of regular) {
      const bytes = fs.readFileSync(f);
      const found = needles.filter((n) => bytes.includes(n)).map(String);
      expect({ file: path.relative(project, f), found }).toEqual({
        file: path.relative(project, f),
        found: [],
      });
    }
  }, 60_000);
});

describe('password verifiers', () => {
  it('SCRAM-SHA-256 matches the RFC 7677 example exchange', async () => {
    const { createHmac } = await import('node:crypto');
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const v = scramSha256Verifier('pencil', salt);
    expect(v).toMatch(/^SCRAM-SHA-256\$4096:W22ZaJ0SNY7soEsUEjb6gQ==\$[^:]+:[^:]+$/);
    // RFC 7677 section 3: the server signature of the example is v=6rriTRBi…, computed
    // from the ServerKey over the exchange's AuthMessage.
    const serverKey = Buffer.from(v.slice(v.lastIndexOf(':') + 1), 'base64');
    const nonce = 'rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
    const auth = `n=user,r=rOprNGfwEbeRWgbNEkqO,r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=${nonce}`;
    expect(createHmac('sha256', serverKey).update(auth).digest('base64')).toBe(
      '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
    );
    // A fresh random salt each time: two verifiers of one password differ.
    expect(scramSha256Verifier('pencil')).not.toBe(scramSha256Verifier('pencil'));
  });

  it('Redshift md5 hash is md5 || md5(password || user)', () => {
    // The CREATE USER reference's example: password ez, user user1
    // (https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_USER.html).
    expect(redshiftMd5Password('ez', 'user1')).toBe('md5153c434b4b77c89e6b94f12c5393af5b');
  });
});

describe('one redaction filter', () => {
  const secret = `Rd4x@Tq7#/?'"\\ $ %zz`;
  registerSecret(secret);

  it('formatError blanks every spelling of a registered secret', () => {
    const e = Object.assign(
      new Error(
        `at ${secret} / ${encodeURIComponent(secret)} / ${JSON.stringify(secret)} / ${Buffer.from(secret).toString('base64')}`,
      ),
      { name: 'ConnectError' },
    );
    const shown = formatError(e);
    expect(shown).toContain('***');
    for (const s of spellings(secret)) expect(shown).not.toContain(s);
  });

  it('the CLI streams blank it in whatever is written, strings or bytes', () => {
    let out = '';
    const sink = {
      write: (c: string | Uint8Array) => {
        out += String(typeof c === 'string' ? c : Buffer.from(c).toString('utf8'));
        return true;
      },
      isTTY: true,
    } as unknown as NodeJS.WritableStream & { isTTY: boolean };
    const s = redactingStream(sink);
    s.write(`one ${secret}\n`);
    s.write(Buffer.from(`two ${encodeURIComponent(secret)}\n`));
    expect(out).toBe('one ***\ntwo ***\n');
    expect(s.isTTY).toBe(true);
  });
});

describe('hostile corpus: literal passwords', () => {
  const dir = path.join(import.meta.dirname, 'fixtures', 'hostile');
  const files = fs.readdirSync(dir).filter((f) => f.startsWith('secret-') && f.endsWith('.yaml'));

  it('has a case for each way to write a password', () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
  });

  for (const name of files) {
    it(`${name}: refused at its position, without echoing the secret`, async () => {
      const f = path.join(dir, name);
      const text = fs.readFileSync(f, 'utf8');
      const header = (k: string) => new RegExp(`^# ${k}: (.*)$`, 'm').exec(text)?.[1];
      expect(header('class')).toMatch(/^secret-/);
      expect(header('expect')).toBe('validate');
      const r = await runCli(['validate', '-f', f]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${f}:${header('at')}  `);
      expect(r.stderr).toContain(header('message')!);
      const body = text.replace(/^#.*\n/gm, '');
      const written = [...body.matchAll(/(?:url|endpoint|password): "([^"]*)"/g)]
        .map((m) => m[1]!)
        .filter((v) => !/^\$\{env:\w+\}$/.test(v));
      expect(written.length).toBeGreaterThan(0);
      for (const v of written) expect(r.stderr).not.toContain(v);
    });
  }
});
