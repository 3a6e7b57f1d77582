// Passwords go to an engine as the verifier it stores, computed here, never as clear text: a
// `CREATE ROLE … PASSWORD '<clear>'` would sit in the server's statement log, in
// pg_stat_statements and in the Data API's query history.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** PostgreSQL's default (scram_iterations). */
export const SCRAM_ITERATIONS = 4096;

/**
 * A SCRAM-SHA-256 verifier (RFC 5802, RFC 7677) in the form PostgreSQL keeps in pg_authid and
 * accepts as a password already encrypted:
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64 throughout.
 */
export function scramSha256Verifier(
  password: string,
  salt: Buffer = randomBytes(16),
  iterations = SCRAM_ITERATIONS,
): string {
  const salted = pbkdf2Sync(saslPrep(password), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * The normalization clients apply before hashing (RFC 4013 SASLprep), in the part that changes
 * bytes: non-ASCII spaces become a space, characters "commonly mapped to nothing" go, then
 * NFKC. PostgreSQL leaves an ASCII password as it is, and so does this. libpq and node-postgres
 * normalize the same way when they log in, so the verifier matches what they compute.
 */
function saslPrep(password: string): string {
  if (/^[\x00-\x7f]*$/.test(password)) return password;
  return password
    .replace(/[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g, ' ')
    .replace(/\u00AD|\u034F|\u1806|[\u180B-\u180D]|\u200C|\u200D|\u2060|[\uFE00-\uFE0F]|\uFEFF/g, '')
    .normalize('NFKC');
}

/**
 * Redshift's hashed password for CREATE USER / ALTER USER: `md5` followed by the hex MD5 of
 * the password and the user name concatenated (the user name as Redshift stores it: wharf's
 * identifiers are already folded to lower case).
 */
export function redshiftMd5Password(password: string, user: string): string {
  return `md5${createHash('md5')
    .update(password + user, 'utf8')
    .digest('hex')}`;
}
