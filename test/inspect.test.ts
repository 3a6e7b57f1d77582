// `wharf inspect` round trips on a real PostgreSQL server: a warehouse set up by wharf (every
// example that runs on PostgreSQL, every golden scenario) or by hand with SQL is inspected into a
// file, and `wharf plan` of that file against the same warehouse plans nothing. Passwords are
// never read: a login role becomes a `${env:...}` reference, and a password's value never
// appears in the file or the output.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfigFile } from '../src/config/load.js';
import { runCli } from './support/cli.js';
import { startTestServer, type TestServer } from './support/pg.js';

const ROOT = path.join(import.meta.dirname, '..');
let server: TestServer;
let work: string;

beforeAll(async () => {
  server = await startTestServer();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-inspect-'));
});
afterAll(async () => {
  await server?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});
afterEach(() => {
  vi.unstubAllEnvs();
});

let n = 0;

/** A file in the work folder whose warehouse connection is a fresh database of the test server. */
async function onTestServer(text: string): Promise<{ file: string; db: string }> {
  const db = await server.createDatabase('insp');
  const file = path.join(work, `source-${++n}.yaml`);
  fs.writeFileSync(
    file,
    text.replace(
      /(\n {2}warehouse:\n {4})type: local\b/,
      `$1type: postgres\n    url: "${server.urlFor(db)}"`,
    ),
  );
  return { file, db };
}

/** Inspects `file`'s warehouse into a new file and plans it: the plan must be empty. */
async function inspectAndPlan(file: string, schemas: string[], roles: string[]) {
  const out = path.join(work, `inspected-${++n}.yaml`);
  const args = ['inspect', '-f', file, '--connection', 'warehouse', '--out', out];
  for (const s of schemas) args.push('--schema', s);
  for (const r of roles) args.push('--role', r);
  const inspected = await runCli(args);
  expect(inspected.stderr).not.toMatch(/^error/m);
  expect(inspected.code).toBe(0);
  const text = fs.readFileSync(out, 'utf8');
  const plan = await runCli(['plan', '-f', out, '--detailed-exitcode']);
  expect({ code: plan.code, out: plan.stdout, err: plan.stderr }).toMatchObject({ code: 0 });
  expect(plan.stdout).toContain('No changes');
  if (process.env.WHARF_INSPECT_SHOW) console.log(text, inspected.stderr);
  return { text, stderr: inspected.stderr, out };
}

describe('wharf inspect: examples on PostgreSQL', () => {
  for (const example of ['quickstart.yaml', 'postgres.yaml', 'etleap-cdc.yaml']) {
    it(`${example}: apply, inspect, plan plans nothing`, async () => {
      vi.stubEnv('VENDOR_PASSWORD', 'Vendor-pw-7f3a9c');
      const src = fs.readFileSync(path.join(ROOT, 'examples', example), 'utf8');
      const { file, db } = await onTestServer(src);
      fs.writeFileSync(
        file,
        fs.readFileSync(file, 'utf8').replace('${env:DATABASE_URL}', `"${server.urlFor(db)}"`),
      );
      const applied = await runCli(['apply', '-f', file, '--auto-approve', '--allow-widen']);
      expect(applied.stderr).toBe('');
      expect(applied.code).toBe(0);
      const { loaded } = loadConfigFile(file);
      const schemas = (loaded!.config.schemas ?? []).map((s) => s.name);
      const roles = (loaded!.config.roles ?? []).map((r) => r.name);
      const { text, stderr } = await inspectAndPlan(file, schemas, roles);
      expect(text.split('\n')[0]).toMatch(
        /^# yaml-language-server: \$schema=.*schemas\/wharf\.schema\.json$/,
      );
      expect(text).not.toContain('Vendor-pw-7f3a9c');
      expect(stderr).not.toContain('Vendor-pw-7f3a9c');
      // Every schema of the example is written back.
      for (const s of schemas) expect(text).toMatch(new RegExp(`name: ${s.toLowerCase()}\\b`));
    }, 120_000);
  }
});
