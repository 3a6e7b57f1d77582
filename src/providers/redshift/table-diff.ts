// The Redshift part of a table diff (the engine's diffTable, run by src/plan/diff.ts after the
// core's table diff): distribution, sort key and column encodings, and the
// decision between an in-place ALTER and a replace, by the limits the ALTER TABLE reference
// documents (https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE.html):
//
// - ALTER COLUMN ... TYPE only widens a VARCHAR, and not on a column encoded BYTEDICT,
//   RUNLENGTH, TEXT255 or TEXT32K, with a default, or in a key (primary key per the reference;
//   distribution and sort keys are reported to fail with "found unexpected dependency for
//   column"). A column re-encoded by the same plan is re-encoded first, then widened.
// - ALTER COLUMN ... ENCODE, ALTER DISTSTYLE and ALTER DISTKEY are not supported on a table
//   with an interleaved sort key; an interleaved sort key can itself be altered in place to a
//   compound or no sort key (never the reverse), and that runs first.
// - Nullability and defaults cannot be altered at all; other type changes neither.
//
// What Redshift cannot alter in place forces a replace (drop and create: the rows are lost),
// marked destructive and explained, as Terraform marks a forced replacement. ADD COLUMN ...
// NOT NULL without a DEFAULT is refused: Redshift rejects it, and a replace would lose rows
// for what a default in the file fixes. Pure.

import type { TableDiff, TableRefusal } from '../../plan/diff.js';
import type { TableResource } from '../../plan/model.js';
import type { Distribution, SortKey } from './datashare-model.js';

/** A change Redshift would refuse and no replace should paper over: an error diagnostic. */
export type RedshiftRefusal = TableRefusal;

export type RedshiftTableDiff = TableDiff;

export const ADD_NOT_NULL_CODE = 'redshift-add-not-null';

/** Encodings whose columns ALTER COLUMN ... TYPE refuses. */
export const TYPE_LOCKING_ENCODINGS: readonly string[] = ['bytedict', 'runlength', 'text255', 'text32k'];

export function sameDistribution(a: Distribution, b: Distribution): boolean {
  return a.style === b.style && (a.style !== 'key' || a.key === b.key);
}

/**
 * AUTO equals AUTO whatever columns automatic table optimization chose (the live side lists
 * them, the file cannot): only a declared compound or interleaved key is compared by columns.
 */
export function sameSortKey(a: SortKey, b: SortKey): boolean {
  if (a.type === 'auto' && b.type === 'auto') return true;
  return (
    a.type === b.type &&
    a.columns.length === b.columns.length &&
    a.columns.every((c, i) => c === b.columns[i])
  );
}

/** Extends the core table diff (`base`) of a Redshift table (`want.redshift` is set). */
export function diffRedshiftTable(
  have: TableResource,
  want: TableResource,
  base: RedshiftTableDiff,
): RedshiftTableDiff {
  const fields = [...base.fields];
  const reasons = [...base.reasons];
  const blockers: string[] = [];
  const refusals: RedshiftRefusal[] = [];
  const hcols = new Map(have.columns.map((c) => [c.name, c]));
  const wcols = new Map(want.columns.map((c) => [c.name, c]));
  const wantLayout = want.redshift;
  const haveLayout = have.redshift;

  // The sort key decides first: leaving INTERLEAVED in place lets the rest run in place.
  const h = haveLayout?.sortKey ?? null;
  const w = wantLayout?.sortKey ?? null;
  const sortChanges = h !== null && w !== null && !sameSortKey(h, w);
  if (sortChanges) {
    if (w.type === 'interleaved')
      blockers.push(
        h.type === 'interleaved'
          ? 'the interleaved sort key changes columns, and Redshift alters an interleaved sort key only to a compound or no sort key'
          : `the sort key changes from ${h.type.toUpperCase()} to INTERLEAVED, which Redshift cannot alter in place`,
      );
  }
  const interleaved = h?.type === 'interleaved' && !(sortChanges && w.type !== 'interleaved');
  const onInterleaved = (what: string) =>
    `${what}, and Redshift does not alter that on a table with an interleaved sort key (to keep the rows, change the sort key to compound first: that one Redshift alters in place)`;

  if (wantLayout?.distribution && haveLayout?.distribution) {
    if (!sameDistribution(haveLayout.distribution, wantLayout.distribution)) {
      fields.push({ path: 'distribution', before: haveLayout.distribution, after: wantLayout.distribution });
      if (interleaved) blockers.push(onInterleaved('the distribution changes'));
    }
  }
  if (sortChanges) fields.push({ path: 'sortKey', before: h, after: w });

  for (const wc of want.columns) {
    const hc = hcols.get(wc.name);
    if (!hc || wc.encode === undefined || wc.encode === null) continue;
    if ((hc.encode ?? null) !== wc.encode) {
      fields.push({ path: `columns.${wc.name}.encode`, before: hc.encode ?? null, after: wc.encode });
      if (interleaved) blockers.push(onInterleaved(`column ${wc.name} changes encoding`));
    }
  }

  const keyColumns = liveKeyColumns(have);
  for (const f of base.fields) {
    const m = /^columns\.([^.]+)(?:\.(type|nullable|default))?$/.exec(f.path);
    if (!m) continue;
    const col = m[1]!;
    if (!m[2]) {
      const added = f.before === null ? wcols.get(col) : undefined;
      if (added && !added.nullable && added.default === null)
        refusals.push({
          code: ADD_NOT_NULL_CODE,
          column: col,
          message: `column "${col}" is added NOT NULL without a default, and Redshift refuses that (ALTER TABLE ADD COLUMN defined as NOT NULL must have a non-null default expression): give it a default in the file (e.g. default: 0, or default: "''"), or add it nullable`,
        });
      continue;
    }
    if (m[2] !== 'type') {
      blockers.push(`column ${col} changes ${m[2]} (Redshift cannot alter it in place)`);
      continue;
    }
    const before = String(f.before);
    const after = String(f.after);
    if (!isVarcharWidening(before, after)) {
      blockers.push(
        `column ${col} changes type from ${before} to ${after} (Redshift alters only VARCHAR widening in place)`,
      );
      continue;
    }
    const hc = hcols.get(col)!;
    const encoding = (wcols.get(col)?.encode ?? hc.encode ?? '').toLowerCase();
    const why: string[] = [];
    if (TYPE_LOCKING_ENCODINGS.includes(encoding))
      why.push(
        `it is encoded ${encoding.toUpperCase()}, and ALTER COLUMN ... TYPE refuses BYTEDICT, RUNLENGTH, TEXT255 and TEXT32K columns (to keep the rows, give it another encoding in the file, e.g. encode: zstd: wharf re-encodes it, then widens it)`,
      );
    if (hc.default !== null)
      why.push('it has a default, and ALTER COLUMN ... TYPE refuses columns with a default');
    const key = keyColumns.get(col);
    if (key) why.push(`it is ${key}, and ALTER COLUMN ... TYPE refuses key columns`);
    if (why.length > 0)
      blockers.push(`column ${col} cannot be widened in place to ${after}: ${why.join('; ')}`);
  }

  if (blockers.length === 0)
    return { fields, replace: false, reasons, ...(refusals.length ? { refusals } : {}) };
  for (const f of fields) if (/^columns\.[^.]+\.(type|nullable|default)$/.test(f.path)) f.destructive = true;
  return {
    fields,
    replace: true,
    reasons: [
      ...reasons,
      ...blockers,
      'so the table is dropped and re-created with the new definition, and its rows are lost',
    ],
  };
}

/** The live table's key columns, each with what key it is in. */
function liveKeyColumns(t: TableResource): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of t.primaryKey ?? []) out.set(c, 'in the primary key');
  const layout = t.redshift;
  if (layout?.distribution?.key) out.set(layout.distribution.key, 'the distribution key');
  for (const c of layout?.sortKey?.columns ?? []) if (!out.has(c)) out.set(c, 'in the sort key');
  return out;
}

/** `character varying(a)` -> `character varying(b)` with b >= a. */
export function isVarcharWidening(from: string, to: string): boolean {
  const a = /^character varying\((\d+)\)$/.exec(from);
  const b = /^character varying\((\d+)\)$/.exec(to);
  return a !== null && b !== null && Number(b[1]) >= Number(a[1]);
}
