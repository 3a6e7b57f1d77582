// Points `connecting-role` plan diagnostics (found only once the live state is read) at the
// role's entry under `roles:` when the file declares it: declaring the connecting role is what
// puts its login, memberships and privileges in the file's hands.
import { fileLocator, formatPath } from '../config/load.js';
import type { LoadedConfig } from '../config/types.js';
import { connectingRoleOf } from '../plan/connecting-role.js';
import { foldIdent } from '../plan/normalize.js';
import type { Diagnostic } from '../plan/plan.js';

export function locateConnectingRoleDiagnostics(
  loaded: LoadedConfig,
  diagnostics: Diagnostic[],
): Diagnostic[] {
  const unplaced = diagnostics.filter((d) => d.line === undefined && connectingRoleOf(d) !== undefined);
  if (unplaced.length === 0) return diagnostics;
  const locator = fileLocator(loaded);
  if (locator === null) return diagnostics; // the file moved since it was loaded: keep the diagnostics as they are
  const roles = loaded.config.roles ?? [];
  return diagnostics.map((d) => {
    if (!unplaced.includes(d)) return d;
    const about = connectingRoleOf(d)!;
    const i = roles.findIndex(
      (r) =>
        foldIdent(r.name) === about.role && (r.connection ?? loaded.defaultConnection) === about.connection,
    );
    const path = i < 0 ? [] : ['roles', i];
    const at = locator?.at(path) ?? { line: 1, col: 1 };
    return {
      ...d,
      file: ('file' in at && at.file) || loaded.file,
      line: at.line,
      col: at.col,
      ...(i < 0 ? {} : { path: formatPath(path) }),
    };
  });
}
