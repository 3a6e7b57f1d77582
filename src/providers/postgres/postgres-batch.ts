// Several changes in one round trip. A batch is one simple-query message,
//   BEGIN; SET synchronous_commit = off; <change 1>; COMMIT; BEGIN; <change 2>; COMMIT; …
//   BEGIN; RESET synchronous_commit; <last change>; COMMIT
// so each change is still its own transaction. The server runs a message's commands in order
// and skips the rest of it at the first error: the failing change's transaction is left open
// and aborted (the caller rolls it back) and no later change of the message starts. Which
// changes committed is read from the command tags that came back before the error (one per
// command that completed, `COMMIT` once per committed change), never guessed.
//
// Durability: every change but the last of a message commits without waiting for its WAL to
// reach disk (that wait, once per change, is most of the time on a fast link). The last one
// commits as the session is configured, and its flush carries every earlier commit of the
// message (the WAL is one sequence), so a message that returns is as durable as its changes
// applied one by one. The setting is changed inside the first change's transaction and put
// back inside the last one's (a SET is undone with the transaction that made it, kept with
// the one that commits: one command per message, not one per change). RESET puts back what the
// server, database, role or connection options configure; wharf's session never SETs it
// otherwise. A message that stops
// early leaves it to the caller to put the setting back (RESTORE_AFTER_FAILURE) and to wait
// for the flush (awaitFlush) before the changes it committed are reported.
import pg from 'pg';

/** A change as a batch sends it: its statements as they run (secrets filled) and as planned. */
export interface BatchChange {
  run: string[];
  planned: string[];
}

export interface BatchRun {
  /** Changes of the batch that committed, counted from the first. */
  committed: number;
  /** Set when the message stopped at an error. */
  failed?: {
    /** Index in the batch of the change it stopped in (always `committed`). */
    change: number;
    error: Error;
    /** The statement that failed, as planned (or BEGIN / COMMIT), when it is known. */
    sql?: string;
    /** True when the server ran none of the message (e.g. it could not parse the text). */
    ranNothing: boolean;
    /** True for an error the server reported, false when the session itself was lost. */
    fromServer: boolean;
  };
}

/** Per message: bounded so progress shows and no message grows without limit. */
export const MAX_BATCH_CHANGES = 500;
export const MAX_BATCH_BYTES = 1 << 20;

const ASYNC = 'SET synchronous_commit = off';
const RESET = 'RESET synchronous_commit';

/**
 * Sent after a message stopped at an error: ends the failed transaction and puts back the
 * commit setting the message may have left changed (when its last change did not commit).
 */
export const RESTORE_AFTER_FAILURE = `ROLLBACK;\n${RESET}`;

/** A newline first ends any `--` comment a statement ends with, so the `;` is never swallowed. */
const SEPARATOR = '\n;\n';

interface Part {
  change: number;
  /** What errors show for this command. */
  sql: string;
  text: string;
}

function parts(changes: readonly BatchChange[]): Part[] {
  const out: Part[] = [];
  const many = changes.length > 1;
  changes.forEach((c, k) => {
    out.push({ change: k, sql: 'BEGIN', text: 'BEGIN' });
    const setting = !many ? null : k === 0 ? ASYNC : k === changes.length - 1 ? RESET : null;
    if (setting) out.push({ change: k, sql: setting, text: setting });
    c.run.forEach((text, s) => {
      out.push({ change: k, sql: c.planned[s] ?? '', text });
    });
    out.push({ change: k, sql: 'COMMIT', text: 'COMMIT' });
  });
  return out;
}

/** Sends the changes as one message and reports how far it got. Never throws. */
export async function runBatch(client: pg.Client, changes: readonly BatchChange[]): Promise<BatchRun> {
  const list = parts(changes);
  const text = list.map((p) => p.text).join(SEPARATOR);
  const { tags, error } = await send(client, text);
  if (!error) return { committed: changes.length };
  const committed = tags.filter((t) => t === 'COMMIT').length;
  let failedPart: Part | undefined;
  if (tags.length > 0) failedPart = list[tags.length];
  else failedPart = partAt(list, Number((error as pg.DatabaseError).position));
  return {
    committed,
    failed: {
      change: committed,
      error,
      ...(failedPart && failedPart.change === committed ? { sql: failedPart.sql } : {}),
      ranNothing: tags.length === 0,
      fromServer: error instanceof pg.DatabaseError,
    },
  };
}

/**
 * The part holding a 1-based character position of the message (a parse error's cursor). A
 * cursor on the separator after a part blames that part: its text ended too early.
 */
function partAt(list: readonly Part[], position: number): Part | undefined {
  if (!Number.isInteger(position) || position < 1) return undefined;
  let start = 1;
  for (const p of list) {
    // The server counts characters, not UTF-16 units.
    const next = start + [...p.text].length + SEPARATOR.length;
    if (position < next) return p;
    start = next;
  }
  return undefined;
}

function send(client: pg.Client, text: string): Promise<{ tags: string[]; error?: Error }> {
  return new Promise((resolve) => {
    const tags: string[] = [];
    let settled = false;
    client.query(
      new Message(text, tags, (error) => {
        if (settled) return;
        settled = true;
        resolve(error ? { tags, error } : { tags });
      }),
    );
  });
}

/**
 * One simple-query message through node-postgres' submittable interface, keeping the tag of
 * each command that completed. pg's own Query keeps only the results of a message that
 * succeeds; this needs to know how far a failing one got.
 */
class Message implements pg.Submittable {
  constructor(
    private readonly text: string,
    private readonly tags: string[],
    private readonly settle: (error: Error | null) => void,
  ) {}

  submit(connection: pg.Connection): void {
    connection.query(this.text);
  }

  handleCommandComplete(msg: { text: string }): void {
    this.tags.push(msg.text);
  }

  handleError(error: Error): void {
    this.settle(error);
  }

  handleReadyForQuery(): void {
    this.settle(null);
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}

  /** wharf's statements never copy; should one ask for data, it gets a refusal, not a hang. */
  handleCopyInResponse(connection: pg.Connection): void {
    (connection as unknown as { sendCopyFail(msg: string): void }).sendCopyFail('wharf sends no COPY data');
  }
}
