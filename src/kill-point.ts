// Deterministic crash points for wharf's own crash tests; not a user feature (the README's
// testing section describes it). `WHARF_TEST_KILL_AT=<point>[:<n>]` makes the process kill
// itself with SIGKILL the n-th time (the first by default) it reaches <point>: no finally
// block, exit handler or lock release runs, exactly as when it is killed from outside.
//
//   after-submit                   a Data API batch was submitted and still runs on the warehouse
//   after-batch                    a batch committed (with its sync state) and wharf took note of it
//   after-commit-before-state      a batch committed, before wharf updated what it keeps in memory
//                                  (watermark, counts) or reported it
//   between-sql-and-control-plane  apply: the SQL before a control-plane call committed, the call
//                                  (AuthorizeDataShare, ...) not made
//   export-after-file              a bucket export finished uploading a file (not yet committed);
//                                  Redshift: copied a committed run's file to its name
//   export-before-commit           every file of an export run is uploaded, the state not committed
//   export-after-commit            the export run committed; its signal and clean-up not done
//                                  (Redshift: nor the copies of its files to their names)
//   export-after-signal            the signal file is written, not yet recorded
//   export-after-unload            Redshift: the UNLOAD batch committed (staging files and the
//                                  run's identities written), nothing copied to its name yet
export type KillPoint =
  | 'after-submit'
  | 'after-batch'
  | 'after-commit-before-state'
  | 'between-sql-and-control-plane'
  | 'export-after-file'
  | 'export-before-commit'
  | 'export-after-commit'
  | 'export-after-signal'
  | 'export-after-unload';

const reached = new Map<KillPoint, number>();

export function killPoint(point: KillPoint): void {
  const at = process.env.WHARF_TEST_KILL_AT;
  if (!at) return;
  const [name, nth = '1'] = at.split(':');
  if (name !== point) return;
  const n = (reached.get(point) ?? 0) + 1;
  reached.set(point, n);
  if (n !== Number(nth)) return;
  process.kill(process.pid, 'SIGKILL');
  // The signal is on its way; nothing more of this process may run meanwhile.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10_000);
}
