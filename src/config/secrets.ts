// The secret values this process has resolved (connection passwords, role passwords), so that
// whatever wharf prints or saves can be checked against them: `redactSecrets` blanks every
// form a value may take in a message (as is, percent-encoded, JSON-escaped, SQL-quoted,
// base64), `findSecret` tells a writer that a text holds one. Values are registered where they
// are resolved; nothing here ever prints or stores one.
import { resolveConnectionString } from './connection-string.js';
import { ENV_REF_WHOLE_RE, envNames, variableScope } from './env.js';

const known = new Set<string>();
/** Every form of every registered value, longest first, so a longer form is blanked whole. */
let forms: string[] = [];

export const REDACTED = '***';

export function registerSecret(value: string | undefined): void {
  if (!value || known.has(value)) return;
  known.add(value);
  forms = [...new Set([...forms, ...secretForms(value)])].sort((a, b) => b.length - a.length);
}

/** Forgets every registered value (tests). */
export function clearSecrets(): void {
  known.clear();
  forms = [];
}

/** The ways `value` can be spelled in a message, a URL, a JSON document or a SQL literal. */
export function secretForms(value: string): string[] {
  const utf8 = Buffer.from(value, 'utf8');
  const pct = encodeURIComponent(value);
  const out = [
    value,
    pct,
    pct.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()),
    encodeURI(value),
    new URLSearchParams({ v: value }).toString().slice(2),
    JSON.stringify(value).slice(1, -1),
    JSON.stringify(JSON.stringify(value)).slice(3, -3),
    value.replace(/'/g, "''"),
    value.replace(/\\/g, '\\\\').replace(/'/g, "''"),
    value.replace(/\\/g, '\\\\').replace(/'/g, "\\'"),
    utf8.toString('base64'),
    utf8.toString('base64').replace(/=+$/, ''),
    utf8.toString('base64url'),
  ];
  return [...new Set(out)].filter((f) => f.length > 0);
}

/** `text` with every form of every registered secret replaced by `***`. */
export function redactSecrets(text: string): string {
  if (forms.length === 0 || text.length === 0) return text;
  let out = text;
  for (const f of forms) if (out.includes(f)) out = out.split(f).join(REDACTED);
  return out;
}

/** True when `text` holds a form of a registered secret. */
export function holdsSecret(text: string): boolean {
  return forms.some((f) => text.includes(f));
}

/**
 * Registers what a file (or a saved plan) will resolve: the password in each connection
 * string, and the variables that role passwords name. Unset variables and unreadable strings
 * are skipped here; connecting reports them.
 */
export function registerFileSecrets(
  connectionStrings: readonly (string | undefined)[],
  passwordEnvNames: readonly string[],
  env: NodeJS.ProcessEnv = variableScope(),
): void {
  for (const url of connectionStrings) {
    if (!url) continue;
    try {
      for (const v of resolveConnectionString(url, '', env).secrets) registerSecret(v);
    } catch {
      // Reported, without the value, when the connection opens.
    }
  }
  for (const n of passwordEnvNames) registerSecret(env[n]);
}

/** The variables named by role passwords written as `${env:NAME}`. */
export function passwordEnvNames(refs: readonly (string | null | undefined)[]): string[] {
  return refs.flatMap((r) => (r && ENV_REF_WHOLE_RE.test(r) ? envNames(r) : []));
}
