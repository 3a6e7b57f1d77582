// The review screen for real: the `wharf` executable in a tmux pane (a real terminal) against
// the embedded warehouse (`type: local`), keys sent with `tmux send-keys`, the screen read with
// `capture-pane`, and the warehouse queried before and after: it changes only once the plan is
// approved. Without a terminal for stdout, or with CI set, the screen does not open and the
// plain prompt asks as before.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLocalServer, type LocalServer } from '../src/providers/local/local-server.js';

const ROOT = path.join(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'wharf.js');
const SOCKET = `wharf-review-${process.pid}`;
let work: string;
let server: LocalServer;
let db: pg.Client;

const CONFIG = (withOld: boolean) => `version: 1
connections:
  warehouse: { type: local }
schemas:
  - name: app
tables:
  - schema: app
    name: events
    columns:
      - { name: id, type: bigint, nullable: false }
${
  withOld
    ? `  - schema: app
    name: old
    columns:
      - { name: id, type: bigint }
`
    : ''
}roles:
  - name: vendor
    type: user
grants:
  - to: vendor
    privileges: [usage]
    schema: app
`;

const tmux = (...args: string[]) => execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });

/** Starts `wharf <args>` in a new 100x30 pane named `name`; the pane prints EXIT=<code> at the end. */
function start(name: string, command: string): void {
  const env = `env -u CI NO_COLOR=1 WHARF_LOCAL_PG_BIN=${process.env.WHARF_TEST_PG_BIN ?? ''}`;
  tmux(
    'new-session',
    '-d',
    '-s',
    name,
    '-x',
    '100',
    '-y',
    '30',
    '-c',
    work,
    `${env} ${command}; echo EXIT=$?; sleep 120`,
  );
}

const screen = (name: string) => tmux('capture-pane', '-p', '-t', name);
/** The pane with its scrollback (what stays after the screen closes). */
const history = (name: string) => tmux('capture-pane', '-p', '-S', '-200', '-t', name);
const keys = (name: string, ...k: string[]) => tmux('send-keys', '-t', name, ...k);

async function waitFor(read: () => string, text: string | RegExp, ms = 90_000): Promise<string> {
  const end = Date.now() + ms;
  let last = '';
  while (Date.now() < end) {
    last = read();
    if (typeof text === 'string' ? last.includes(text) : text.test(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${String(text)}; the pane shows:\n${last}`);
}

async function tables(): Promise<string[]> {
  const r = await db.query(
    `SELECT c.relname AS name FROM "pg_catalog"."pg_class" c JOIN "pg_catalog"."pg_namespace" n ON n.oid = c.relnamespace
     WHERE n.nspname = 'app' AND c.relkind IN ('r', 'p') ORDER BY 1`,
  );
  return r.rows.map((x: { name: string }) => x.name);
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-review-'));
  // This test holds a lease on the embedded warehouse, so that it can query it between the
  // commands; each wharf process reuses the running server.
  server = await acquireLocalServer({
    dir: path.join(work, '.wharf', 'local'),
    binDir: process.env.WHARF_TEST_PG_BIN || undefined,
  });
  db = new pg.Client({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database: server.database,
  });
  db.on('error', () => {});
  await db.connect();
}, 120_000);

afterAll(async () => {
  try {
    tmux('kill-server');
  } catch {
    // no session left
  }
  await db?.end();
  await server?.release();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('wharf apply in a terminal (tmux)', () => {
  it('q leaves with nothing changed; a then y applies, and only then does the warehouse change', async () => {
    fs.writeFileSync(path.join(work, 'wharf.yaml'), CONFIG(true));
    start('cancel', `node ${BIN} apply`);
    let s = await waitFor(() => screen('cancel'), 'review the plan');
    expect(s).toContain('Plan: 5 to create');
    expect(s).toContain('warehouse.table:app.events');
    expect(s).toContain('Access (1): vendor gains usage on schema app (warehouse)');
    keys('cancel', 'j', 'Enter');
    s = await waitFor(() => screen('cancel'), 'CREATE SCHEMA "app";');
    expect(s).toContain('+  "name": "app",');
    keys('cancel', 'a');
    await waitFor(() => screen('cancel'), 'Press y to apply');
    keys('cancel', 'Escape');
    await waitFor(() => screen('cancel'), 'Not approved; nothing was changed.');
    keys('cancel', 'q');
    s = await waitFor(() => history('cancel'), 'EXIT=');
    expect(s).toContain('Apply cancelled; nothing was changed.');
    expect(s).toContain('EXIT=1');
    expect(await tables()).toEqual([]);

    start('approve', `node ${BIN} apply`);
    await waitFor(() => screen('approve'), 'review the plan');
    keys('approve', 'a');
    await waitFor(() => screen('approve'), 'Press y to apply');
    expect(await tables()).toEqual([]);
    keys('approve', 'y');
    s = await waitFor(() => screen('approve'), 'Apply complete');
    expect(s).toMatch(/done +\d+\.\ds +\+ +warehouse\.table:app\.events/);
    expect(await tables()).toEqual(['events', 'old']);
    keys('approve', 'q');
    s = await waitFor(() => history('approve'), 'EXIT=');
    expect(s).toContain('Apply complete: 5 done, 0 failed, 0 not run.');
    expect(s).toContain('EXIT=0');
  }, 240_000);

  it('a destructive change needs its count typed: y alone does nothing', async () => {
    fs.writeFileSync(path.join(work, 'wharf.yaml'), CONFIG(false));
    start('destroy', `node ${BIN} apply`);
    await waitFor(() => screen('destroy'), 'review the plan');
    keys('destroy', 'd');
    let s = await waitFor(() => screen('destroy'), 'destructive and widening only');
    expect(s).toContain('warehouse.table:app.old  delete [destructive]');
    keys('destroy', 'a');
    await waitFor(() => screen('destroy'), 'Type 1 and Enter to acknowledge them');
    keys('destroy', 'y', 'y', 'Enter');
    await waitFor(() => screen('destroy'), '"" is not 1');
    expect(await tables()).toEqual(['events', 'old']);
    keys('destroy', '1', 'Enter');
    await waitFor(() => screen('destroy'), 'Press y to apply');
    keys('destroy', 'y');
    await waitFor(() => screen('destroy'), 'Apply complete');
    expect(await tables()).toEqual(['events']);
    keys('destroy', 'q');
    s = await waitFor(() => history('destroy'), 'EXIT=');
    expect(s).toContain('EXIT=0');
  }, 240_000);

  it('with CI set, or stdout a pipe, the screen does not open: the plain prompt asks for yes', async () => {
    fs.writeFileSync(path.join(work, 'wharf.yaml'), CONFIG(true));
    for (const [name, command] of [
      ['ci', `CI=1 node ${BIN} apply`],
      ['pipe', `node ${BIN} apply | cat`],
      ['plain', `node ${BIN} apply --plain`],
    ] as const) {
      start(name, command);
      const s = await waitFor(() => screen(name), 'Only "yes" is accepted');
      expect(s).toContain('wharf will make these changes, in this order:');
      expect(s).not.toContain('review the plan');
      keys(name, 'no', 'Enter');
      expect(await waitFor(() => history(name), 'EXIT=')).toContain('Apply cancelled; nothing was changed.');
    }
    expect(await tables()).toEqual(['events']);
  }, 240_000);
});
