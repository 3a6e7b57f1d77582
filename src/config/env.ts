// `${env:NAME}` references: secrets and endpoints come from the environment at run time,
// never from the file. Resolution happens as late as possible (connect, execute) so that
// plans, plan files and logs only ever hold the reference.

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
export function resolveEnv(value: string, where: string, env: NodeJS.ProcessEnv = process.env): string {
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
