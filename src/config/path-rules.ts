// Where the embedded warehouse (`dataDir` of a local connection) and the embedded bucket store
// (`dir` of a local-bucket connection) may keep their files. wharf creates, fills and deletes
// files there, so the folder must be one of its own:
// - a relative path resolves against the config file's folder and must stay inside it (no
//   `..` out of it), and may not be that folder itself; inside it, it is fine wherever the
//   project lives (a project may well sit in /root or /usr/src/app);
// - an absolute path may point anywhere except into a system directory (SYSTEM_DIRS, with
//   the temp folders of ALLOWED_SYSTEM_SUBDIRS) and except a shared parent (SHARED_DIRS:
//   `/`, `/home`, `/tmp`, ... themselves; a folder inside them is fine);
// - symbolic links count where they lead: a link inside the project to /etc is refused.
// At run time the providers refuse, in addition, a folder that is not empty and holds no
// wharf marker file (see providers/data-dir.ts).
import fs from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from '../plan/plan.js';
import { escapeControl } from '../render/safe-text.js';
import { formatPath, type Locator, type YamlPath } from './load.js';
import type { ConnectionConfig } from './types.js';

/** Folders (and everything under them) wharf never writes into. */
export const SYSTEM_DIRS: readonly string[] = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/snap',
  '/sys',
  '/usr',
  '/var',
  // macOS
  '/System',
  '/Library',
  '/Applications',
  '/private',
];

/** Temp folders under a system directory, where a data folder is fine. */
export const ALLOWED_SYSTEM_SUBDIRS: readonly string[] = [
  '/var/tmp',
  '/var/folders',
  '/private/tmp',
  '/private/var/tmp',
  '/private/var/folders',
];

/** Folders shared by everyone: a data folder may live inside them, but not be one of them. */
export const SHARED_DIRS: readonly string[] = [
  '/',
  '/home',
  '/tmp',
  '/var/tmp',
  '/mnt',
  '/media',
  '/opt',
  '/srv',
  '/Users',
  '/Volumes',
  '/private/tmp',
];

function within(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir === '/' ? '/' : `${dir}/`);
}

/** Why an absolute, normalized folder cannot hold wharf's files ("is a system directory"), or undefined. */
export function systemDirProblem(abs: string): string | undefined {
  if (SHARED_DIRS.includes(abs)) return 'is a shared folder; name a folder of its own inside it';
  const sys = SYSTEM_DIRS.find((d) => within(abs, d));
  if (sys && !ALLOWED_SYSTEM_SUBDIRS.some((d) => within(abs, d) && abs !== d))
    return abs === sys ? 'is a system directory' : `is inside the system directory ${sys}`;
  return undefined;
}

/** The real path of `p`: symbolic links resolved as far as the path exists. */
export function realPathOf(p: string): string {
  let existing = p;
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync(existing), ...rest);
    } catch {
      const parent = path.dirname(existing);
      if (parent === existing) return p;
      rest.unshift(path.basename(existing));
      existing = parent;
    }
  }
}

/** Why `value` (a dataDir or dir as written) is not a folder wharf may use, or undefined. */
export function dataDirProblem(value: string, baseDir: string): string | undefined {
  if (/[\x00-\x1f\x7f]/.test(value)) return 'must not contain control characters';
  const resolved = path.resolve(baseDir, value);
  if (!path.isAbsolute(value)) {
    // Inside the project is fine wherever the project lives (/root/app, /usr/src/app, ...).
    const rel = path.relative(baseDir, resolved);
    if (rel === '')
      return "is the config file's folder itself; name a folder of its own inside it, such as .wharf/local";
    if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel))
      return "leaves the config file's folder; a relative path must stay inside it (or write an absolute path)";
    const realBase = realPathOf(baseDir);
    const real = realPathOf(resolved);
    if (real === realBase) return "leads through a symbolic link back to the config file's folder itself";
    if (within(real, realBase)) return undefined;
    const viaLink = systemDirProblem(real);
    return viaLink ? `leads through a symbolic link to ${real}, which ${viaLink}` : undefined;
  }
  if (resolved === baseDir) return "is the config file's folder itself; name a folder of its own inside it";
  const lexical = systemDirProblem(resolved);
  if (lexical) return lexical;
  const real = realPathOf(resolved);
  const viaLink = real !== resolved ? systemDirProblem(real) : undefined;
  return viaLink ? `leads through a symbolic link to ${real}, which ${viaLink}` : undefined;
}

/** Folders no wharf data folder may be in, wherever the path came from (a saved plan too). */
const NEVER_UNDER: readonly string[] = ['/boot', '/dev', '/etc', '/proc', '/sys'];

/**
 * The run-time check (the loader checked the file already): a shared or system folder itself,
 * or anything under the kernel's and the system configuration's folders. Projects do live
 * under /root, /usr/src or /var/lib/…, so those are left to the loader's rules for what the
 * file writes as an absolute path.
 */
export function runtimeDirProblem(abs: string): string | undefined {
  if (SHARED_DIRS.includes(abs)) return 'is a shared folder';
  if (SYSTEM_DIRS.includes(abs)) return 'is a system directory';
  const sys = NEVER_UNDER.find((d) => within(abs, d));
  return sys ? `is inside the system directory ${sys}` : undefined;
}

/** The folder each embedded connection uses, as the providers resolve it. */
export function embeddedDirOf(c: ConnectionConfig, baseDir: string): string | undefined {
  if (c.type === 'local') return path.resolve(baseDir, c.dataDir ?? '.wharf/local');
  if (c.type === 'local-bucket') return path.resolve(baseDir, c.dir ?? '.wharf/buckets');
  return undefined;
}

/** Diagnostics for every embedded connection's folder: where it points, and no two sharing one. */
export function checkDataDirs(
  connections: Record<string, ConnectionConfig>,
  baseDir: string,
  loc: Locator,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen: { name: string; dir: string }[] = [];
  for (const [name, c] of Object.entries(connections)) {
    const key = c.type === 'local' ? 'dataDir' : c.type === 'local-bucket' ? 'dir' : undefined;
    if (!key) continue;
    const value = c[key];
    const p: YamlPath = ['connections', name, ...(value !== undefined ? [key] : [])];
    const err = (message: string) => {
      const at = loc.at(p);
      out.push({
        severity: 'error',
        code: 'data-dir',
        message,
        line: at.line,
        col: at.col,
        path: formatPath(p),
      });
    };
    if (value !== undefined) {
      const problem = dataDirProblem(value, baseDir);
      if (problem) {
        err(`connection ${name}: ${key} ${escapeControl(JSON.stringify(value))} ${problem}`);
        continue;
      }
    }
    const dir = embeddedDirOf(c, baseDir)!;
    const other = seen.find((s) => within(dir, s.dir) || within(s.dir, dir));
    const shown = (d: string) => {
      const rel = path.relative(baseDir, d);
      return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : d;
    };
    if (other)
      err(
        `connection ${name}: its folder ${escapeControl(shown(dir))} overlaps the folder of connection ${other.name} (${escapeControl(shown(other.dir))}); give each its own`,
      );
    seen.push({ name, dir });
  }
  return out;
}
