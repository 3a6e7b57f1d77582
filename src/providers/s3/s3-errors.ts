// What both bucket providers share without loading the AWS SDK: the error of a failed API call
// and the (empty) privilege capabilities of a bucket connection. The local-bucket provider
// imports these, so a plan with only local buckets never pays for the SDK.

/** Buckets have no SQL privileges; the warehouse differ's `ALL` expansion has nothing to do. */
export const NO_PRIVILEGES = { allPrivileges: { schema: [], table: [] } } as const;

/** An API call that failed; `sql` is the call's description, as the apply report shows it. */
export class ApiCallError extends Error {
  constructor(
    message: string,
    readonly sql: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'ApiCallError';
  }
}
