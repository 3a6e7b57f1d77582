// PostgreSQL connection strings (a `postgres://` URL or a libpq `key=value` string) read into
// parts, with `${env:NAME}` references resolved inside the part they stand in, never spliced
// into the text first: a password holding `@ # / ? %` or a space stays one password. The
// same reading tells validation where a literal secret is written. Error messages name the
// part that is wrong, never its value.
import { ENV_REF_RE, ENV_REF_WHOLE_RE, MissingEnvError, variableScope } from './env.js';

export interface ConnectionParts {
  host?: string;
  port?: string;
  user?: string;
  password?: string;
  database?: string;
  /** Every other parameter (URL query or key=value pair), in the order written. */
  params: [string, string][];
}

export class ConnectionStringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionStringError';
  }
}

/** Keys whose value is a secret, in a URL query or a key=value string (libpq's names). */
const SECRET_KEYS = new Set(['password', 'sslpassword']);
/** libpq keys that set a part rather than a parameter. */
const PART_KEYS: Record<string, keyof Omit<ConnectionParts, 'params'>> = {
  host: 'host',
  hostaddr: 'host',
  port: 'port',
  user: 'user',
  password: 'password',
  dbname: 'database',
};

// While a template is read, each `${env:NAME}` stands as OPEN index CLOSE: characters no
// delimiter of either syntax uses, so a reference never splits or joins parts.
const OPEN = '\uE000';
const CLOSE = '\uE001';
const TOKEN_RE = /\uE000(\d+)\uE001/g;
const TOKEN_WHOLE_RE = /^\uE000\d+\uE001$/;
const HAS_TOKEN_RE = /\uE000\d+\uE001/;

/** One part as written: literal text (still encoded) with reference tokens. */
interface RawPart {
  text: string;
  /** How literal text decodes: URL parts are percent-encoded; key=value values are already unescaped. */
  encoding: 'percent' | 'form' | 'none';
}

interface RawConnection {
  form: 'url' | 'keyvalue';
  scheme?: string;
  host?: RawPart;
  port?: RawPart;
  user?: RawPart;
  password?: RawPart;
  database?: RawPart;
  params: [RawPart, RawPart][];
  /** Where each secret sits, for messages: `the password in the URL`, `the parameter password`. */
  secrets: { where: string; part: RawPart }[];
}

function tokenize(template: string): { text: string; names: string[] } {
  if (template.includes(OPEN) || template.includes(CLOSE))
    throw new ConnectionStringError('holds a character from the Unicode private use area; remove it');
  const names: string[] = [];
  const text = template.replace(ENV_REF_RE, (_, name: string) => {
    names.push(name);
    return `${OPEN}${names.length - 1}${CLOSE}`;
  });
  return { text, names };
}

function readUrl(s: string): RawConnection {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(s)!;
  const out: RawConnection = { form: 'url', scheme: m[1]!.toLowerCase(), params: [], secrets: [] };
  let rest = m[2]!;
  const hash = rest.indexOf('#');
  if (hash >= 0)
    throw new ConnectionStringError(
      'holds a "#" outside an ${env:NAME} reference; write it percent-encoded as %23',
    );
  // `@` separates the user part from the host; anywhere else it must be written %40.
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = userinfo.indexOf(':');
    out.user = { text: colon >= 0 ? userinfo.slice(0, colon) : userinfo, encoding: 'percent' };
    if (colon >= 0) {
      out.password = { text: userinfo.slice(colon + 1), encoding: 'percent' };
      out.secrets.push({ where: 'the password in the URL', part: out.password });
    }
  }
  const end = rest.search(/[/?]/);
  const hostport = end >= 0 ? rest.slice(0, end) : rest;
  let tail = end >= 0 ? rest.slice(end) : '';
  if (hostport.includes(',')) throw new ConnectionStringError('names several hosts; wharf connects to one');
  let host = hostport;
  let port: string | undefined;
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close < 0) throw new ConnectionStringError('has an IPv6 host without its closing "]"');
    host = hostport.slice(1, close);
    const after = hostport.slice(close + 1);
    if (after !== '' && !after.startsWith(':'))
      throw new ConnectionStringError('has text after the IPv6 host that is not ":port"');
    if (after) port = after.slice(1);
  } else {
    const colon = hostport.indexOf(':');
    if (colon >= 0) {
      host = hostport.slice(0, colon);
      port = hostport.slice(colon + 1);
    }
  }
  if (host) out.host = { text: host, encoding: 'percent' };
  if (port) out.port = { text: port, encoding: 'percent' };
  if (tail.startsWith('/')) {
    const q = tail.indexOf('?');
    const path = q >= 0 ? tail.slice(1, q) : tail.slice(1);
    tail = q >= 0 ? tail.slice(q) : '';
    if (path) out.database = { text: path, encoding: 'percent' };
  }
  if (tail.startsWith('?')) {
    for (const pair of tail.slice(1).split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const key: RawPart = { text: eq >= 0 ? pair.slice(0, eq) : pair, encoding: 'form' };
      const value: RawPart = { text: eq >= 0 ? pair.slice(eq + 1) : '', encoding: 'form' };
      setParam(out, key, value, 'the URL parameter');
    }
  }
  return out;
}

/** libpq's conninfo syntax: `key = value` pairs, values bare or in '…' with \ escapes. */
function readKeyValue(s: string): RawConnection {
  const out: RawConnection = { form: 'keyvalue', params: [], secrets: [] };
  let i = 0;
  const ws = () => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  for (;;) {
    ws();
    if (i >= s.length) break;
    const k = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i));
    if (!k) throw new ConnectionStringError('is neither a postgres:// URL nor key=value pairs');
    i += k[0].length;
    ws();
    if (s[i] !== '=') throw new ConnectionStringError(`has no "=" after "${k[0]}"`);
    i++;
    ws();
    let value = '';
    if (s[i] === "'") {
      i++;
      for (;;) {
        if (i >= s.length) throw new ConnectionStringError(`has an unterminated quoted value for "${k[0]}"`);
        const c = s[i]!;
        if (c === '\\' && i + 1 < s.length) {
          value += s[i + 1];
          i += 2;
        } else if (c === "'") {
          i++;
          break;
        } else {
          value += c;
          i++;
        }
      }
    } else {
      while (i < s.length && !/\s/.test(s[i]!)) {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        value += s[i];
        i++;
      }
    }
    setParam(out, { text: k[0], encoding: 'none' }, { text: value, encoding: 'none' }, 'the parameter');
  }
  return out;
}

function setParam(out: RawConnection, key: RawPart, value: RawPart, what: string) {
  // Keys are plain words: decoded here, with references left as they are.
  const name = decodeLiteral(key.text, key.encoding, 'a parameter name').toLowerCase();
  if (SECRET_KEYS.has(name)) out.secrets.push({ where: `${what} ${name}`, part: value });
  const part = PART_KEYS[name];
  if (part) out[part] = value;
  else out.params.push([{ text: name, encoding: 'none' }, value]);
}

function read(text: string): RawConnection {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text) ? readUrl(text) : readKeyValue(text);
}

function decodeLiteral(text: string, encoding: RawPart['encoding'], what: string): string {
  if (encoding === 'none') return text;
  try {
    return decodeURIComponent(encoding === 'form' ? text.replace(/\+/g, ' ') : text);
  } catch {
    throw new ConnectionStringError(`has malformed percent-encoding in ${what}`);
  }
}

/** The part's value: literal text decoded, each reference replaced by its value as is. */
function materialize(part: RawPart, values: string[], what: string): string {
  let out = '';
  let last = 0;
  for (const m of part.text.matchAll(TOKEN_RE)) {
    out += decodeLiteral(part.text.slice(last, m.index), part.encoding, what);
    out += values[Number(m[1])]!;
    last = m.index + m[0].length;
  }
  return out + decodeLiteral(part.text.slice(last), part.encoding, what);
}

/**
 * Where a connection string as written in the file holds a secret that is not exactly one
 * `${env:NAME}` reference: `the password in the URL`, `the URL parameter password`, … A string
 * that is itself one reference holds nothing literal. A string that cannot be read is judged
 * by its shape alone, so that a malformed string cannot hide a password.
 */
export function literalSecrets(template: string): string[] {
  if (ENV_REF_WHOLE_RE.test(template)) return [];
  let raw: RawConnection;
  try {
    raw = read(tokenize(template).text);
  } catch {
    const bare = template.replace(ENV_REF_RE, '');
    const found: string[] = [];
    if (/:\/\/[^@]*:[^@]+@/s.test(bare)) found.push('the password in the URL');
    if (/(^|[\s?&])(ssl)?password\s*=\s*(?!\$\{env:[A-Za-z_][A-Za-z0-9_]*\}(\s|&|$))/i.test(template))
      found.push('a password parameter');
    return found;
  }
  return raw.secrets
    .filter(({ part }) => part.text !== '' && !TOKEN_WHOLE_RE.test(part.text))
    .map(({ where }) => where);
}

/** Problems with the shape of a connection string as written (no value is read). */
export function connectionStringProblem(template: string): string | undefined {
  if (ENV_REF_WHOLE_RE.test(template)) return undefined;
  try {
    const raw = read(tokenize(template).text);
    if (raw.form === 'url' && raw.scheme !== 'postgres' && raw.scheme !== 'postgresql')
      return `starts with ${raw.scheme}://; a PostgreSQL URL starts with postgres:// or postgresql://`;
    return undefined;
  } catch (e) {
    if (e instanceof ConnectionStringError) return e.message;
    throw e;
  }
}

export interface ResolvedConnection {
  parts: ConnectionParts;
  /**
   * Every secret value read, decoded and as written (a whole-string reference holds its
   * password percent-encoded): what output must never show.
   */
  secrets: string[];
}

/**
 * Reads a connection string from the file and resolves its references. A string that is one
 * reference (`${env:DATABASE_URL}`) is read from the variable's value, percent-decoding as
 * any URL; otherwise each reference's value becomes (part of) the part it stands in, as is.
 * Throws MissingEnvError naming every unset variable, ConnectionStringError on bad syntax.
 */
export function resolveConnectionString(
  template: string,
  where: string,
  env: NodeJS.ProcessEnv = variableScope(),
): ResolvedConnection {
  const { text, names } = ENV_REF_WHOLE_RE.test(template)
    ? { text: template, names: [] as string[] }
    : tokenize(template);
  const wanted = ENV_REF_WHOLE_RE.test(template) ? [template.slice(6, -1)] : names;
  const missing = [...new Set(wanted.filter((n) => env[n] === undefined))];
  if (missing.length) throw new MissingEnvError(missing, where);
  let raw: RawConnection;
  let values: string[];
  const secrets: string[] = [];
  try {
    if (names.length === 0 && wanted.length === 1) {
      // The whole string comes from the environment: read it as written there.
      const value = env[wanted[0]!]!;
      if (value.includes(OPEN) || value.includes(CLOSE))
        throw new ConnectionStringError('holds a character from the Unicode private use area; remove it');
      raw = read(value);
      values = [];
    } else {
      raw = read(text);
      values = names.map((n) => env[n]!);
    }
  } catch (e) {
    if (e instanceof ConnectionStringError) throw new ConnectionStringError(`${where} ${e.message}`);
    throw e;
  }
  const get = (p: RawPart | undefined, what: string) => {
    if (p === undefined) return undefined;
    try {
      return materialize(p, values, what);
    } catch (e) {
      if (e instanceof ConnectionStringError) throw new ConnectionStringError(`${where} ${e.message}`);
      throw e;
    }
  };
  for (const { part } of raw.secrets) {
    const v = get(part, 'a password');
    if (v) secrets.push(v);
    if (part.text && !HAS_TOKEN_RE.test(part.text)) secrets.push(part.text);
  }
  if (raw.form === 'url' && raw.scheme !== 'postgres' && raw.scheme !== 'postgresql')
    throw new ConnectionStringError(
      `${where} starts with ${raw.scheme}://; a PostgreSQL URL starts with postgres:// or postgresql://`,
    );
  const parts: ConnectionParts = { params: [] };
  const set = (k: keyof Omit<ConnectionParts, 'params'>, what: string) => {
    const v = get(raw[k], what);
    if (v !== undefined) parts[k] = v;
  };
  set('host', 'the host');
  set('port', 'the port');
  set('user', 'the user name');
  set('password', 'the password');
  set('database', 'the database name');
  for (const [k, v] of raw.params) parts.params.push([get(k, 'a parameter name')!, get(v, 'a parameter')!]);
  return { parts, secrets };
}
