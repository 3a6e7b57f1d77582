// The GitHub Actions workflows of examples/github: each is valid for GitHub's own workflow
// parser (@actions/workflow-parser, offline), which refuses a broken copy; and the steps that
// call wharf, read from the YAML and not copied here, run in order as GitHub would run them
// (bash -eo pipefail, $GITHUB_OUTPUT, the step's env) against a real PostgreSQL server:
// plan on the pull request, apply of the saved plan on merge, drift clean, a change by hand,
// drift found. Steps that call gh, curl or AWS are not run; the test checks they are there.
// Workflow syntax: https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startTestServer, type TestServer } from './support/pg.js';

const ROOT = path.join(import.meta.dirname, '..');
const GITHUB = path.join(ROOT, 'examples', 'github');
const WHARF = path.join(ROOT, 'bin', 'wharf.js');
const run = promisify(execFile);

interface Step {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, { env?: Record<string, string>; steps: Step[] }>;
}

const read = (name: string) => fs.readFileSync(path.join(GITHUB, name), 'utf8');
const workflow = (name: string) => parse(read(name)) as Workflow;
const onlyJob = (w: Workflow) => {
  const jobs = Object.values(w.jobs);
  expect(jobs).toHaveLength(1);
  return jobs[0]!;
};
const callsWharf = (s: Step) => /\bnpx wharf\b/.test(s.run ?? '');
const callsOutside = (s: Step) => /\b(gh|curl|aws)\s/.test(s.run ?? '');

/** GitHub's parser: the schema of workflows, then the conversion that reads expressions and jobs. */
async function validate(name: string, content: string): Promise<string[]> {
  const result = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const parsed = result.context.errors.getErrors().map((e) => e.message);
  if (parsed.length > 0 || !result.value) return parsed;
  const template = await convertWorkflowTemplate(result.context, result.value);
  return (template.errors ?? []).map((e) => e.Message);
}

describe('the example workflows are valid GitHub Actions workflows', () => {
  const files = fs.readdirSync(GITHUB).filter((f) => f.endsWith('.yml'));

  it('there are the three workflows', () => {
    expect(files.sort()).toEqual(['wharf-apply.yml', 'wharf-drift.yml', 'wharf-plan.yml']);
  });

  for (const f of files)
    it(`${f} parses without errors`, async () => {
      expect(await validate(f, read(f))).toEqual([]);
    });

  it('a broken workflow is refused, so the parser really checks', async () => {
    const text = read('wharf-plan.yml');
    const broken = text.replace('    runs-on: ubuntu-latest', '    runs_on: ubuntu-latest');
    expect(broken).not.toBe(text);
    expect((await validate('broken.yml', broken)).join('\n')).toMatch(/runs_on/);
    const badPermission = text.replace('id-token: write', 'id-token: sudo');
    expect((await validate('broken.yml', badPermission)).join('\n')).toMatch(/sudo/);
    const badExpression = text.replace(
      "steps.plan.outputs.exitcode == '1'",
      'steps.plan.outputs.exitcode == ',
    );
    expect((await validate('broken.yml', badExpression)).join('\n')).toMatch(/expression/i);
  });

  it('the steps that reach GitHub and AWS are there, and no wharf step needs them', () => {
    const plan = workflow('wharf-plan.yml');
    const apply = workflow('wharf-apply.yml');
    const drift = workflow('wharf-drift.yml');
    for (const w of [plan, apply, drift]) {
      expect(w.permissions['id-token']).toBe('write');
      const aws = onlyJob(w).steps.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));
      expect(aws?.with?.['role-to-assume']).toMatch(/^\$\{\{ vars\.\w+ \}\}$/);
      for (const s of onlyJob(w).steps.filter(callsWharf)) expect(callsOutside(s), s.name).toBe(false);
      // Secrets reach wharf through the environment, never inline in a command.
      for (const s of onlyJob(w).steps) expect(s.run ?? '').not.toMatch(/secrets\./);
    }
    expect(Object.keys(plan.on)).toEqual(['pull_request']);
    expect(plan.permissions['pull-requests']).toBe('write');
    const planSteps = onlyJob(plan).steps;
    const comment = planSteps.find((s) => s.run?.includes('<!-- wharf-plan -->'));
    expect(comment?.run).toMatch(
      /gh api --method PATCH "repos\/\$GITHUB_REPOSITORY\/issues\/comments\/\$id"/,
    );
    expect(comment?.run).toContain('gh pr comment');
    const upload = planSteps.find((s) => s.uses?.startsWith('actions/upload-artifact@'));
    expect(upload?.with).toMatchObject({ name: 'wharf-plan', path: 'plan.json' });

    expect(apply.on).toEqual({ push: { branches: ['main'], paths: ['wharf.yaml'] } });
    const fetch = onlyJob(apply).steps.find((s) => s.id === 'reviewed');
    expect(fetch?.run).toContain('gh run download "$run" --name wharf-plan');

    expect(Object.keys(drift.on)).toEqual(['schedule', 'workflow_dispatch']);
    expect(drift.permissions.issues).toBe('write');
    const driftSteps = onlyJob(drift).steps;
    expect(driftSteps.find((s) => s.if === "steps.drift.outputs.exitcode == '2'")?.run).toMatch(
      /gh issue create[\s\S]*gh issue edit|gh issue edit[\s\S]*gh issue create/,
    );
    expect(driftSteps.find((s) => s.if === "steps.drift.outputs.exitcode == '0'")?.run).toContain(
      'gh issue close',
    );
  });
});

/** The values GitHub would put in `${{ … }}`; a path not given is empty, like GitHub's. */
interface Context {
  secrets: Record<string, string>;
  vars: Record<string, string>;
  steps: Record<string, { outputs: Record<string, string>; outcome: string }>;
}

function lookup(ctx: Context, p: string): string {
  const m = /^'(.*)'$/.exec(p);
  if (m) return m[1]!;
  const v = p.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], ctx);
  return typeof v === 'string' ? v : '';
}

/** The expressions these workflows use: `a && b`, `x == 'v'`, `x != 'v'`, `always()`, paths. */
function evaluate(ctx: Context, expr: string): string | boolean {
  const e = expr.trim();
  if (e.includes('&&')) return e.split('&&').every((t) => evaluate(ctx, t) === true);
  if (e === 'always()') return true;
  const cmp = /^(.+?)\s*(==|!=)\s*(.+)$/.exec(e);
  if (cmp) return (lookup(ctx, cmp[1]!.trim()) === lookup(ctx, cmp[3]!.trim())) === (cmp[2] === '==');
  return lookup(ctx, e);
}

function envOf(ctx: Context, env: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env ?? {}).map(([k, v]) => [
      k,
      String(v).replace(/\$\{\{(.+?)\}\}/g, (_, x: string) => String(evaluate(ctx, x))),
    ]),
  );
}

interface StepRun {
  ran: boolean;
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs one step the way the runner does: its `if`, then its script with bash -eo pipefail in
 * the workspace, the job's and the step's env, and $GITHUB_OUTPUT read back into the context.
 * `npx wharf` is this checkout's executable.
 */
async function runStep(
  ctx: Context,
  job: { env?: Record<string, string> },
  step: Step,
  cwd: string,
  env: Record<string, string>,
): Promise<StepRun> {
  if (step.if !== undefined && evaluate(ctx, step.if) !== true) {
    if (step.id) ctx.steps[step.id] = { outputs: {}, outcome: 'skipped' };
    return { ran: false, code: 0, stdout: '', stderr: '' };
  }
  const output = path.join(cwd, `.output-${step.id ?? 'step'}`);
  fs.writeFileSync(output, '');
  const script = path.join(cwd, '.step.sh');
  fs.writeFileSync(script, step.run!.replaceAll('npx wharf', `node ${JSON.stringify(WHARF)}`));
  let code = 0;
  let stdout = '';
  let stderr = '';
  try {
    ({ stdout, stderr } = await run('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
      cwd,
      env: { ...env, ...envOf(ctx, job.env), ...envOf(ctx, step.env), GITHUB_OUTPUT: output, NO_COLOR: '1' },
    }));
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    ({ code, stdout, stderr } = err);
  }
  const outputs = Object.fromEntries(
    fs
      .readFileSync(output, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  if (step.id) ctx.steps[step.id] = { outputs, outcome: code === 0 ? 'success' : 'failure' };
  return { ran: true, code, stdout, stderr };
}

/** The steps of a workflow's job that call wharf, by name. */
function wharfSteps(name: string): { job: Workflow['jobs'][string]; steps: Map<string, Step> } {
  const job = onlyJob(workflow(name));
  const steps = job.steps.filter(callsWharf);
  expect(steps.length).toBeGreaterThan(0);
  return { job, steps: new Map(steps.map((s) => [s.name ?? s.run!, s])) };
}

describe('the wharf steps of the workflows, in order, against a real warehouse', () => {
  let pg: TestServer;
  let work: string;
  let db: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    pg = await startTestServer();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-pipes-'));
    db = await pg.createDatabase('pipes');
    // The fixture: the file a repository would hold, with its secrets as ${env:} references
    // that the workflows' env fills from the repository's secrets.
    fs.writeFileSync(
      path.join(work, 'wharf.yaml'),
      `version: 1
connections:
  warehouse: { type: postgres, url: "\${env:WAREHOUSE_URL}" }
schemas:
  - name: share
tables:
  - schema: share
    name: events
    columns:
      - { name: user_id, type: bigint, nullable: false }
      - { name: event_name, type: text }
roles:
  - { name: pipes_vendor, type: user, password: "\${env:VENDOR_PASSWORD}" }
grants:
  - { to: pipes_vendor, privileges: [usage], schema: share }
  - { to: pipes_vendor, privileges: [select], tables: [share.events] }
`,
    );
    const { PATH, HOME } = process.env;
    env = { PATH: PATH ?? '', HOME: HOME ?? os.homedir() };
  });
  afterAll(async () => {
    await pg?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const context = (vars: Record<string, string> = {}): Context => ({
    secrets: { WAREHOUSE_URL: pg.rawUrl(db), VENDOR_PASSWORD: 'pipes-Vendor-pw-1' },
    vars,
    steps: {},
  });

  it('validate → plan --markdown --out plan.json → apply plan.json → drift 0; a change by hand → drift 2 with Markdown', async () => {
    // Pull request.
    const pr = wharfSteps('wharf-plan.yml');
    expect([...pr.steps.keys()]).toEqual(['Validate', 'Plan']);
    const prCtx = context();
    const validated = await runStep(prCtx, pr.job, pr.steps.get('Validate')!, work, env);
    expect(validated.code, validated.stderr).toBe(0);
    expect(validated.stdout).toContain('wharf.yaml is valid');
    const planned = await runStep(prCtx, pr.job, pr.steps.get('Plan')!, work, env);
    expect(planned.code, planned.stderr).toBe(0);
    expect(prCtx.steps.plan!.outputs.exitcode).toBe('2');
    const md = fs.readFileSync(path.join(work, 'plan.md'), 'utf8');
    expect(md.startsWith('### wharf plan\n')).toBe(true);
    expect(md).toContain('`warehouse.table:share.events`');
    expect(md).not.toContain('pipes-Vendor-pw-1');
    expect(JSON.parse(fs.readFileSync(path.join(work, 'plan.json'), 'utf8')).format).toBe('wharf-plan');
    // What the later steps of that job would do with it.
    const planJob = onlyJob(workflow('wharf-plan.yml'));
    const upload = planJob.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))!;
    expect(evaluate(prCtx, upload.if!)).toBe(true);
    expect(evaluate(prCtx, planJob.steps.find((s) => s.name === 'Fail when the plan has errors')!.if!)).toBe(
      false,
    );

    // Merge: the saved plan (the artifact) is applied; the fallback does not run.
    const merge = wharfSteps('wharf-apply.yml');
    expect([...merge.steps.keys()]).toEqual([
      'Apply the reviewed plan',
      'Plan again and apply (only with WHARF_ON_STALE=fresh-plan)',
    ]);
    const mergeCtx = context();
    const applied = await runStep(
      mergeCtx,
      merge.job,
      merge.steps.get('Apply the reviewed plan')!,
      work,
      env,
    );
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/Apply complete: \d+ done, 0 failed, 0 not run/);
    const fallback = merge.steps.get('Plan again and apply (only with WHARF_ON_STALE=fresh-plan)')!;
    expect((await runStep(mergeCtx, merge.job, fallback, work, env)).ran).toBe(false);
    // The vendor really logs in with the password from the secret.
    const vendor = await pg.client(db, 'pipes_vendor', 'pipes-Vendor-pw-1');
    await vendor.query('SELECT count(*) FROM share.events');
    await vendor.end();

    // Schedule: no drift, so the issue is closed, not opened.
    const cron = wharfSteps('wharf-drift.yml');
    expect([...cron.steps.keys()]).toEqual(['Check for drift']);
    const driftJob = onlyJob(workflow('wharf-drift.yml'));
    const openIssue = driftJob.steps.find((s) => s.name === 'Open or update the drift issue')!;
    const closeIssue = driftJob.steps.find((s) => s.name === 'Close the drift issue')!;
    const clean = context();
    const checked = await runStep(clean, cron.job, cron.steps.get('Check for drift')!, work, env);
    expect(checked.code, checked.stderr).toBe(0);
    expect(clean.steps.drift!.outputs.exitcode).toBe('0');
    expect(fs.readFileSync(path.join(work, 'drift.md'), 'utf8')).toContain(
      'No drift. The live state matches the file.',
    );
    expect([evaluate(clean, openIssue.if!), evaluate(clean, closeIssue.if!)]).toEqual([false, true]);

    // Someone changes the warehouse by hand.
    const c = await pg.client(db);
    await c.query('REVOKE SELECT ON share.events FROM pipes_vendor');
    await c.query('ALTER TABLE share.events DROP COLUMN event_name');
    await c.end();
    const drifted = context();
    const found = await runStep(drifted, cron.job, cron.steps.get('Check for drift')!, work, env);
    expect(found.code, found.stderr).toBe(0);
    expect(drifted.steps.drift!.outputs.exitcode).toBe('2');
    const report = fs.readFileSync(path.join(work, 'drift.md'), 'utf8');
    expect(report.startsWith('### wharf drift\n')).toBe(true);
    expect(report).toContain('**the live state differs from the file.**');
    expect(report).toContain('`warehouse.grant:table:share.events/pipes_vendor`');
    expect(report).toContain('`warehouse.table:share.events`');
    expect([evaluate(drifted, openIssue.if!), evaluate(drifted, closeIssue.if!)]).toEqual([true, false]);
  });

  it('a stale saved plan fails the merge job, unless WHARF_ON_STALE=fresh-plan chooses to plan again', async () => {
    const pr = wharfSteps('wharf-plan.yml');
    const merge = wharfSteps('wharf-apply.yml');
    const applyStep = merge.steps.get('Apply the reviewed plan')!;
    const fallback = merge.steps.get('Plan again and apply (only with WHARF_ON_STALE=fresh-plan)')!;
    const makeStale = async (byHand: string) => {
      const planned = await runStep(context(), pr.job, pr.steps.get('Plan')!, work, env);
      expect(planned.code, planned.stderr).toBe(0);
      // The live state moves after the review: the plan no longer describes it.
      const c = await pg.client(db);
      await c.query(byHand);
      await c.end();
    };

    await makeStale('GRANT SELECT ON share.events TO pipes_vendor');
    const strict = context();
    const refused = await runStep(strict, merge.job, applyStep, work, env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the plan is stale');
    expect(strict.steps.apply!.outputs.stale).toBe('true');
    expect((await runStep(strict, merge.job, fallback, work, env)).ran).toBe(false);

    await makeStale('REVOKE SELECT ON share.events FROM pipes_vendor');
    const lenient = context({ WHARF_ON_STALE: 'fresh-plan' });
    const stale = await runStep(lenient, merge.job, applyStep, work, env);
    expect(stale.code, stale.stderr).toBe(0);
    expect(stale.stdout + stale.stderr).toContain('planning again (WHARF_ON_STALE=fresh-plan)');
    const again = await runStep(lenient, merge.job, fallback, work, env);
    expect(again.ran).toBe(true);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Apply complete: \d+ done, 0 failed, 0 not run/);
    const cron = wharfSteps('wharf-drift.yml');
    const after = context();
    expect((await runStep(after, cron.job, cron.steps.get('Check for drift')!, work, env)).code).toBe(0);
    expect(after.steps.drift!.outputs.exitcode).toBe('0');
  });
});
