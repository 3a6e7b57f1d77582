// Turns any thrown error into one clear line for the user. Stack traces only with
// WHARF_DEBUG=1: they help us, not the person running wharf. Messages often quote the file
// (names, values) or a server echoing it, so control characters are shown as escapes; every
// secret value wharf has resolved is blanked from the line, in every spelling (see
// config/secrets.ts).
import { redactSecrets } from '../config/secrets.js';
import { escapeControlKeepLayout } from '../render/safe-text.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const KNOWN = new Set([
  'UsageError',
  'ApplyRefused',
  'MissingEnvError',
  'ConnectError',
  'LockTimeoutError',
  'LocalServerError',
  'DataDirError',
  'PlanFileError',
  'StatementError',
  'DataApiThrottledError',
  'ConnectionStringError',
  'SecretInOutputError',
  // AWS failures worded with the connection and a hint (providers/aws-errors.ts); the S3 provider's own.
  'AwsError',
  'BucketReadError',
  'ApiCallError',
]);

export function formatError(e: unknown): string {
  return redactSecrets(escapeControlKeepLayout(describeError(e)));
}

function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const debug = process.env.WHARF_DEBUG ? `\n${e.stack ?? ''}` : '';
  if (KNOWN.has(e.name)) {
    const sql = (e as { sql?: string }).sql;
    return `${e.message}${sql ? `\n  while running: ${sql}` : ''}${debug}`;
  }
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT') {
    return `cannot reach the server: ${e.message}${debug}`;
  }
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    return `the database refused: ${e.message}${debug}`;
  }
  return `${e.message} (unexpected; run with WHARF_DEBUG=1 for details)${debug}`;
}
