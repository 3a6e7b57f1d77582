// Build step: compiles schemas/wharf.schema.json into a standalone validator module
// (dist/config/schema-validator.cjs), so that the CLI neither loads ajv's compiler nor
// compiles the schema at every start. load.ts falls back to compiling when it is absent
// (running from src in tests); a test checks both give the same errors.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const { Ajv } = require('ajv');
const standaloneCode = require('ajv/dist/standalone').default;
const root = path.resolve(import.meta.dirname, '..');
const schema = JSON.parse(fs.readFileSync(path.join(root, 'schemas', 'wharf.schema.json'), 'utf8'));
// The options must match schemaValidator() in src/config/load.ts.
const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, code: { source: true } });
const out = path.join(root, 'dist', 'config', 'schema-validator.cjs');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, standaloneCode(ajv, ajv.compile(schema)));
