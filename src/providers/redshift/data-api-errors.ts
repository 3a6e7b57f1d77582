// The errors the Redshift Data API transport raises. A statement error carries the SQL that
// failed so the CLI can print it under the message (its name is the one the CLI already
// knows, 'StatementError'); why it failed is a tagged reason callers can switch on.

/** Why a statement did not produce a result. */
export type StatementFailureReason =
  /** The warehouse reported FAILED; the message is its own error text. */
  | 'failed'
  /** The warehouse reported ABORTED: someone cancelled it, or the service gave up on it. */
  | 'aborted'
  /** It did not finish within the transport's total timeout and was cancelled. */
  | 'timeout';

export class DataApiStatementError extends Error {
  constructor(
    readonly reason: StatementFailureReason,
    message: string,
    /** The statement that failed; for a batch, the failing sub-statement. */
    readonly sql: string,
    /** Where it failed: statement id, sub-statement position, what happened to the rest. */
    readonly detail: string,
    readonly statementId: string,
  ) {
    super(message);
    this.name = 'StatementError';
  }
}

/** The service kept refusing a call for load reasons after every retry the transport allows. */
export class DataApiThrottledError extends Error {
  constructor(
    readonly operation: string,
    readonly attempts: number,
    /** The last refusal, as the SDK raised it. */
    override readonly cause: unknown,
  ) {
    const why = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`the Redshift Data API is still throttling ${operation} after ${attempts} attempts (${why})`);
    this.name = 'DataApiThrottledError';
  }
}
