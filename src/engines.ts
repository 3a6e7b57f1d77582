// The engines this build knows, handed to the core: the only file that names them all. The core
// (src/config, src/plan, src/sync, src/apply) finds an engine through src/providers/engine.ts,
// by connection type or resource kind; importing this file (as src/cli/main.ts, src/index.ts
// and the test setup do) registers the list. Adding an engine is one folder under
// src/providers/ that exports an `Engine`, and one line here.
//
// The order is the order the core asks them in: config rules, desired state, diffs and plan
// diagnostics come out engine by engine in this order.
import { type Engine, registerEngines } from './providers/engine.js';
import { postgresEngine } from './providers/postgres/engine.js';
import { redshiftEngine } from './providers/redshift/engine.js';
import { s3Engine } from './providers/s3/engine.js';

export const ENGINES: readonly Engine[] = [postgresEngine, s3Engine, redshiftEngine];

registerEngines(ENGINES);
