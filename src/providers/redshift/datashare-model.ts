// The Redshift-only parts of the resource model: a datashare (objects, consumers and their
// authorization lifecycle) and the physical layout of a Redshift table (distribution, sort
// key, column encodings). The types are part of the core resource model (src/plan/model.ts);
// the consumer lifecycle rules are Redshift's.

import type { ConsumerStatus, DatashareConsumer } from '../../plan/model.js';

export type {
  ConsumerStatus,
  DatashareConsumer,
  DatashareResource,
  Distribution,
  DistStyle,
  SortKey,
} from '../../plan/model.js';

export function consumerKey(c: Pick<DatashareConsumer, 'type' | 'id'>): string {
  return `${c.type}:${c.id}`;
}

/** True when `live` is at least as far along as `want` asks. */
export function consumerSatisfied(want: ConsumerStatus, live: ConsumerStatus): boolean {
  if (want === 'granted') return true;
  if (want === 'authorized') return live === 'authorized' || live === 'active';
  return live === want;
}
