#!/usr/bin/env node
// wharf's executable: runs the compiled CLI. `npm ci` builds dist/ through the prepare script.
import { existsSync } from 'node:fs';

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
