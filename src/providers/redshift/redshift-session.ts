// What the session wharf reads Redshift as may not see or do: plan diagnostics from the facts
// of the catalog batch (the session user, whether a superuser) and the resources. Pure.
import type { Resource } from '../../plan/model.js';
import type { Diagnostic } from '../../plan/plan.js';

export const SUPERUSER_CODE = 'redshift-superuser';

/**
 * What a session that is not a superuser cannot do or see, as plan diagnostics: ALTER
 * DATASHARE … SET INCLUDENEW needs a superuser (an error when the plan would run it), and the
 * SVV_*_PRIVILEGES and SVV_DATASHARE* views show an ordinary user only its own rows, so
 * privileges and shares others granted read as missing and are granted again on every plan
 * (a warning when the file manages any). Pure.
 */
export function superuserDiagnostics(
  connection: string,
  user: string,
  superuser: boolean | null,
  desired: readonly Resource[],
  live: readonly Resource[],
): Diagnostic[] {
  if (superuser !== false) return [];
  const who = `connection ${connection}: ${user || 'the session user'} (the user this connection runs as) is not a superuser`;
  const out: Diagnostic[] = [];
  const liveShares = new Map(live.flatMap((r) => (r.kind === 'datashare' ? [[r.name, r] as const] : [])));
  for (const d of desired) {
    if (d.kind !== 'datashare') continue;
    const before = new Set(liveShares.get(d.name)?.includeNew ?? []);
    const after = new Set(d.includeNew);
    const flips = [
      ...[...after].filter((sch) => !before.has(sch)),
      ...[...before].filter((sch) => !after.has(sch) && d.schemas.includes(sch)),
    ];
    for (const sch of flips)
      out.push({
        severity: 'error',
        code: SUPERUSER_CODE,
        message: `${who}, and ALTER DATASHARE "${d.name}" SET INCLUDENEW ... FOR SCHEMA "${sch}" needs one: connect as a superuser (the secretArn or dbUser of one), or leave includeNew of schema ${sch} as it is`,
      });
  }
  if (desired.some((r) => r.kind === 'grant' || r.kind === 'default_privileges' || r.kind === 'datashare'))
    out.push({
      severity: 'warning',
      code: SUPERUSER_CODE,
      message: `${who}: Redshift shows it only its own rows of SVV_SCHEMA_PRIVILEGES, SVV_RELATION_PRIVILEGES, SVV_DEFAULT_PRIVILEGES and the SVV_DATASHARE views, so what other users granted or shared reads as missing and is planned again on every run. Connect as a superuser (the secretArn or dbUser of one) for a complete read`,
    });
  return out;
}
