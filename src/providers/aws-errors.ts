// What went wrong in a call to AWS, in one line that names the connection and says what to do.
// Both AWS engines (s3, redshift) install `watchAwsErrors` on every SDK client they build, so an
// S3 call, a Redshift Data API call and a Redshift control-plane call that fail for the same
// reason are worded the same. The SDK is not imported here: the local-bucket provider must not
// pay for it, and the shapes read below (name, code, $metadata, $fault) are plain properties.

export type AwsErrorKind =
  /** No region in the file, the environment or the shared config. */
  | 'region'
  /** No credentials found, or AWS refused the ones found (expired, unknown key, bad signature). */
  | 'credentials'
  /** The request never got an answer: DNS, refused, timeout, TLS. */
  | 'network'
  /** AWS answered: the identity of the credentials may not do this. */
  | 'access-denied'
  /** AWS answered: slow down (after the retries the SDK or the transport made). */
  | 'throttling'
  /** Any other answer from the service. */
  | 'service';

/** The services wharf calls, as IAM spells their action prefixes. */
export type AwsService = 's3' | 'redshift-data' | 'redshift';

/** The call that failed, as far as it is known. */
export interface AwsCall {
  service: AwsService;
  /** The API operation, e.g. `GetBucketPolicy`. */
  operation?: string;
  /** The call's input, read only for the resource it names (Bucket, ClusterIdentifier, ...). */
  input?: Record<string, unknown>;
  /** `host[:port]` the request went to. */
  host?: string;
}

export class AwsError extends Error {
  /** The service's error code (`AccessDenied`, `NoSuchBucketPolicy`) or the system's (`ECONNREFUSED`). */
  readonly code: string | undefined;
  /** Kept from the SDK error, so callers that read the HTTP status still can. */
  readonly $metadata: { httpStatusCode?: number } | undefined;

  constructor(
    readonly connection: string,
    readonly kind: AwsErrorKind,
    /** What happened, e.g. `no AWS region`. */
    readonly summary: string,
    /** What to do about it. */
    readonly hint: string,
    options: { code?: string | undefined; status?: number | undefined; cause?: unknown } = {},
  ) {
    super(`connection ${connection}: ${summary}: ${hint}`, { cause: options.cause });
    this.name = 'AwsError';
    this.code = options.code;
    this.$metadata = options.status === undefined ? undefined : { httpStatusCode: options.status };
  }
}

const REGION_HINT = 'set "region" in the file or AWS_REGION';

/** No region could be resolved for the connection. */
export function noRegionError(connection: string, cause?: unknown): AwsError {
  return new AwsError(connection, 'region', 'no AWS region', REGION_HINT, { cause });
}

/** Error codes of credentials AWS does not accept (unknown, expired, or signed wrong). */
const REJECTED_CREDENTIALS = new Set([
  'AuthFailure',
  'ExpiredToken',
  'ExpiredTokenException',
  'IncompleteSignature',
  'InvalidAccessKeyId',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'InvalidToken',
  'MissingAuthenticationToken',
  'SignatureDoesNotMatch',
  'TokenRefreshRequired',
  'UnrecognizedClientException',
]);

const ACCESS_DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'AllAccessDisabled',
  'Forbidden',
  'UnauthorizedException',
  'UnauthorizedOperation',
]);

/** The codes the SDK's own retry logic treats as throttling, plus the Data API's. */
const THROTTLING = new Set([
  'ActiveStatementsExceededException',
  'BandwidthLimitExceeded',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
]);

interface Network {
  what: string;
  hint: string;
}

const HINT_ENDPOINT = 'check "endpoint" and "region" in the file, and the network or proxy on the way';
const HINT_PATH = 'check the network, VPN, proxy or firewall between this machine and AWS';
const HINT_TLS =
  'check that "endpoint" uses the scheme the server speaks (https:// or http://) and that its certificate is trusted (NODE_EXTRA_CA_CERTS)';

/** System error codes of a request that got no answer, by cause. */
function networkFailure(code: string | undefined, name: string): Network | undefined {
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
    case 'EAI_FAIL':
      return { what: 'the host name does not resolve', hint: HINT_ENDPOINT };
    case 'ECONNREFUSED':
      return { what: 'connection refused', hint: HINT_ENDPOINT };
    case 'ETIMEDOUT':
    case 'ESOCKETTIMEDOUT':
      return { what: 'no answer in time', hint: HINT_PATH };
    case 'ECONNRESET':
    case 'EPIPE':
      return { what: 'the connection was cut', hint: HINT_PATH };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENETDOWN':
      return { what: 'no route to the host', hint: HINT_PATH };
    case 'EPROTO':
      return { what: 'the TLS handshake failed', hint: HINT_TLS };
    default:
      if (code && /^(ERR_TLS_|ERR_SSL_)|CERT|^UNABLE_TO_|^DEPTH_ZERO/.test(code))
        return { what: 'the server certificate is not accepted', hint: HINT_TLS };
      // The SDK's own timeouts (connection, socket inactivity) carry only this name.
      if (name === 'TimeoutError') return { what: 'no answer in time', hint: HINT_PATH };
      return undefined;
  }
}

interface ErrorShape {
  name?: string;
  message?: string;
  code?: string;
  Code?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

/** The kind of a failure of an AWS SDK call; undefined for anything else (a bug, say). */
export function awsErrorKind(e: unknown): AwsErrorKind | undefined {
  if (e instanceof AwsError) return e.kind;
  if (!(e instanceof Error)) return undefined;
  const err = e as ErrorShape;
  const code = err.Code ?? err.name ?? '';
  const status = err.$metadata?.httpStatusCode;
  if (err.name === 'CredentialsProviderError' || err.name === 'TokenProviderError') return 'credentials';
  if (/^Region is missing/.test(err.message ?? '')) return 'region';
  if (networkFailure(err.code, err.name ?? '')) return 'network';
  if (REJECTED_CREDENTIALS.has(code)) return 'credentials';
  if (ACCESS_DENIED.has(code)) return 'access-denied';
  if (THROTTLING.has(code) || err.$retryable?.throttling === true || status === 429) return 'throttling';
  // Past the codes above, only an answer from the service says "AWS": a status or a fault side.
  if (status === undefined && err.$fault === undefined) return undefined;
  // A 403 without a body (HeadBucket) names no code: the SDK calls it Unknown or Forbidden.
  if (status === 403) return 'access-denied';
  return 'service';
}

/** The error of a failed AWS call, worded for the connection; anything not from AWS is returned as is. */
export function toAwsError(connection: string, e: unknown, call: AwsCall): unknown {
  if (e instanceof AwsError) return e;
  const kind = awsErrorKind(e);
  if (kind === undefined) return e;
  const err = e as Error & ErrorShape;
  const status = err.$metadata?.httpStatusCode;
  const code = err.Code ?? (err.name === 'Error' || err.name === 'Unknown' ? err.code : err.name);
  const options = { code, status, cause: e };
  const action = actionOf(call);
  const on = resourceOf(call);
  const what = `${action}${on ? ` on ${on}` : ''}`;
  const because = code ?? (status ? `HTTP ${status}` : 'no code');
  switch (kind) {
    case 'region':
      return new AwsError(connection, kind, 'no AWS region', REGION_HINT, options);
    case 'credentials':
      if (err.name === 'CredentialsProviderError' || err.name === 'TokenProviderError') {
        const detail = /^Could not load credentials from any providers/.test(err.message)
          ? ''
          : ` (${bounded(err.message)})`;
        return new AwsError(
          connection,
          kind,
          `no AWS credentials${detail}`,
          'set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or sign in with "aws sso login"',
          options,
        );
      }
      return new AwsError(
        connection,
        kind,
        `AWS refused the credentials (${because} on ${action})`,
        'refresh them (e.g. "aws sso login"), or check AWS_PROFILE and AWS_ACCESS_KEY_ID',
        options,
      );
    case 'network': {
      const n = networkFailure(err.code, err.name)!;
      const where =
        call.host ?? hostOf(err as { hostname?: string; address?: string; port?: number }) ?? 'AWS';
      return new AwsError(
        connection,
        kind,
        `cannot reach ${where}: ${n.what}${err.code ? ` (${err.code})` : ''}`,
        n.hint,
        options,
      );
    }
    case 'access-denied':
      return new AwsError(
        connection,
        kind,
        `access denied to ${what} (${because})`,
        'allow it to the identity of the credentials (IAM policy), or use credentials that have it',
        options,
      );
    case 'throttling':
      return new AwsError(
        connection,
        kind,
        `AWS is throttling ${what} (${because}), still after retries`,
        'run again later, run fewer wharf commands on this account at once, or ask AWS for a higher quota',
        options,
      );
    case 'service': {
      const said = err.message && err.message !== code ? `: ${bounded(err.message)}` : '';
      const serverSide = err.$fault === 'server' || (status !== undefined && status >= 500);
      return new AwsError(
        connection,
        kind,
        `${what} failed (${because}${said})`,
        serverSide
          ? 'AWS failed on its side; run again later'
          : 'check the names in the file (bucket, cluster, workgroup, database) against the account and region',
        options,
      );
    }
    default: {
      const unknown: never = kind;
      return unknown;
    }
  }
}

/** The part of an SDK client this module needs: its middleware stack. */
export interface AwsClientLike {
  middlewareStack: {
    // biome-ignore lint/suspicious/noExplicitAny: the SDK's middleware types are generic per client
    add(middleware: (next: any, context: any) => any, options: { step: any; name: string }): void;
  };
}

/**
 * How long a request may wait to connect, and to hear anything back, before it fails as a
 * network timeout (the SDK's default is to wait as long as the operating system does).
 */
export const AWS_TIMEOUTS = { connectionTimeout: 10_000, socketTimeout: 60_000 } as const;

const HOST = Symbol('wharf.awsHost');

/**
 * Makes every failed call of `client` throw an AwsError naming `connection` (errors that are
 * not AWS failures pass unchanged). Installed outside the SDK's retries, so a call is judged on
 * its final outcome, and the host it went to is recorded on the way for network errors.
 */
export function watchAwsErrors(client: AwsClientLike, connection: string, service: AwsService): void {
  client.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>, context: Record<string | symbol, unknown>) =>
      async (args: { input?: Record<string, unknown> }) => {
        try {
          return await next(args);
        } catch (e) {
          const operation =
            typeof context.commandName === 'string' ? context.commandName.replace(/Command$/, '') : undefined;
          const host = typeof context[HOST] === 'string' ? (context[HOST] as string) : undefined;
          throw toAwsError(connection, e, {
            service,
            ...(operation ? { operation } : {}),
            ...(args.input ? { input: args.input } : {}),
            ...(host ? { host } : {}),
          });
        }
      },
    { step: 'initialize', name: 'wharfAwsErrors' },
  );
  client.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>, context: Record<string | symbol, unknown>) =>
      async (args: { request?: { hostname?: string; port?: number } }) => {
        const r = args.request;
        if (r?.hostname) context[HOST] = `${r.hostname}${r.port ? `:${r.port}` : ''}`;
        return next(args);
      },
    { step: 'build', name: 'wharfAwsHost' },
  );
}

/** S3 operations whose IAM action is spelled differently from the operation. */
const S3_ACTIONS: Record<string, string> = {
  HeadBucket: 'ListBucket',
  ListObjectsV2: 'ListBucket',
  GetPublicAccessBlock: 'GetBucketPublicAccessBlock',
  PutPublicAccessBlock: 'PutBucketPublicAccessBlock',
  GetBucketEncryption: 'GetEncryptionConfiguration',
  PutBucketEncryption: 'PutEncryptionConfiguration',
  DeleteBucketTagging: 'PutBucketTagging',
  HeadObject: 'GetObject',
};

/** The IAM action of the call, e.g. `s3:GetBucketPolicy`, `redshift-data:ExecuteStatement`. */
function actionOf(call: AwsCall): string {
  if (!call.operation) return `${call.service} call`;
  const op = call.service === 's3' ? (S3_ACTIONS[call.operation] ?? call.operation) : call.operation;
  return `${call.service}:${op}`;
}

/** The resource the call's input names, e.g. `bucket share`, `cluster analytics`. */
function resourceOf(call: AwsCall): string | undefined {
  const i = call.input ?? {};
  const pick = (key: string, label: string) =>
    typeof i[key] === 'string' && i[key] ? `${label} ${bounded(i[key] as string)}` : undefined;
  return (
    pick('Bucket', 'bucket') ??
    pick('ClusterIdentifier', 'cluster') ??
    pick('WorkgroupName', 'workgroup') ??
    pick('DataShareArn', 'datashare') ??
    pick('ProducerArn', 'namespace')
  );
}

/** Where a system error says it was going, when the request was not recorded. */
function hostOf(e: { hostname?: string; address?: string; port?: number }): string | undefined {
  if (e.hostname) return e.hostname;
  if (e.address) return `${e.address}${e.port ? `:${e.port}` : ''}`;
  return undefined;
}

/** One line, of a sensible length: service messages can be long, or multi-line (OpenSSL's). */
function bounded(s: string): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
