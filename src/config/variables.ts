// Resolves the `${env:NAME}` and `${env:NAME:-default}` references of a file's load-time fields:
// every string value except the secret fields, which keep their reference until they are used
// (see env.ts). Map keys never hold a reference. Each problem is positioned at its value.
import type { Diagnostic } from '../plan/plan.js';
import { substitute, VAR_REF_RE } from './env.js';
import { formatPath, type Locator, type YamlPath } from './load.js';

/** The fields whose value is a secret or holds one: resolved when used, never shown. */
export function isSecretField(p: YamlPath): boolean {
  const last = p[p.length - 1];
  if (p.length === 3 && p[0] === 'connections') return last === 'url' || last === 'secretArn';
  return p.length === 3 && p[0] === 'roles' && typeof p[1] === 'number' && last === 'password';
}

const REF_START = '${env:';

/**
 * Replaces, in place, the references of every load-time string value of `data` with their
 * values. Returns the problems: a reference to an unset variable without a default, a malformed
 * reference, a reference in a key, a default in a secret field.
 */
export function substituteVariables(data: object, locator: Locator, env: NodeJS.ProcessEnv): Diagnostic[] {
  const out: Diagnostic[] = [];
  const problem = (p: YamlPath, message: string, key = false) => {
    const at = locator.at(p, key);
    out.push({
      severity: 'error',
      code: 'variable',
      message,
      line: at.line,
      col: at.col,
      path: formatPath(p),
    });
  };
  const visit = (value: unknown, p: YamlPath): unknown => {
    if (typeof value === 'string') {
      if (!value.includes('${')) return value;
      if (isSecretField(p)) {
        if ([...value.matchAll(VAR_REF_RE)].some((m) => m[2] !== undefined))
          problem(
            p,
            `${formatPath(p)} is a secret field: its \${env:NAME} takes no default (a default would write the secret into the file)`,
          );
        return value;
      }
      const r = substitute(value, env);
      if (r.ok) return r.value;
      if ('malformed' in r)
        problem(
          p,
          'malformed reference: write ${env:NAME} or ${env:NAME:-default}, with NAME made of letters, digits and _',
        );
      else
        for (const name of r.missing)
          problem(
            p,
            `variable ${name} is not set: give it with --var ${name}=…, in a --var-file or in the environment, or write a default: \${env:${name}:-…}`,
          );
      return value;
    }
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        value[i] = visit(item, [...p, i]);
      });
      return value;
    }
    if (value !== null && typeof value === 'object') {
      const rec = value as Record<string, unknown>;
      for (const k of Object.keys(rec)) {
        if (k.includes(REF_START))
          problem([...p, k], `a key cannot hold \${env:…}; only values can (${JSON.stringify(k)})`, true);
        rec[k] = visit(rec[k], [...p, k]);
      }
    }
    return value;
  };
  visit(data, []);
  return out;
}
