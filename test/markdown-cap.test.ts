// The Markdown of a plan fits in one GitHub comment whatever the plan's size: a plan of more
// than 10,000 changes (built by the pure planner from resources, with the PostgreSQL and S3
// compilers, no server) renders under 65,536 characters, keeps every destructive and
// widening change with its access summary, and counts exactly what it leaves out.
// GitHub refuses a comment body longer than 65,536 characters
// (https://docs.github.com/en/rest/issues/comments#create-an-issue-comment answers 422 "Body is
// too long (maximum is 65536 characters)"), counted as JavaScript counts a string's length.
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../src/plan/build.js';
import type { GrantResource, Resource, TableResource } from '../src/plan/model.js';
import { type Change, type Plan, summarize } from '../src/plan/plan.js';
import { compilePostgres } from '../src/providers/postgres/postgres-sql.js';
import { diffBuckets } from '../src/providers/s3/bucket-diff.js';
import type { BucketResource } from '../src/providers/s3/bucket-model.js';
import { bucketResource } from '../src/providers/s3/desired.js';
import { compileBucketChange } from '../src/providers/s3/s3-compile.js';
import { GITHUB_COMMENT_LIMIT, MARKDOWN_MAX_CHARS, renderPlanMarkdown } from '../src/render/markdown.js';
import { CAPS, schema } from './support/plan-builders.js';

const table = (s: string, n: string): TableResource => ({
  kind: 'table',
  schema: s,
  name: n,
  owner: null,
  columns: [
    { name: 'id', type: 'bigint', nullable: false, default: null },
    { name: 'name', type: 'text', nullable: true, default: null },
  ],
  primaryKey: null,
  partition: null,
  comment: null,
});
const grant = (object: string, grantee: string): GrantResource => ({
  kind: 'grant',
  objectType: 'table',
  object,
  grantee,
  privileges: ['select'],
});

/** Buckets whose declared policy lets vendor roles read what the live bucket does not: widening. */
function bucketChanges(n: number, extraPolicyStatements = 0): Change[] {
  const desired: BucketResource[] = [];
  const live: BucketResource[] = [];
  for (let i = 0; i < n; i++) {
    const d = bucketResource({
      name: `share-${i}`,
      folders: ['events/'],
      policy: {
        statements: Array.from({ length: 1 + extraPolicyStatements }, (_, k) => ({
          sid: `VendorRead${k}`,
          principals: [`arn:aws:iam::388856629077:role/vendor-${i}-${k}`],
          actions: ['s3:GetObject', 's3:ListBucket'],
          resources: ['bucket', 'objects'],
          readOnly: true,
        })),
      },
    } as Parameters<typeof bucketResource>[0]);
    desired.push(d);
    const { create: _c, policyExclusive: _e, ...rest } = d;
    live.push({ ...rest, policy: null, ownedSids: [] } as BucketResource);
  }
  const changes = diffBuckets('s3', desired, live).changes;
  for (const c of changes) c.statements = compileBucketChange(c, { enforced: true });
  return changes;
}

/** A warehouse plan of `schemas` × `perSchema` new tables, each with a grant, and `drops` tables to drop. */
function bigPlan(schemas: number, perSchema: number, drops: number, buckets: Change[]): Plan {
  const desired: Resource[] = [{ kind: 'role', name: 'v', login: false, memberOf: [], passwordRef: null }];
  const live: Resource[] = [schema('s0')];
  for (let s = 0; s < schemas; s++) {
    desired.push(schema(`s${s}`));
    for (let t = 0; t < perSchema; t++) desired.push(table(`s${s}`, `t${t}`), grant(`s${s}.t${t}`, 'v'));
  }
  for (let d = 0; d < drops; d++) live.push(table('s0', `legacy_${d}`));
  const plan = buildPlan({
    configFile: 'wharf.yaml',
    baseDir: '/project',
    now: new Date('2026-11-30T00:00:00Z'),
    diagnostics: [],
    connections: [
      {
        name: 'warehouse',
        type: 'postgres',
        spec: { type: 'postgres', url: '${env:DATABASE_URL}' },
        scope: { schemas: Array.from({ length: schemas }, (_, s) => `s${s}`), roles: ['v'] },
        desired,
        live,
        capabilities: CAPS,
        server: 'PostgreSQL 18',
        compile: (c) => compilePostgres(c, { database: 'db' }),
      },
    ],
  });
  const changes = [...plan.changes, ...buckets];
  return {
    ...plan,
    changes,
    summary: summarize(changes),
    decisions: { destroy: true, ...(buckets.some((c) => c.widening) ? { widen: true } : {}) },
  };
}

/** The addresses in the summary table, in order. */
const rowAddresses = (md: string) => [...md.matchAll(/^\| \S+ \| `([^`]+)` \| /gm)].map((m) => m[1]!);
/** The addresses whose statements block is shown. */
const detailAddresses = (md: string) => [...md.matchAll(/^#### \w+ `([^`]+)`$/gm)].map((m) => m[1]!);
const flagged = (c: Change) => c.destructive || Boolean(c.widening);

describe('Markdown of a plan stays under the comment limit', () => {
  const plan = bigPlan(100, 50, 60, bucketChanges(12));

  it('a plan of 10,000 changes: under 65,536, every destructive and widening change kept, the rest counted', () => {
    expect(plan.changes.length).toBeGreaterThanOrEqual(10_000);
    const kept = plan.changes.filter(flagged);
    expect(kept.filter((c) => c.destructive).length).toBe(60);
    expect(kept.filter((c) => c.widening).length).toBe(12);

    const md = renderPlanMarkdown(plan, { planFile: 'plan.json' });
    expect(md.length).toBeLessThanOrEqual(MARKDOWN_MAX_CHARS);
    expect(md.length).toBeLessThan(GITHUB_COMMENT_LIMIT);
    // The summary counts every change, not only the ones shown.
    expect(md).toContain(
      `**${plan.summary.create} to create, ${plan.summary.update} to update, 0 to replace, ${plan.summary.delete} to delete (60 destructive).**`,
    );
    expect(md).toContain('**60 destructive change(s)**');
    expect(md).toContain('**12 change(s) widen access**');

    const rows = rowAddresses(md);
    const details = new Set(detailAddresses(md));
    for (const c of kept) {
      expect(rows).toContain(c.address);
      expect(details.has(c.address)).toBe(true);
    }
    // The access summary of each widening change, in full.
    for (const c of kept.filter((x) => x.widening)) {
      expect(c.policy!.access.length).toBeGreaterThan(0);
      for (const line of c.policy!.access) expect(md).toContain(`- ${line}`);
    }
    // The others: a prefix in plan order, as many as fit, and then the count of the rest.
    const others = plan.changes.filter((c) => !flagged(c)).map((c) => c.address);
    const shownOthers = rows.filter((a) => !kept.some((k) => k.address === a));
    expect(shownOthers.length).toBeGreaterThan(100);
    expect(shownOthers).toEqual(others.slice(0, shownOthers.length));
    const hidden = plan.changes.length - rows.length;
    expect(hidden).toBeGreaterThan(9_000);
    expect(md).toContain(
      `**… ${hidden.toLocaleString('en-US')} more changes not shown** (a comment holds at most 65,536 characters); see the saved plan: \`wharf show plan.json\` prints all of it.`,
    );
    // Rows shown without their statements are counted too.
    const withoutStatements = rows.filter((a) => !details.has(a)).length;
    if (withoutStatements > 0)
      expect(md).toContain(
        `_The statements of ${withoutStatements.toLocaleString('en-US')} change${withoutStatements === 1 ? '' : 's'} listed above are not shown`,
      );
    // The Markdown stays well formed: every code fence and <details> closed.
    expect((md.match(/^```/gm) ?? []).length % 2).toBe(0);
    expect((md.match(/<details>/g) ?? []).length).toBe((md.match(/<\/details>/g) ?? []).length);
  });

  it('a plan that fits is shown whole, with no note', () => {
    const small = bigPlan(2, 3, 1, bucketChanges(1));
    const md = renderPlanMarkdown(small);
    expect(rowAddresses(md)).toEqual(small.changes.map((c) => c.address));
    expect(detailAddresses(md)).toEqual(small.changes.map((c) => c.address));
    expect(md).not.toContain('not shown');
  });

  it('characters are counted as GitHub counts them: escapes and astral characters included', () => {
    // Names with characters outside the BMP (two UTF-16 units each) and control characters
    // (written as 6-character escapes) make the text longer than its code points.
    const wide = bigPlan(1, 3000, 0, []);
    for (const c of wide.changes) c.address += `/𝔘𝔘𝔘𝔘\u202e${'𝔘'.repeat(20)}`;
    const md = renderPlanMarkdown(wide, { maxChars: 20_000 });
    expect(md.length).toBeLessThanOrEqual(20_000);
    expect(md).toContain('\\u202e');
    expect(md).toMatch(/more changes not shown/);
  });

  it('when even the changes that must be kept overflow, they are cut too and the note says how many', () => {
    const heavy = bigPlan(1, 1, 400, []);
    const md = renderPlanMarkdown(heavy, { maxChars: 8_000 });
    expect(md.length).toBeLessThanOrEqual(8_000);
    const rows = rowAddresses(md);
    const hidden = heavy.changes.length - rows.length;
    const hiddenKept = heavy.changes.filter((c) => c.destructive && !rows.includes(c.address)).length;
    expect(hiddenKept).toBeGreaterThan(0);
    expect(md).toContain(
      `**… ${hidden.toLocaleString('en-US')} more changes not shown, ${hiddenKept.toLocaleString('en-US')} of them destructive or widening access**`,
    );
    expect(md).toContain('run `wharf plan` to see all of it');
    expect(md).toContain('**400 destructive change(s)**');
  });

  it('a kept change too long to show whole keeps its access summary and drops its policy diff and statements', () => {
    // One bucket whose policy grows by thousands of statements: the diff alone is longer than the cap.
    const [huge] = bucketChanges(1, 1_500);
    const plan1 = bigPlan(1, 1, 0, [huge!]);
    expect(huge!.policy!.diff.length).toBeGreaterThan(MARKDOWN_MAX_CHARS);
    const md = renderPlanMarkdown(plan1);
    expect(md.length).toBeLessThanOrEqual(MARKDOWN_MAX_CHARS);
    expect(detailAddresses(md)).toContain(huge!.address);
    // Its access lines come first, as many as fit, then the count of the others.
    const access = huge!.policy!.access;
    expect(access.join('\n').length).toBeGreaterThan(MARKDOWN_MAX_CHARS);
    const shown = access.filter((line) => md.includes(`- ${line}\n`)).length;
    expect(shown).toBeGreaterThan(100);
    expect(access.slice(0, shown).every((line) => md.includes(`- ${line}\n`))).toBe(true);
    expect(md).toMatch(/- _… [\d,]+ more lines not shown: the comment would be too long\._/);
  });

  it('falls back to a hard cut rather than exceed the cap', () => {
    const md = renderPlanMarkdown(plan, { maxChars: 300 });
    expect(md.length).toBeLessThanOrEqual(300);
    expect(md).toContain('… cut at 300 characters');
  });
});
