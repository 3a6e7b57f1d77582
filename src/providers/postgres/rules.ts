// The PostgreSQL engine's config rules (src/providers/engine.ts, `checkRules`): what its two
// connection types need. A `postgres` connection is a server by URL, and the URL must be one
// libpq would read the same way; a `local` one runs the embedded server and takes no URL.
import { connectionStringProblem, literalSecrets } from '../../config/connection-string.js';
import { formatPath, type Locator, type YamlPath } from '../../config/load.js';
import type { ConnectionConfig } from '../../config/types.js';
import type { Diagnostic } from '../../plan/plan.js';

export function checkPostgresRules(
  _config: unknown,
  connections: Record<string, ConnectionConfig>,
  _defaultConnection: string,
  loc: Locator,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const err = (path: YamlPath, message: string) => {
    const at = loc.at(path);
    out.push({
      severity: 'error',
      code: 'connection',
      message,
      line: at.line,
      col: at.col,
      path: formatPath(path),
    });
  };
  for (const [name, c] of Object.entries(connections)) {
    const p: YamlPath = ['connections', name];
    if (c.type === 'postgres' && !c.url) err(p, `connection ${name}: type postgres needs "url"`);
    if (c.type === 'local' && c.url)
      err([...p, 'url'], `connection ${name}: type local takes no "url" (it runs an embedded server)`);
    // A literal secret is the core's error already; a URL without one must read as libpq reads it.
    if (c.type === 'postgres' && c.url && literalSecrets(c.url).length === 0) {
      const problem = connectionStringProblem(c.url);
      if (problem) err([...p, 'url'], `connection ${name}: url ${problem}`);
    }
  }
  return out;
}
