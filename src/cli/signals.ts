// SIGHUP (the terminal closed), SIGINT (Ctrl-C) and SIGTERM (kill, a cancelled CI job) stop
// wharf cleanly: the command's connections are closed and the embedded warehouse's lease let
// go (the server stops when no other wharf process uses it), then wharf exits 128 + the
// signal's number. While apply is running changes, the first signal only asks it to stop
// after the current change (which commits or rolls back as a whole); apply then reports each
// change as done or not run. A second signal stops at once: the open transaction, if any, is
// rolled back by the server when its connection closes.

export const SIGNAL_EXIT_CODES = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;
export type StopSignal = keyof typeof SIGNAL_EXIT_CODES;
const SIGNALS = Object.keys(SIGNAL_EXIT_CODES) as StopSignal[];

/** A cleanup gets this long before wharf exits anyway. */
const CLEANUP_TIMEOUT_MS = 20_000;

export interface SignalGuard {
  /** Aborted at the first signal: long work (apply's change loop) checks it and winds down. */
  readonly signal: AbortSignal;
  /** The signal received, if any. */
  received(): StopSignal | undefined;
  /**
   * Marks work that must not be cut short (apply running changes): the first signal then only
   * aborts `signal`, and the command reports and returns by itself.
   */
  setCritical(on: boolean): void;
  /** What the stop message adds, e.g. "nothing was changed". */
  setNote(note: string | undefined): void;
  dispose(): void;
}

export interface SignalGuardOptions {
  /** Closes connections and lets go of the embedded warehouse. */
  cleanup(): Promise<void>;
  stderr: NodeJS.WritableStream;
  exit(code: number): void;
}

export function guardSignals(opts: SignalGuardOptions): SignalGuard {
  const controller = new AbortController();
  let got: StopSignal | undefined;
  let critical = false;
  let note: string | undefined;
  let stopping = false;

  const stopNow = async (sig: StopSignal) => {
    if (stopping) return;
    stopping = true;
    opts.stderr.write(`\nwharf: stopped by ${sig}${note ? `; ${note}` : ''}.\n`);
    const timer = setTimeout(() => opts.exit(SIGNAL_EXIT_CODES[sig]), CLEANUP_TIMEOUT_MS);
    try {
      await opts.cleanup();
    } catch {
      // exiting anyway; the next wharf process takes over a stale lease
    } finally {
      clearTimeout(timer);
      opts.exit(SIGNAL_EXIT_CODES[sig]);
    }
  };

  const handlers = SIGNALS.map((sig) => {
    const handler = () => {
      if (got === undefined) {
        got = sig;
        controller.abort(sig);
        if (critical) {
          opts.stderr.write(
            `\nwharf: ${sig} received; finishing the change in progress, then stopping (send it again to stop at once).\n`,
          );
          return;
        }
      }
      void stopNow(got);
    };
    process.on(sig, handler);
    return [sig, handler] as const;
  });

  return {
    signal: controller.signal,
    received: () => got,
    setCritical(on) {
      critical = on;
    },
    setNote(n) {
      note = n;
    },
    dispose() {
      for (const [sig, handler] of handlers) process.off(sig, handler);
    },
  };
}
