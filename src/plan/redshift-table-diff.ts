// The Redshift part of a table diff: distribution, sort key and column encodings, and the
// decision between an in-place ALTER and a replace. Redshift alters in place: DISTSTYLE /
// DISTKEY, a compound or AUTO sort key, a column's ENCODE, and a VARCHAR widened. Everything
// else the core differ found (another type change, nullability, a default, anything touching
// an interleaved sort key) forces a replace, which loses the rows. Pure.
import type { Distribution, SortKey } from './datashare-model.js';
import type { TableResource } from './model.js';
import type { FieldChange } from './plan.js';

export interface RedshiftTableDiff {
  fields: FieldChange[];
  replace: boolean;
  reasons: string[];
}

export function sameDistribution(a: Distribution, b: Distribution): boolean {
  return a.style === b.style && (a.style !== 'key' || a.key === b.key);
}

export function sameSortKey(a: SortKey, b: SortKey): boolean {
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
  for (const f of base.fields) {
    const m = /^columns\.([^.]+)\.(type|nullable|default)$/.exec(f.path);
    if (!m) continue;
    if (m[2] === 'type' && isVarcharWidening(String(f.before), String(f.after))) continue;
    blockers.push(
      m[2] === 'type'
        ? `column ${m[1]} changes type from ${String(f.before)} to ${String(f.after)} (Redshift alters only VARCHAR widening in place)`
        : `column ${m[1]} changes ${m[2]} (Redshift cannot alter it in place)`,
    );
  }
  const wantLayout = want.redshift;
  const haveLayout = have.redshift;
  if (wantLayout?.distribution && haveLayout?.distribution) {
    if (!sameDistribution(haveLayout.distribution, wantLayout.distribution))
      fields.push({ path: 'distribution', before: haveLayout.distribution, after: wantLayout.distribution });
  }
  if (wantLayout?.sortKey && haveLayout?.sortKey) {
    const h = haveLayout.sortKey;
    const w = wantLayout.sortKey;
    if (!sameSortKey(h, w)) {
      fields.push({ path: 'sortKey', before: h, after: w });
      if (h.type === 'interleaved' || w.type === 'interleaved')
        blockers.push('the sort key changes to or from INTERLEAVED, which Redshift cannot alter in place');
    }
  }
  const hcols = new Map(have.columns.map((c) => [c.name, c]));
  for (const w of want.columns) {
    const h = hcols.get(w.name);
    if (!h || w.encode === undefined || w.encode === null) continue;
    if ((h.encode ?? null) !== w.encode)
      fields.push({ path: `columns.${w.name}.encode`, before: h.encode ?? null, after: w.encode });
  }
  if (blockers.length === 0) return { fields, replace: false, reasons };
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

/** `character varying(a)` -> `character varying(b)` with b >= a. */
export function isVarcharWidening(from: string, to: string): boolean {
  const a = /^character varying\((\d+)\)$/.exec(from);
  const b = /^character varying\((\d+)\)$/.exec(to);
  return a !== null && b !== null && Number(b[1]) >= Number(a[1]);
}
