// The PostgreSQL engine as the core sees it (src/providers/engine.ts): `postgres` connections
// (a server by URL) and `local` ones (the embedded server, src/providers/local). Its connection
// rules are its own; its desired state and diffs are the core's; the driver loads on connect only.
import type { Engine } from '../engine.js';
import { checkPostgresRules } from './rules.js';

export const postgresEngine: Engine = {
  name: 'PostgreSQL',
  connectionTypes: ['local', 'postgres'],
  holds: 'warehouse',
  checkRules: checkPostgresRules,
  async open(name, config, baseDir) {
    const { openPostgresConnection } = await import('./connect.js');
    return openPostgresConnection(name, config, baseDir);
  },
};
