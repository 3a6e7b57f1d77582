// The PostgreSQL engine as the core sees it (src/providers/engine.ts): `postgres` connections
// (a server by URL) and `local` ones (the embedded server, src/providers/local). Its rules,
// desired state and diffs are the core's own; the driver loads on connect only.
import type { Engine } from '../engine.js';

export const postgresEngine: Engine = {
  name: 'PostgreSQL',
  connectionTypes: ['local', 'postgres'],
  holds: 'warehouse',
  async open(name, config, baseDir) {
    const { openPostgresConnection } = await import('./connect.js');
    return openPostgresConnection(name, config, baseDir);
  },
};
