// A loopback stand-in for the Redshift control plane (the `redshift` API, not SQL): a node:http
// server on 127.0.0.1 speaking the AWS Query protocol the way the service does, so tests drive
// the real RedshiftClient, which serializes every request and parses every answer.
//
// Requests are form-encoded POSTs (`Action=…&Version=2012-12-01&…`); answers are XML in the
// shapes of the API reference's examples (`<ActionResponse><ActionResult>…`, lists of
// `<member>` except DescribeClusters' `<Cluster>`), and errors are
// `<ErrorResponse><Error><Type>Sender</Type><Code>…</Code><Message>…</Message></Error>` with the
// HTTP status the service model gives each fault:
//   https://docs.aws.amazon.com/redshift/latest/APIReference/API_DescribeClusters.html
//     (ClusterNotFound, HTTP 404: the identifier does not refer to an existing cluster)
//   https://docs.aws.amazon.com/redshift/latest/APIReference/API_DescribeDataSharesForProducer.html
//     (MaxRecords and Marker: a Marker in the answer means more records)
//   https://docs.aws.amazon.com/redshift/latest/APIReference/API_AuthorizeDataShare.html
//   https://docs.aws.amazon.com/redshift/latest/APIReference/API_DeauthorizeDataShare.html
//     (InvalidDataShareFault, HTTP 400)
//   https://docs.aws.amazon.com/redshift/latest/APIReference/CommonErrors.html
// What it knows: the clusters it is given, and for the producer namespace the datashares and
// the consumers granted usage on each (read from `shares()` at every call: the Redshift
// emulator records GRANT USAGE ON DATASHARE). Authorizations are its own state.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const REDSHIFT_XMLNS = 'http://redshift.amazonaws.com/doc/2012-12-01/';

export interface ControlCluster {
  identifier: string;
  nodeType: string;
  encrypted: boolean;
  namespaceArn: string;
}

/** A fault the next matching call answers with instead of doing its work. */
export interface ControlFault {
  status: number;
  code: string;
  message: string;
}

/** One request as it arrived: the form parameters, Action and Version included. */
export type ControlRequest = Record<string, string>;

export interface ControlPlaneServer {
  endpoint: string;
  /** Every request received, in order. */
  requests: ControlRequest[];
  /** The requests of one Action, without Action and Version. */
  calls(action: string): ControlRequest[];
  /** Consumer identifiers authorized, by share name. */
  authorized: Map<string, Set<string>>;
  /** Consumers that associated the share in their account (status ACTIVE), by share name. */
  associated: Map<string, Set<string>>;
  /** The next call of `action` fails with `fault` (once). */
  failNext(action: string, fault: ControlFault): void;
  close(): Promise<void>;
}

export interface ControlPlaneOptions {
  region?: string;
  account: string;
  namespace: string;
  clusters: ControlCluster[];
  /** Share name -> consumer identifiers granted usage through SQL. */
  shares(): Map<string, Set<string>>;
  /** Records per page of DescribeDataSharesForProducer when it exceeds the caller's MaxRecords. */
  pageSize?: number;
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** `{ A: 'x', B: ['<member>…'] }` -> `<A>x</A><B>…</B>`; undefined members are left out. */
function xml(fields: Record<string, string | boolean | string[] | undefined>): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<${k}>${Array.isArray(v) ? v.join('') : esc(String(v))}</${k}>`)
    .join('');
}

export async function startControlPlaneServer(options: ControlPlaneOptions): Promise<ControlPlaneServer> {
  const region = options.region ?? 'us-east-1';
  const producerArn = `arn:aws:redshift:${region}:${options.account}:namespace:${options.namespace}`;
  const shareArn = (name: string) =>
    `arn:aws:redshift:${region}:${options.account}:datashare:${options.namespace}/${name}`;
  const requests: ControlRequest[] = [];
  const authorized = new Map<string, Set<string>>();
  const associated = new Map<string, Set<string>>();
  const faults = new Map<string, ControlFault>();
  let requestNo = 0;

  const statusOf = (share: string, consumer: string) =>
    associated.get(share)?.has(consumer)
      ? 'ACTIVE'
      : authorized.get(share)?.has(consumer)
        ? 'AUTHORIZED'
        : 'PENDING_AUTHORIZATION';

  /** A DataShare element's children, as the reference's examples order them. */
  const dataShare = (name: string, consumers: Iterable<string>) =>
    xml({
      DataShareArn: shareArn(name),
      ProducerArn: producerArn,
      AllowPubliclyAccessibleConsumers: false,
      DataShareAssociations: [...consumers].sort().map(
        (c) =>
          `<member>${xml({
            ConsumerIdentifier: c,
            Status: statusOf(name, c),
            CreatedDate: '2024-06-22T10:15:00.000Z',
            StatusChangeDate: '2024-06-22T10:15:00.000Z',
          })}</member>`,
      ),
    });

  class Fault extends Error {
    constructor(readonly fault: ControlFault) {
      super(fault.message);
    }
  }
  const fault = (status: number, code: string, message: string) => new Fault({ status, code, message });
  const required = (p: ControlRequest, name: string) => {
    const v = p[name];
    if (v === undefined || v === '')
      throw fault(400, 'MissingParameter', `The request must contain the parameter ${name}.`);
    return v;
  };
  const shareNamed = (arn: string) => {
    const prefix = shareArn('');
    const name = arn.startsWith(prefix) ? arn.slice(prefix.length) : undefined;
    if (!name || !options.shares().has(name))
      throw fault(400, 'InvalidDataShareFault', `The datashare ${arn} does not exist.`);
    return name;
  };

  const actions: Record<string, (p: ControlRequest) => string> = {
    DescribeClusters(p) {
      const id = p.ClusterIdentifier;
      const found = options.clusters.filter((c) => id === undefined || c.identifier === id.toLowerCase());
      if (id !== undefined && found.length === 0)
        throw fault(404, 'ClusterNotFound', `Cluster ${id} not found.`);
      return xml({
        Clusters: found.map(
          (c) =>
            `<Cluster>${xml({
              ClusterIdentifier: c.identifier,
              NodeType: c.nodeType,
              ClusterStatus: 'available',
              Encrypted: c.encrypted,
              ClusterNamespaceArn: c.namespaceArn,
            })}</Cluster>`,
        ),
      });
    },
    DescribeDataSharesForProducer(p) {
      const max = p.MaxRecords === undefined ? 100 : Number(p.MaxRecords);
      if (!Number.isInteger(max) || max < 1)
        throw fault(400, 'InvalidParameterValue', `Invalid MaxRecords value: ${p.MaxRecords}`);
      const shares =
        p.ProducerArn === undefined || p.ProducerArn === producerArn ? options.shares() : new Map();
      const all = [...shares.keys()].sort();
      const start = p.Marker === undefined ? 0 : all.indexOf(Buffer.from(p.Marker, 'base64').toString());
      if (start < 0) throw fault(400, 'InvalidParameterValue', 'Invalid marker');
      const size = Math.min(max, options.pageSize ?? max);
      const page = all.slice(start, start + size);
      const next = all[start + size];
      return xml({
        DataShares: page.map((name) => `<member>${dataShare(name, shares.get(name)!)}</member>`),
        Marker: next === undefined ? undefined : Buffer.from(next).toString('base64'),
      });
    },
    AuthorizeDataShare(p) {
      const name = shareNamed(required(p, 'DataShareArn'));
      const consumer = required(p, 'ConsumerIdentifier');
      if (!options.shares().get(name)!.has(consumer))
        throw fault(
          400,
          'InvalidDataShareFault',
          `There is no datashare association for consumer ${consumer}: grant usage on the datashare first.`,
        );
      authorized.set(name, (authorized.get(name) ?? new Set()).add(consumer));
      return dataShare(name, [consumer]);
    },
    DeauthorizeDataShare(p) {
      const name = shareNamed(required(p, 'DataShareArn'));
      const consumer = required(p, 'ConsumerIdentifier');
      if (!authorized.get(name)?.has(consumer))
        throw fault(400, 'InvalidDataShareFault', `Consumer ${consumer} is not authorized for ${name}.`);
      authorized.get(name)!.delete(consumer);
      associated.get(name)?.delete(consumer);
      return xml({
        DataShareArn: shareArn(name),
        ProducerArn: producerArn,
        AllowPubliclyAccessibleConsumers: false,
        DataShareAssociations: [
          `<member>${xml({ ConsumerIdentifier: consumer, Status: 'DEAUTHORIZED' })}</member>`,
        ],
      });
    },
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = `rs-${++requestNo}`;
      const send = (status: number, body: string) => {
        res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': id });
        res.end(body);
      };
      const error = (f: ControlFault) =>
        send(
          f.status,
          `<ErrorResponse xmlns="${REDSHIFT_XMLNS}"><Error><Type>Sender</Type>${xml({ Code: f.code, Message: f.message })}</Error><RequestId>${id}</RequestId></ErrorResponse>`,
        );
      if (
        req.method !== 'POST' ||
        !String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')
      )
        return error({
          status: 400,
          code: 'InvalidAction',
          message: 'The action or operation requested is invalid.',
        });
      const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
      requests.push(params);
      const action = params.Action ?? '';
      const run = actions[action];
      if (!run || params.Version !== '2012-12-01')
        return error({
          status: 400,
          code: 'InvalidAction',
          message: `Could not find operation ${action} for version ${params.Version}`,
        });
      const planned = faults.get(action);
      if (planned) {
        faults.delete(action);
        return error(planned);
      }
      try {
        send(
          200,
          `<${action}Response xmlns="${REDSHIFT_XMLNS}"><${action}Result>${run(params)}</${action}Result><ResponseMetadata><RequestId>${id}</RequestId></ResponseMetadata></${action}Response>`,
        );
      } catch (e) {
        if (e instanceof Fault) error(e.fault);
        else error({ status: 500, code: 'InternalFailure', message: String(e) });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    calls: (action) =>
      requests.filter((r) => r.Action === action).map(({ Action: _a, Version: _v, ...rest }) => rest),
    authorized,
    associated,
    failNext: (action, f) => {
      faults.set(action, f);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}
