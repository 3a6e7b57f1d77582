// The Redshift control plane through the real RedshiftClient against the loopback
// control-plane server (support/redshift-control-server.ts), which speaks the AWS Query
// protocol: every request is serialized by the SDK and every answer parsed from XML. Checked:
// the exact form parameters of DescribeClusters, DescribeDataSharesForProducer (paged by
// Marker), AuthorizeDataShare and DeauthorizeDataShare, and the faults the service returns.
// Reference: https://docs.aws.amazon.com/redshift/latest/APIReference/API_DescribeClusters.html,
// https://docs.aws.amazon.com/redshift/latest/APIReference/API_DescribeDataSharesForProducer.html,
// https://docs.aws.amazon.com/redshift/latest/APIReference/API_AuthorizeDataShare.html,
// https://docs.aws.amazon.com/redshift/latest/APIReference/API_DeauthorizeDataShare.html
import { DescribeClustersCommand, RedshiftClient } from '@aws-sdk/client-redshift';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  consumerStatusOf,
  prerequisiteDiagnostics,
  RedshiftControlPlane,
} from '../src/providers/redshift/redshift-control-plane.js';
import { type ControlPlaneServer, startControlPlaneServer } from './support/redshift-control-server.js';

const NS_ID = '86b5169f-01dc-4a6f-9fbb-e2e24359e9a8';
const NS = `arn:aws:redshift:us-east-1:123456789012:namespace:${NS_ID}`;
const share = (name: string) => `arn:aws:redshift:us-east-1:123456789012:datashare:${NS_ID}/${name}`;

let server: ControlPlaneServer;
let client: RedshiftClient;
let shares: Map<string, Set<string>>;

beforeEach(async () => {
  shares = new Map([
    ['toplyne_share', new Set(['388856629077', 'DataCatalog/111122223333'])],
    ['heap_share', new Set(['444455556666'])],
    ['statsig_share', new Set<string>()],
  ]);
  server = await startControlPlaneServer({
    account: '123456789012',
    namespace: NS_ID,
    clusters: [{ identifier: 'analytics', nodeType: 'ra3.4xlarge', encrypted: true, namespaceArn: NS }],
    shares: () => shares,
    pageSize: 1,
  });
  client = new RedshiftClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts: 1,
  });
});
afterEach(async () => {
  client.destroy();
  await server.close();
});

describe('Redshift control plane over the Query protocol', () => {
  it('reads consumer statuses across every page of DescribeDataSharesForProducer, following Marker', async () => {
    server.associated.set('toplyne_share', new Set(['388856629077']));
    server.authorized.set('toplyne_share', new Set(['388856629077', 'DataCatalog/111122223333']));
    const cp = new RedshiftControlPlane(client);
    const statuses = await cp.consumerStatuses(NS);
    const sent = server.calls('DescribeDataSharesForProducer');
    // One share per page: three pages, each after the first asking from the Marker it was given.
    expect(sent).toHaveLength(3);
    expect(sent[0]).toEqual({ ProducerArn: NS, MaxRecords: '100' });
    expect(sent[1]).toEqual({ ProducerArn: NS, MaxRecords: '100', Marker: expect.any(String) });
    expect(sent[2]!.Marker).not.toBe(sent[1]!.Marker);
    expect(cp.calls).toBe(3);
    expect(Object.fromEntries([...statuses].map(([k, v]) => [k, Object.fromEntries(v)]))).toEqual({
      heap_share: { '444455556666': 'granted' },
      statsig_share: {},
      toplyne_share: { '388856629077': 'active', 'DataCatalog/111122223333': 'authorized' },
    });
  });

  it('authorizes and deauthorizes with exactly the share ARN and consumer identifier', async () => {
    const cp = new RedshiftControlPlane(client);
    await cp.authorize(share('toplyne_share'), '388856629077');
    expect(server.authorized.get('toplyne_share')).toEqual(new Set(['388856629077']));
    await cp.authorize(share('toplyne_share'), 'DataCatalog/111122223333');
    await cp.deauthorize(share('toplyne_share'), 'DataCatalog/111122223333');
    expect(server.calls('AuthorizeDataShare')).toEqual([
      { DataShareArn: share('toplyne_share'), ConsumerIdentifier: '388856629077' },
      { DataShareArn: share('toplyne_share'), ConsumerIdentifier: 'DataCatalog/111122223333' },
    ]);
    expect(server.calls('DeauthorizeDataShare')).toEqual([
      { DataShareArn: share('toplyne_share'), ConsumerIdentifier: 'DataCatalog/111122223333' },
    ]);
    expect(server.authorized.get('toplyne_share')).toEqual(new Set(['388856629077']));
  });

  it('AuthorizeDataShare for a consumer never granted usage fails with InvalidDataShareFault', async () => {
    const cp = new RedshiftControlPlane(client);
    const err = await cp.authorize(share('toplyne_share'), '999999999999').then(
      () => null,
      (e: Error & { $metadata?: { httpStatusCode?: number } }) => e,
    );
    expect(err?.name).toBe('InvalidDataShareFault');
    expect(err?.$metadata?.httpStatusCode).toBe(400);
    expect(err?.message).toMatch(/no datashare association for consumer 999999999999/);
    const unknown = await cp.authorize(share('no_such_share'), '388856629077').catch((e: Error) => e);
    expect((unknown as Error).name).toBe('InvalidDataShareFault');
  });

  it('reads the cluster facts datasharing depends on', async () => {
    const facts = await new RedshiftControlPlane(client).describeCluster('analytics');
    expect(server.calls('DescribeClusters')).toEqual([{ ClusterIdentifier: 'analytics' }]);
    expect(facts).toEqual({ nodeType: 'ra3.4xlarge', encrypted: true, namespaceArn: NS });
    expect(prerequisiteDiagnostics('w', facts, 'analytics', true)).toEqual([]);
    expect(
      prerequisiteDiagnostics(
        'w',
        { nodeType: 'ra3.xlplus', encrypted: false, namespaceArn: NS },
        'analytics',
        false,
      ),
    ).toEqual([]);
  });

  it('an unknown cluster is ClusterNotFound (HTTP 404), which plan reports as a prerequisite error', async () => {
    // The service answers a fault, not an empty Clusters list (API_DescribeClusters, Errors).
    const raw = await client
      .send(new DescribeClustersCommand({ ClusterIdentifier: 'analytic' }))
      .catch((e: Error & { $metadata?: { httpStatusCode?: number } }) => e);
    expect(raw).toMatchObject({ name: 'ClusterNotFoundFault', $metadata: { httpStatusCode: 404 } });
    const cp = new RedshiftControlPlane(client);
    const facts = await cp.describeCluster('analytic');
    expect(facts).toBeNull();
    expect(cp.calls).toBe(1);
    expect(prerequisiteDiagnostics('w', facts, 'analytic', true).map((d) => d.message)).toEqual([
      'connection w: cluster analytic was not found by DescribeClusters, so datashare prerequisites cannot be checked',
    ]);
  });

  it('other faults of DescribeClusters are not mistaken for a missing cluster', async () => {
    server.failNext('DescribeClusters', {
      status: 400,
      code: 'UnauthorizedOperation',
      message: 'not allowed',
    });
    await expect(new RedshiftControlPlane(client).describeCluster('analytics')).rejects.toMatchObject({
      name: 'UnauthorizedOperation',
    });
  });

  it('maps every control-plane status to the lifecycle', () => {
    expect(
      [
        'PENDING_AUTHORIZATION',
        'AUTHORIZED',
        'AVAILABLE',
        'ACTIVE',
        'REJECTED',
        'DEAUTHORIZED',
        undefined,
      ].map(consumerStatusOf),
    ).toEqual(['granted', 'authorized', 'authorized', 'active', 'rejected', 'deauthorized', 'granted']);
  });
});
