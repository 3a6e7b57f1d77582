#!/usr/bin/env node
// wharf's executable: runs the compiled CLI. `npm ci` builds dist/ through the prepare script.
import { existsSync } from 'node:fs';
import v8 from 'node:v8';

// The SQL parser wharf checks the file's types, defaults and queries with is WebAssembly
// (libpg-query). V8 compiles it twice, quickly (Liftoff) and then optimised in the background,
// and a finished command waits for that second compilation before it can exit: 0.3-0.7 s for
// every `wharf validate`. The quick code is fast enough for the fragments of one file.
v8.setFlagsFromString('--liftoff-only');
// Commands that read a file start compiling the parser now, while the CLI's own modules load.
const args = process.argv.slice(2);
if (
  ['validate', 'plan', 'apply', 'drift', 'sync'].includes(args[0] ?? '') &&
  !args.some((a) => /^--?h(elp)?$/.test(a))
)
  import('libpg-query').catch(() => {});

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('wharf is not built yet: run `npm run build` (npm ci does it for you).\n');
  process.exit(1);
}
// The AWS SDK warns on Node 20 that its releases after January 2027 need Node 22. That is for
// whoever upgrades wharf's dependencies, not for someone running a plan: the SDK's own switch
// keeps it off stderr (set the variable to false to see it).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import(entry.href);
// The executable stops cleanly on SIGHUP, SIGINT and SIGTERM (see src/cli/signals.ts).
const code = await main(process.argv.slice(2), undefined, { handleSignals: true });
process.exitCode = code;
// A leaked handle must never keep a finished command alive.
setTimeout(() => process.exit(code), 1000).unref();
