// Connection parts -> the node-postgres client configuration, field by field: no connection
// string is rebuilt, so a password (or any value from the environment) is never re-read as
// URL syntax. URL parameters keep the meaning node-postgres gave them.
import fs from 'node:fs';
import type pg from 'pg';
import type { ConnectionParts } from '../../config/connection-string.js';

const SSL_MODES = new Set(['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify']);
const SUPPORTED = [
  'sslmode',
  'ssl',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'sslpassword',
  'connect_timeout',
  'options',
  'client_encoding',
  'application_name',
];

export class ClientConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientConfigError';
  }
}

/**
 * `sessionOptions` and `applicationName` are wharf's own (UTC, quiet notices; the name other
 * sessions see in pg_stat_activity); `database` from the connection overrides the URL's.
 */
export function pgClientConfig(
  parts: ConnectionParts,
  base: { sessionOptions: string; applicationName: string; database?: string },
): pg.ClientConfig {
  const cfg: pg.ClientConfig = { options: base.sessionOptions, application_name: base.applicationName };
  if (parts.host) cfg.host = parts.host;
  if (parts.port) {
    if (!/^\d{1,5}$/.test(parts.port) || Number(parts.port) > 65535)
      throw new ClientConfigError('the port is not a number from 1 to 65535');
    cfg.port = Number(parts.port);
  }
  if (parts.user) cfg.user = parts.user;
  if (parts.password !== undefined) cfg.password = parts.password;
  const database = base.database ?? parts.database;
  if (database) cfg.database = database;

  let mode: string | undefined;
  let sslFlag: boolean | undefined;
  const tls: { ca?: string; cert?: string; key?: string; passphrase?: string } = {};
  for (const [k, v] of parts.params) {
    switch (k) {
      case 'sslmode':
        if (!SSL_MODES.has(v))
          throw new ClientConfigError(`sslmode must be one of ${[...SSL_MODES].join(', ')}`);
        mode = v;
        break;
      case 'ssl':
        sslFlag = v === 'true' || v === '1';
        break;
      case 'sslrootcert':
        tls.ca = readFile(k, v);
        break;
      case 'sslcert':
        tls.cert = readFile(k, v);
        break;
      case 'sslkey':
        tls.key = readFile(k, v);
        break;
      case 'sslpassword':
        tls.passphrase = v;
        break;
      case 'connect_timeout':
        if (!/^\d+$/.test(v)) throw new ClientConfigError('connect_timeout must be a number of seconds');
        cfg.connectionTimeoutMillis = Number(v) * 1000;
        break;
      case 'options':
        cfg.options = `${base.sessionOptions} ${v}`;
        break;
      case 'client_encoding':
        cfg.client_encoding = v;
        break;
      case 'application_name':
        // wharf names its sessions itself: the apply lock reports its holder through it.
        break;
      default:
        throw new ClientConfigError(
          `the parameter "${k}" is not supported (supported: ${SUPPORTED.join(', ')})`,
        );
    }
  }
  const files = Object.keys(tls).length > 0;
  if (mode === 'disable' || (mode === undefined && sslFlag === false)) cfg.ssl = false;
  else if (mode === 'no-verify') cfg.ssl = { ...tls, rejectUnauthorized: false };
  else if (mode !== undefined || files) cfg.ssl = { ...tls };
  else if (sslFlag) cfg.ssl = true;
  return cfg;
}

function readFile(param: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ClientConfigError(
      `${param}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}
