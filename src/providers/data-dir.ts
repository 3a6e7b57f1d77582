// The folders the embedded warehouse and the embedded bucket store write into. wharf marks a
// folder it creates with a small file (MARKER, naming what lives there) and refuses to write
// into a folder that holds anything else: a `dataDir: ~/Documents` typo must fail with a
// clear message, not fill (or, when the server cleans up, empty) somebody's folder. Folders
// that earlier wharf versions created without a marker are recognized by their layout and
// adopted. The config loader already refused system directories; this checks the worst ones
// again at run time (a saved plan carries its own connection specs).
import fs from 'node:fs';
import path from 'node:path';
import { realPathOf, runtimeDirProblem } from '../config/path-rules.js';

export const MARKER = '.wharf-owned';

export type DataDirKind = 'local warehouse' | 'local buckets';

export class DataDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirError';
  }
}

function markerText(kind: DataDirKind): string {
  return `wharf ${kind}\nThis folder is managed by wharf; do not put other files here.\n`;
}

/** Entries an unmarked folder may hold and still be taken as made by an earlier wharf. */
function looksLikeEarlierWharf(kind: DataDirKind, dir: string, entries: string[]): boolean {
  if (kind === 'local warehouse') {
    const known = new Set(['pgdata', 'password', 'leases', 'server.log', 'lifecycle.lock', 'pgdata.pw']);
    return entries.includes('pgdata') && entries.every((e) => known.has(e));
  }
  const sidecars = new Set(entries.filter((e) => e.endsWith('.bucket.json')));
  if (sidecars.size === 0) return false;
  return entries.every(
    (e) =>
      sidecars.has(e) ||
      e === '.wharf-apply.lock' ||
      (sidecars.has(`${e}.bucket.json`) && fs.statSync(path.join(dir, e)).isDirectory()),
  );
}

/**
 * Throws DataDirError unless `dir` may hold wharf's files of this kind: it does not exist
 * yet, is empty, carries this kind's marker, or was laid out by an earlier wharf.
 */
export function checkDataDir(dir: string, kind: DataDirKind): void {
  const abs = path.resolve(dir);
  const real = realPathOf(abs);
  const problem = runtimeDirProblem(abs) ?? runtimeDirProblem(real);
  if (problem)
    throw new DataDirError(
      `the ${kind} folder ${real === abs ? abs : `${abs} (${real})`} ${problem}; wharf does not write there`,
    );
  let entries: string[];
  try {
    entries = fs.readdirSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new DataDirError(`the ${kind} folder ${abs} is a file, not a folder`);
    throw new DataDirError(`cannot read the ${kind} folder ${abs} (${code})`);
  }
  if (entries.includes(MARKER)) {
    const text = fs.readFileSync(path.join(abs, MARKER), 'utf8');
    if (!text.startsWith(`wharf ${kind}\n`))
      throw new DataDirError(
        `the folder ${abs} belongs to wharf's ${text.split('\n')[0]!.replace(/^wharf /, '')}, not its ${kind}; give each connection a folder of its own`,
      );
    return;
  }
  if (entries.length === 0 || looksLikeEarlierWharf(kind, abs, entries)) return;
  throw new DataDirError(
    `the ${kind} folder ${abs} is not empty and was not created by wharf (it has no ${MARKER} file); wharf does not write into it. Name a new or empty folder instead`,
  );
}

/** checkDataDir, then creates the folder if needed and marks it as this kind's. */
export function ensureDataDir(dir: string, kind: DataDirKind): void {
  checkDataDir(dir, kind);
  const abs = path.resolve(dir);
  fs.mkdirSync(abs, { recursive: true });
  const marker = path.join(abs, MARKER);
  if (!fs.existsSync(marker)) fs.writeFileSync(marker, markerText(kind));
}
