// `${env:NAME}` references. Two kinds of field hold them:
// - secret fields (a connection's `url` and `secretArn`, a role's `password`) keep the reference
//   as written: it is resolved as late as possible (connect, execute), so that plans, plan files
//   and logs only ever hold the reference, and a default (`:-`) is refused there;
// - every other string value is resolved when the file is read (`substituteVariables`), with an
//   optional default: `${env:REGION:-us-east-1}`; the plan shows the resolved value.
// Values come from `--var NAME=value`, then `--var-file`, then the environment (`variableScope`).

export const ENV_REF_RE = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;
export const ENV_REF_WHOLE_RE = /^\$\{env:[A-Za-z_][A-Za-z0-9_]*\}$/;

export class MissingEnvError extends Error {
  constructor(
    readonly names: string[],
    readonly where: string,
  ) {
    super(
      `${where}: environment variable${names.length > 1 ? 's' : ''} ${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} not set`,
    );
    this.name = 'MissingEnvError';
  }
}

/** Replaces every `${env:NAME}`; throws MissingEnvError naming all unset variables at once. */
export function resolveEnv(value: string, where: string, env: NodeJS.ProcessEnv = variableScope()): string {
  const missing: string[] = [];
  const out = value.replace(ENV_REF_RE, (_, name: string) => {
    const v = env[name];
    if (v === undefined) {
      missing.push(name);
      return '';
    }
    return v;
  });
  if (missing.length) throw new MissingEnvError([...new Set(missing)], where);
  return out;
}

export function envNames(value: string): string[] {
  return [...value.matchAll(ENV_REF_RE)].map((m) => m[1]!);
}

// Variables given on the command line (`--var` over `--var-file`), over the environment.

let commandLineVariables: Record<string, string> = {};

/** Sets the values `--var` and `--var-file` give (already merged, `--var` winning). */
export function setCommandLineVariables(vars: Record<string, string>): void {
  commandLineVariables = { ...vars };
}

/** Where `${env:NAME}` is looked up: the command line's variables, then the environment. */
export function variableScope(): NodeJS.ProcessEnv {
  return Object.keys(commandLineVariables).length === 0
    ? process.env
    : { ...process.env, ...commandLineVariables };
}

/** The names the command line sets (not the values). */
export function commandLineVariableNames(): string[] {
  return Object.keys(commandLineVariables);
}

/** `${env:NAME}` or `${env:NAME:-default}`, anywhere in a string (load-time fields). */
export const VAR_REF_RE = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export const VARIABLE_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export type Substituted =
  | { ok: true; value: string; names: string[] }
  | { ok: false; missing: string[] }
  | { ok: false; malformed: true };

/** A load-time string with its references replaced; unset names without a default are `missing`. */
export function substitute(value: string, env: NodeJS.ProcessEnv): Substituted {
  if (!value.includes('${')) return { ok: true, value, names: [] };
  const missing: string[] = [];
  const names: string[] = [];
  const out = value.replace(VAR_REF_RE, (_, name: string, def: string | undefined) => {
    names.push(name);
    const v = env[name];
    if (v !== undefined) return v;
    if (def !== undefined) return def;
    missing.push(name);
    return '';
  });
  if (value.replace(VAR_REF_RE, '').includes('${')) return { ok: false, malformed: true };
  if (missing.length) return { ok: false, missing: [...new Set(missing)] };
  return { ok: true, value: out, names };
}

/**
 * `--var-file`: one `NAME=value` per line; blank lines and lines starting with `#` are skipped;
 * the value is the rest of the line as is (no quotes, no escapes). Problems name the line,
 * never a value.
 */
export function parseVarFile(
  text: string,
  file: string,
): { vars: Record<string, string>; problems: string[] } {
  const vars: Record<string, string> = {};
  const problems: string[] = [];
  const lines = text.replace(/^\ufeff/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trimStart();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const name = eq < 0 ? line.trimEnd() : line.slice(0, eq).trimEnd();
    if (eq < 0 || !VARIABLE_NAME_RE.test(name)) {
      problems.push(
        `${file}:${i + 1}: expected NAME=value with NAME made of letters, digits and _ (not starting with a digit)`,
      );
      return;
    }
    if (Object.hasOwn(vars, name)) problems.push(`${file}:${i + 1}: ${name} is set twice`);
    vars[name] = line.slice(eq + 1);
  });
  return { vars, problems };
}
