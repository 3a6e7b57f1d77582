// The Redshift control plane through a real RedshiftClient whose HTTP layer aws-sdk-client-mock
// replaces: exact request shapes of DescribeClusters, AuthorizeDataShare, DeauthorizeDataShare
// and DescribeDataSharesForProducer, and pagination by Marker.
import {
  AuthorizeDataShareCommand,
  DeauthorizeDataShareCommand,
  DescribeClustersCommand,
  DescribeDataSharesForProducerCommand,
  RedshiftClient,
} from '@aws-sdk/client-redshift';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  consumerStatusOf,
  prerequisiteDiagnostics,
  RedshiftControlPlane,
} from '../src/providers/redshift/redshift-control-plane.js';

const NS = 'arn:aws:redshift:us-east-1:123456789012:namespace:86b5169f-01dc-4a6f-9fbb-e2e24359e9a8';
const share = (name: string) =>
  `arn:aws:redshift:us-east-1:123456789012:datashare:86b5169f-01dc-4a6f-9fbb-e2e24359e9a8/${name}`;

const client = new RedshiftClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const mock = mockClient(client);
afterEach(() => mock.reset());

describe('Redshift control plane', () => {
  it('reads consumer statuses across every page of DescribeDataSharesForProducer', async () => {
    const page1 = {
      DataShares: [
        {
          DataShareArn: share('toplyne_share'),
          DataShareAssociations: [
            { ConsumerIdentifier: '388856629077', Status: 'ACTIVE' },
            { ConsumerIdentifier: 'DataCatalog/111122223333', Status: 'AUTHORIZED' },
          ],
        },
      ],
      Marker: 'page-2',
    };
    const page2 = {
      DataShares: [
        {
          DataShareArn: share('heap_share'),
          DataShareAssociations: [{ ConsumerIdentifier: '444455556666', Status: 'PENDING_AUTHORIZATION' }],
        },
      ],
    };
    // Inputs are copied as they are sent: the SDK paginator reuses one input object across pages.
    const sent: object[] = [];
    mock.on(DescribeDataSharesForProducerCommand).callsFake((input) => {
      sent.push(JSON.parse(JSON.stringify(input)));
      return input.Marker === 'page-2' ? page2 : page1;
    });
    const cp = new RedshiftControlPlane(client);
    const statuses = await cp.consumerStatuses(NS);
    expect(sent).toEqual([
      { ProducerArn: NS, MaxRecords: 100 },
      { ProducerArn: NS, MaxRecords: 100, Marker: 'page-2' },
    ]);
    expect(cp.calls).toBe(2);
    expect(Object.fromEntries([...statuses].map(([k, v]) => [k, Object.fromEntries(v)]))).toEqual({
      toplyne_share: { '388856629077': 'active', 'DataCatalog/111122223333': 'authorized' },
      heap_share: { '444455556666': 'granted' },
    });
  });

  it('authorizes and deauthorizes with exactly the share ARN and consumer identifier', async () => {
    mock.on(AuthorizeDataShareCommand).resolves({ Status: 'AUTHORIZED' });
    mock.on(DeauthorizeDataShareCommand).resolves({ Status: 'DEAUTHORIZED' });
    const cp = new RedshiftControlPlane(client);
    await cp.authorize(share('toplyne_share'), '388856629077');
    await cp.deauthorize(share('toplyne_share'), 'DataCatalog/111122223333');
    expect(mock.commandCalls(AuthorizeDataShareCommand)[0]!.args[0].input).toEqual({
      DataShareArn: share('toplyne_share'),
      ConsumerIdentifier: '388856629077',
    });
    expect(mock.commandCalls(DeauthorizeDataShareCommand)[0]!.args[0].input).toEqual({
      DataShareArn: share('toplyne_share'),
      ConsumerIdentifier: 'DataCatalog/111122223333',
    });
  });

  it('reads the cluster facts datasharing depends on', async () => {
    mock.on(DescribeClustersCommand, { ClusterIdentifier: 'analytics' }).resolves({
      Clusters: [
        { ClusterIdentifier: 'analytics', NodeType: 'ra3.4xlarge', Encrypted: true, ClusterNamespaceArn: NS },
      ],
    });
    const facts = await new RedshiftControlPlane(client).describeCluster('analytics');
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
    expect(prerequisiteDiagnostics('w', null, 'analytics', true)[0]!.message).toMatch(
      /not found by DescribeClusters/,
    );
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
