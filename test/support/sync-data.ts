// Source and destination tables shared by the sync tests and the crash trials, a seeded
// generator of source changes (inserts, in-place updates, equal timestamps, late CDC events),
// and references computed independently of wharf from the source tables.
import type pg from 'pg';
import { expect } from 'vitest';

export const SOURCE_DDL = `
CREATE SCHEMA raw;
CREATE TABLE raw.events (event_id bigint NOT NULL, user_id bigint NOT NULL, event_name text NOT NULL,
  updated_at timestamp NOT NULL);
CREATE INDEX ON raw.events (updated_at);
CREATE TABLE raw.users (user_id bigint PRIMARY KEY, email text, plan text, updated_at timestamp NOT NULL);
CREATE INDEX ON raw.users (updated_at);
CREATE TABLE raw.cart_changes (etleap_sequence_no bigint NOT NULL, op char(1) NOT NULL, id bigint NOT NULL,
  user_id bigint, current_price numeric(6,2), no_items int, checked_out boolean, update_date varchar(64));
CREATE INDEX ON raw.cart_changes (etleap_sequence_no);
`;

export const DEST_DDL = `
CREATE SCHEMA IF NOT EXISTS analytics;
CREATE TABLE analytics.events (event_id bigint NOT NULL, user_id bigint NOT NULL, event_name text NOT NULL,
  updated_at timestamp NOT NULL);
CREATE INDEX ON analytics.events (updated_at);
CREATE TABLE analytics.users (user_id bigint PRIMARY KEY, email text, plan text, updated_at timestamp NOT NULL);
CREATE TABLE analytics.users_full (user_id bigint PRIMARY KEY, email text, plan text, updated_at timestamp NOT NULL);
CREATE TABLE analytics.cart (id bigint PRIMARY KEY, user_id bigint, current_price numeric(6,2), no_items int,
  checked_out boolean, update_date varchar(64));
`;

/** The four syncs over those tables ($FROM is replaced by the source connection when cross). */
export const ALL_SYNCS = `- name: events
  from: { $FROMtable: raw.events }
  to: { table: analytics.events }
  mode: append
  cursor: { column: updated_at, lookback: 1s }
- name: users
  from: { $FROMtable: raw.users }
  to: { table: analytics.users }
  mode: merge
  primaryKey: [user_id]
  cursor: { column: updated_at, lookback: 1s }
- name: cart
  from: { $FROMtable: raw.cart_changes }
  to: { table: analytics.cart }
  mode: cdc
  primaryKey: [id]
  cdc: { op: op, sequence: etleap_sequence_no }
  cursor: { column: etleap_sequence_no, lookback: 50 }
- name: users_full
  from: { $FROMtable: raw.users }
  to: { table: analytics.users_full }
  mode: full`;

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One round of source changes. Timestamps are whole seconds from a clock that moves 0 or 1
 * second per round, so many rows share a cursor value and new rows often carry exactly the
 * value of the stored watermark. CDC events get increasing sequence numbers but some are held
 * back and arrive a round later (out of order), some are duplicated.
 */
export class SourceWriter {
  private clock = Date.UTC(2026, 0, 1) / 1000;
  private nextEvent = 1;
  private nextSeq = 1;
  private held: unknown[][] = [];
  constructor(
    private readonly client: pg.Client,
    private readonly rand: () => number,
  ) {}

  private ts(offset = 0): string {
    return new Date((this.clock + offset) * 1000).toISOString().replace('T', ' ').replace('Z', '');
  }

  async round(size: number): Promise<void> {
    if (this.rand() < 0.6) this.clock += 1;
    const r = this.rand;
    const events: unknown[] = [];
    for (let i = 0; i < size; i++) {
      const id = this.nextEvent++;
      // mostly now, sometimes exactly one second earlier (a late row within the lookback)
      events.push(id, Math.floor(r() * 50), ['login', 'click', 'pay'][i % 3], this.ts(r() < 0.15 ? -1 : 0));
    }
    await insertRows(this.client, 'raw.events', 4, events);
    if (r() < 0.3 && size > 0) {
      // an exact duplicate event row (append must keep both)
      await this.client.query(
        'INSERT INTO raw.events SELECT * FROM raw.events ORDER BY event_id DESC LIMIT 1',
      );
    }
    const users: unknown[] = [];
    for (let i = 0; i < Math.ceil(size / 2); i++) {
      users.push(
        Math.floor(r() * 40),
        `u${Math.floor(r() * 1000)}@x.io`,
        r() < 0.5 ? 'free' : 'pro',
        this.ts(),
      );
    }
    if (users.length)
      await this.client.query(
        `INSERT INTO raw.users (user_id, email, plan, updated_at)
         SELECT DISTINCT ON (u.user_id::bigint) u.user_id::bigint, u.email, u.plan, u.updated_at::timestamp FROM (VALUES ${valuesList(users.length / 4, 4)}) AS u(user_id, email, plan, updated_at)
         ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email, plan = EXCLUDED.plan, updated_at = EXCLUDED.updated_at`,
        users,
      );
    const changes: unknown[][] = [];
    for (let i = 0; i < size; i++) {
      const id = Math.floor(r() * 30);
      const op = r() < 0.2 ? 'D' : r() < 0.5 ? 'I' : 'U';
      changes.push([
        this.nextSeq++,
        op,
        id,
        Math.floor(r() * 50),
        (r() * 100).toFixed(2),
        Math.floor(r() * 9),
        r() < 0.5,
        this.ts(),
      ]);
    }
    const arriving = [...this.held];
    this.held = [];
    for (const c of changes) {
      if (r() < 0.2) this.held.push(c);
      else arriving.push(c);
      if (r() < 0.1) arriving.push(c); // a duplicated event
    }
    if (arriving.length) await insertRows(this.client, 'raw.cart_changes', 8, arriving.flat());
  }

  /** Releases the CDC events held back. */
  async flush(): Promise<void> {
    if (this.held.length) await insertRows(this.client, 'raw.cart_changes', 8, this.held.flat());
    this.held = [];
  }
}

function valuesList(rows: number, width: number): string {
  const out: string[] = [];
  for (let i = 0; i < rows; i++)
    out.push(`(${Array.from({ length: width }, (_, j) => `$${i * width + j + 1}`).join(', ')})`);
  return out.join(', ');
}

export async function insertRows(
  client: pg.Client,
  table: string,
  width: number,
  flat: unknown[],
): Promise<void> {
  if (flat.length === 0) return;
  await client.query(`INSERT INTO ${table} VALUES ${valuesList(flat.length / width, width)}`, flat);
}

/** References, computed from the source alone. Rows as text, sorted: multisets. */
export const REFERENCE = {
  events: 'SELECT e::text AS r FROM raw.events e',
  users: 'SELECT u::text AS r FROM raw.users u',
  users_full: 'SELECT u::text AS r FROM raw.users u',
  // the latest change per key by sequence; a delete removes the key
  cart: `SELECT ROW(c.id, c.user_id, c.current_price, c.no_items, c.checked_out, c.update_date)::text AS r
           FROM (SELECT DISTINCT ON (id) * FROM raw.cart_changes ORDER BY id, etleap_sequence_no DESC) c
          WHERE c.op <> 'D'`,
} as const;

export const DESTINATION = {
  events: 'SELECT e::text AS r FROM analytics.events e',
  users: 'SELECT u::text AS r FROM analytics.users u',
  users_full: 'SELECT u::text AS r FROM analytics.users_full u',
  cart: 'SELECT c::text AS r FROM analytics.cart c',
} as const;

export async function rowsOf(client: pg.Client, sql: string): Promise<string[]> {
  const { rows } = await client.query<{ r: string }>(sql);
  return rows.map((x) => x.r).sort();
}

/** Each named destination equals its reference, row for row (`src` holds the source tables). */
export async function expectReference(
  src: pg.Client,
  dst: pg.Client,
  names: readonly (keyof typeof REFERENCE)[],
  destination: (n: keyof typeof REFERENCE) => string = (n) => DESTINATION[n],
): Promise<void> {
  for (const n of names)
    expect({ n, rows: await rowsOf(dst, destination(n)) }).toEqual({
      n,
      rows: await rowsOf(src, REFERENCE[n]),
    });
}

/** Inserts cart change rows (sequence, op, id, update_date); the other columns are fixed. */
export async function addCartChanges(
  client: pg.Client,
  ...rows: [number, string, number, string][]
): Promise<void> {
  for (const [seq, op, id, v] of rows)
    await client.query(
      `INSERT INTO raw.cart_changes (etleap_sequence_no, op, id, user_id, current_price, no_items, checked_out, update_date)
       VALUES ($1, $2, $3, 1, 1.50, 1, false, $4)`,
      [seq, op, id, v],
    );
}
