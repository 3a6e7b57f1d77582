// The Redshift control plane (the `redshift` API, not SQL): the cluster facts datasharing
// depends on (node type, encryption, namespace ARN), the status of each datashare consumer
// (DescribeDataSharesForProducer, paginated), and AuthorizeDataShare / DeauthorizeDataShare.
// The RedshiftClient is built by the caller (connect.ts). Serverless workgroups are read
// through the redshift-serverless API, whose client wharf does not ship: for them the
// prerequisites are not checked (serverless is always RA3-class and encrypted) and the
// namespace ARN is built from the SQL-side facts.
import {
  AuthorizeDataShareCommand,
  type Cluster,
  DeauthorizeDataShareCommand,
  DescribeClustersCommand,
  paginateDescribeDataSharesForProducer,
  type RedshiftClient,
} from '@aws-sdk/client-redshift';
import type { Diagnostic } from '../../plan/plan.js';
import type { ConsumerStatus } from './datashare-model.js';
import type { ConsumerStatuses } from './redshift-introspector.js';

export interface ClusterFacts {
  nodeType: string;
  encrypted: boolean;
  namespaceArn: string | null;
}

/** Control-plane status -> where the consumer is in wharf's lifecycle. */
export function consumerStatusOf(status: string | undefined): ConsumerStatus {
  switch (status) {
    case 'ACTIVE':
      return 'active';
    case 'AUTHORIZED':
    case 'AVAILABLE':
      return 'authorized';
    case 'REJECTED':
      return 'rejected';
    case 'DEAUTHORIZED':
      return 'deauthorized';
    default:
      return 'granted'; // PENDING_AUTHORIZATION, or not yet known to the control plane
  }
}

/** DescribeClusters' answer for an identifier that names no cluster, as the SDK or watchAwsErrors reports it. */
function isClusterNotFound(e: unknown): boolean {
  const err = e as { name?: string; code?: string; Code?: string; cause?: unknown };
  if (
    err?.name === 'ClusterNotFoundFault' ||
    err?.Code === 'ClusterNotFound' ||
    err?.code === 'ClusterNotFound'
  )
    return true;
  return err?.cause !== undefined && err.cause !== e && isClusterNotFound(err.cause);
}

export class RedshiftControlPlane {
  /** Control-plane calls made so far (pages included). */
  calls = 0;

  constructor(private readonly client: RedshiftClient) {}

  /** The cluster's facts; null when DescribeClusters answers that no such cluster exists. */
  async describeCluster(clusterIdentifier: string): Promise<ClusterFacts | null> {
    this.calls++;
    let out: { Clusters?: Cluster[] };
    try {
      out = await this.client.send(new DescribeClustersCommand({ ClusterIdentifier: clusterIdentifier }));
    } catch (e) {
      // An unknown identifier is a fault (ClusterNotFound, HTTP 404), not an empty list.
      if (isClusterNotFound(e)) return null;
      throw e;
    }
    const c = out.Clusters?.[0];
    if (!c) return null;
    return {
      nodeType: c.NodeType ?? '',
      encrypted: c.Encrypted === true,
      namespaceArn: c.ClusterNamespaceArn ?? null,
    };
  }

  /** Every outbound share of the producer namespace with its consumers' statuses, all pages. */
  async consumerStatuses(producerNamespaceArn: string): Promise<ConsumerStatuses> {
    const out: ConsumerStatuses = new Map();
    const pages = paginateDescribeDataSharesForProducer(
      { client: this.client, pageSize: 100 },
      { ProducerArn: producerNamespaceArn },
    );
    for await (const page of pages) {
      this.calls++;
      for (const d of page.DataShares ?? []) {
        const name = d.DataShareArn?.slice(d.DataShareArn.lastIndexOf('/') + 1);
        if (!name) continue;
        const m = out.get(name) ?? new Map<string, ConsumerStatus>();
        for (const a of d.DataShareAssociations ?? [])
          if (a.ConsumerIdentifier) m.set(a.ConsumerIdentifier, consumerStatusOf(a.Status));
        out.set(name, m);
      }
    }
    return out;
  }

  async authorize(dataShareArn: string, consumerIdentifier: string): Promise<void> {
    this.calls++;
    await this.client.send(
      new AuthorizeDataShareCommand({ DataShareArn: dataShareArn, ConsumerIdentifier: consumerIdentifier }),
    );
  }

  async deauthorize(dataShareArn: string, consumerIdentifier: string): Promise<void> {
    this.calls++;
    await this.client.send(
      new DeauthorizeDataShareCommand({ DataShareArn: dataShareArn, ConsumerIdentifier: consumerIdentifier }),
    );
  }
}

/**
 * What datasharing needs of the producer cluster, checked during plan: RA3 nodes (or
 * serverless), and encryption when a consumer is in another account.
 */
export function prerequisiteDiagnostics(
  connection: string,
  cluster: ClusterFacts | null,
  clusterIdentifier: string,
  crossAccount: boolean,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (!cluster) {
    out.push({
      severity: 'error',
      code: 'datashare-prerequisite',
      message: `connection ${connection}: cluster ${clusterIdentifier} was not found by DescribeClusters, so datashare prerequisites cannot be checked`,
    });
    return out;
  }
  if (!cluster.nodeType.toLowerCase().startsWith('ra3.'))
    out.push({
      severity: 'error',
      code: 'datashare-prerequisite',
      message: `connection ${connection}: datashares need an RA3 cluster or serverless; cluster ${clusterIdentifier} runs ${cluster.nodeType || 'an unknown node type'}`,
    });
  if (crossAccount && !cluster.encrypted)
    out.push({
      severity: 'error',
      code: 'datashare-prerequisite',
      message: `connection ${connection}: sharing with another account needs an encrypted cluster; cluster ${clusterIdentifier} is not encrypted`,
    });
  return out;
}
