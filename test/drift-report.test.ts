// `wharf drift --json` and `--markdown`: the drift report is the plan contract plus a `drift`
// field (status, drifted, checkedAt, counts), checked against the JSON Schemas published in
// schemas/ (wharf-drift.schema.json, which includes wharf-plan.schema.json); `plan --json` is
// checked against the plan schema. A local bucket store stands in for the warehouse: drift is
// the same code whatever the engine (the pipeline test runs it on the embedded warehouse).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';

const SCHEMAS = path.join(import.meta.dirname, '..', 'schemas');
const ajv = new Ajv({ allErrors: true, strict: true });
for (const f of ['wharf-plan.schema.json', 'wharf-drift.schema.json'])
  ajv.addSchema(JSON.parse(fs.readFileSync(path.join(SCHEMAS, f), 'utf8')));
const validatePlan = ajv.getSchema('https://wharf.dev/schemas/wharf-plan.schema.json')!;
const validateDrift = ajv.getSchema('https://wharf.dev/schemas/wharf-drift.schema.json')!;

function expectValid(validate: typeof validatePlan, doc: unknown): void {
  const ok = validate(doc);
  expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
  expect(ok).toBe(true);
}

let work: string;
let file: string;
let missing: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-drift-'));
  file = path.join(work, 'wharf.yaml');
  fs.writeFileSync(
    file,
    'version: 1\nconnections:\n  store: { type: local-bucket, dir: buckets }\nbuckets:\n  - { name: drift-share, create: true, folders: [events/] }\n',
  );
  missing = path.join(work, 'missing.yaml');
  fs.writeFileSync(
    missing,
    'version: 1\nconnections:\n  store: { type: local-bucket, dir: elsewhere }\nbuckets:\n  - name: absent-bucket\n',
  );
});
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

describe('drift --json', () => {
  it('drift, then in sync after apply, then drift again after a change by hand; every report matches the schema', async () => {
    const before = Date.now();
    const first = await runCli(['drift', '-f', file, '--json']);
    expect(first.code).toBe(2);
    const report = JSON.parse(first.stdout);
    expectValid(validateDrift, report);
    expect(report.format).toBe('wharf-plan');
    expect(report.drift).toMatchObject({
      format: 'wharf-drift',
      version: 1,
      status: 'drift',
      drifted: true,
      changes: report.changes.length,
      destructive: 0,
      unmanaged: report.unmanaged.length,
    });
    expect(report.changes.map((c: { address: string }) => c.address)).toEqual(['store.bucket:drift-share']);
    const checked = Date.parse(report.drift.checkedAt);
    expect(checked).toBeGreaterThanOrEqual(before - 1000);
    expect(checked).toBeLessThanOrEqual(Date.now());
    expect(new Date(checked).toISOString()).toBe(report.drift.checkedAt);

    expect((await runCli(['apply', '-f', file, '--auto-approve'])).code).toBe(0);
    const clean = await runCli(['drift', '-f', file, '--json']);
    expect(clean.code).toBe(0);
    const cleanReport = JSON.parse(clean.stdout);
    expectValid(validateDrift, cleanReport);
    expect(cleanReport.drift).toMatchObject({ status: 'in-sync', drifted: false, changes: 0 });
    expect(cleanReport.changes).toEqual([]);

    // Someone removes the folder marker by hand.
    fs.rmSync(path.join(work, 'buckets', 'drift-share', 'events'), { recursive: true, force: true });
    const again = await runCli(['drift', '-f', file, '--json']);
    expect(again.code).toBe(2);
    const againReport = JSON.parse(again.stdout);
    expectValid(validateDrift, againReport);
    expect(againReport.drift).toMatchObject({ status: 'drift', drifted: true, changes: 1 });
  });

  it('a plan with errors is "unknown", never "in-sync", and still matches the schema', async () => {
    const r = await runCli(['drift', '-f', missing, '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expectValid(validateDrift, report);
    expect(report.drift).toMatchObject({ status: 'unknown', drifted: null });
    expect(report.diagnostics.some((d: { severity: string }) => d.severity === 'error')).toBe(true);
  });

  it('the schema is strict about the drift field: a report that contradicts itself is refused', async () => {
    const report = JSON.parse((await runCli(['drift', '-f', missing, '--json'])).stdout);
    expect(validateDrift({ ...report, drift: { ...report.drift, drifted: false } })).toBe(false);
    expect(validateDrift({ ...report, drift: { ...report.drift, status: 'in-sync' } })).toBe(false);
    expect(validateDrift({ ...report, drift: { ...report.drift, checkedAt: 'yesterday' } })).toBe(false);
    const { drift: _, ...plan } = report;
    expect(validateDrift(plan)).toBe(false);
    expectValid(validatePlan, plan);
  });

  it('plan --json matches the plan schema and carries no drift field', async () => {
    const r = await runCli(['plan', '-f', file, '--json']);
    const plan = JSON.parse(r.stdout);
    expectValid(validatePlan, plan);
    expect(plan.drift).toBeUndefined();
  });
});

describe('drift --markdown', () => {
  it('prints the drift heading, when it was checked and the changes; exit codes as without it', async () => {
    const f = path.join(work, 'md.yaml');
    fs.writeFileSync(
      f,
      'version: 1\nconnections:\n  store: { type: local-bucket, dir: md-buckets }\nbuckets:\n  - { name: md-share, create: true }\n',
    );
    const r = await runCli(['drift', '-f', f, '--markdown']);
    expect(r.code).toBe(2);
    expect(r.stdout.startsWith('### wharf drift\n\nChecked at ')).toBe(true);
    expect(r.stdout).toMatch(
      /^Checked at \d{4}-\d\d-\d\dT[\d:.]+Z: \*\*the live state differs from the file\.\*\*/m,
    );
    expect(r.stdout).toContain('| ➕ | `store.bucket:md-share` | create |');

    expect((await runCli(['apply', '-f', f, '--auto-approve'])).code).toBe(0);
    const clean = await runCli(['drift', '-f', f, '--markdown']);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('No drift. The live state matches the file.');
    expect(clean.stdout).not.toContain('| ');

    const unknown = await runCli(['drift', '-f', missing, '--markdown']);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toContain('**drift could not be checked**');
    expect(unknown.stdout).not.toContain('No drift');
    expect(unknown.stdout).toContain('Not known whether the live state matches the file');
  });
});
