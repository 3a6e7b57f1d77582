// Registers the engines (src/engines.ts) in every test file's process, as the CLI and the
// library entry point do: tests call the core (toDesired, diff, openConnection) directly.
import '../../src/engines.js';
