// examples/cron: the crontab line, run by /bin/sh as cron would (its paths pointed at a temp
// folder), runs wharf-drift.sh, which posts a summary of `wharf drift --markdown` to the chat
// webhook named in the environment file when there is drift (exit 2), and posts nothing when
// there is none. The webhook is a server on 127.0.0.1 that records what it receives; a local
// bucket store stands in for the warehouse.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';

const ROOT = path.join(import.meta.dirname, '..');
const CRON = path.join(ROOT, 'examples', 'cron');
const run = promisify(execFile);

let server: http.Server;
let posts: { headers: http.IncomingHttpHeaders; body: string }[];
let work: string;
let webhook: string;

beforeAll(async () => {
  posts = [];
  server = http.createServer((req, res) => {
    let body = '';
    req
      .on('data', (d) => (body += d))
      .on('end', () => {
        posts.push({ headers: req.headers, body });
        res.end('ok');
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  webhook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/secret-token-123`;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-cron-'));
  fs.writeFileSync(
    path.join(work, 'wharf.yaml'),
    'version: 1\nconnections:\n  store: { type: local-bucket, dir: buckets }\nbuckets:\n  - { name: cron-share, create: true }\n',
  );
  // The environment file, as drift.env.example describes it.
  fs.writeFileSync(path.join(work, 'drift.env'), `WHARF_DRIFT_WEBHOOK_URL=${webhook}\n`);
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(work, { recursive: true, force: true });
});

/** The crontab line's command, with its installation paths pointed at this checkout and the temp folder. */
function cronCommand(): string {
  const line = fs
    .readFileSync(path.join(CRON, 'crontab.txt'), 'utf8')
    .split('\n')
    .find((l) => l.trim() && !l.startsWith('#'))!;
  const fields = line.trim().split(/\s+/);
  expect(fields.slice(0, 5)).toEqual(['17', '6', '*', '*', '*']);
  return fields
    .slice(5)
    .join(' ')
    .replace('/etc/wharf/drift.env', path.join(work, 'drift.env'))
    .replace('WHARF_DIR=/srv/wharf', `WHARF_DIR=${work}`)
    .replace('/srv/wharf/examples/cron/', `${CRON}/`);
}

async function cron(): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run('/bin/sh', ['-c', cronCommand()], {
      env: { PATH: process.env.PATH ?? '', HOME: work, WHARF: `node ${path.join(ROOT, 'bin', 'wharf.js')}` },
    });
    return { code: 0, ...r };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('examples/cron', () => {
  it('drift (exit 2) posts one summary to the webhook; no drift (exit 0) posts nothing', async () => {
    const found = await cron();
    expect(found.stderr).toBe('');
    expect(found.code).toBe(2);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.headers['content-type']).toBe('application/json');
    const { text } = JSON.parse(posts[0]!.body) as { text: string };
    expect(text.startsWith('### wharf drift\n')).toBe(true);
    expect(text).toContain('**the live state differs from the file.**');
    expect(text).toContain('`store.bucket:cron-share`');
    expect(text).toContain(`(wharf.yaml on ${os.hostname()}; run wharf drift there for all of it)`);

    expect((await runCli(['apply', '-f', path.join(work, 'wharf.yaml'), '--auto-approve'])).code).toBe(0);
    const clean = await cron();
    expect(clean.code).toBe(0);
    expect(posts).toHaveLength(1);
  });

  it('a failed post is exit 3 and says so; the URL never appears in what the script prints', async () => {
    fs.rmSync(path.join(work, 'buckets'), { recursive: true, force: true });
    const closed = webhook.replace(/:\d+\//, ':1/');
    fs.writeFileSync(path.join(work, 'drift.env'), `WHARF_DRIFT_WEBHOOK_URL=${closed}\n`);
    const r = await cron();
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('posting it to the webhook failed');
    expect(r.stdout + r.stderr).not.toContain('secret-token-123');
  });

  it('the webhook URL comes from the environment file, never from the crontab line or the unit', () => {
    const service = fs.readFileSync(path.join(CRON, 'wharf-drift.service'), 'utf8');
    const timer = fs.readFileSync(path.join(CRON, 'wharf-drift.timer'), 'utf8');
    const crontab = fs.readFileSync(path.join(CRON, 'crontab.txt'), 'utf8');
    expect(service).toMatch(/^EnvironmentFile=\/etc\/wharf\/drift\.env$/m);
    expect(service).toMatch(/^ExecStart=\/srv\/wharf\/examples\/cron\/wharf-drift\.sh$/m);
    expect(service).toMatch(/^SuccessExitStatus=2$/m);
    expect(timer).toMatch(/^OnCalendar=/m);
    expect(crontab).toContain('. /etc/wharf/drift.env');
    for (const text of [service, timer, crontab]) expect(text).not.toMatch(/https?:\/\//);
    expect(fs.readFileSync(path.join(CRON, 'wharf-drift.sh'), 'utf8')).toContain('drift --markdown');
    expect(fs.statSync(path.join(CRON, 'wharf-drift.sh')).mode & 0o111).not.toBe(0);
  });
});
