// The JSON Schema and the TypeScript config types describe the same objects: every object the
// schema defines (definitions, nested objects, object alternatives of anyOf/oneOf) has the
// same keys, and the same required ones, as the list in src/config/schema-shapes.ts, which
// typecheck holds to the TypeScript types. A key added to one side only fails here or there.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCHEMA_SHAPES } from '../src/config/schema-shapes.js';

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  definitions?: Record<string, JsonSchema>;
  $defs?: Record<string, JsonSchema>;
}

type Shapes = Record<string, Record<string, 'required' | 'optional'>>;

const schema = JSON.parse(
  fs.readFileSync(path.join(import.meta.dirname, '..', 'schemas', 'wharf.schema.json'), 'utf8'),
) as JsonSchema;

/** Every object with properties in the schema, keyed as SCHEMA_SHAPES keys them. */
function objectsOf(root: JsonSchema): Shapes {
  const out: Shapes = {};
  const walk = (node: JsonSchema | boolean | undefined, at: string) => {
    if (!node || typeof node !== 'object') return;
    if (node.properties) {
      const required = new Set(node.required ?? []);
      out[at] = Object.fromEntries(
        Object.keys(node.properties).map((k) => [k, required.has(k) ? 'required' : 'optional']),
      );
      for (const [k, child] of Object.entries(node.properties)) walk(child, `${at}.${k}`);
    }
    walk(node.items, `${at}[]`);
    if (typeof node.additionalProperties === 'object') walk(node.additionalProperties, `${at}{}`);
    for (const list of [node.anyOf, node.oneOf, node.allOf])
      list?.forEach((alt, i) => {
        walk(alt, `${at}|${i}`);
      });
  };
  walk({ ...root, definitions: undefined, $defs: undefined }, 'root');
  for (const [name, def] of Object.entries({ ...root.definitions, ...root.$defs })) walk(def, name);
  return out;
}

/** Keys sorted, so a difference reads as a set difference rather than an order. */
function sorted(shapes: Shapes): Shapes {
  return Object.fromEntries(
    Object.entries(shapes)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))]),
  );
}

describe('schema and config types', () => {
  const fromSchema = objectsOf(schema);

  it('define the same objects', () => {
    expect(Object.keys(SCHEMA_SHAPES).sort()).toEqual(Object.keys(fromSchema).sort());
  });

  it('give each object the same keys, required the same way', () => {
    expect(sorted(SCHEMA_SHAPES)).toEqual(sorted(fromSchema));
  });

  it('the walk finds what it must: nested objects and object alternatives', () => {
    // Guards the walker itself: were it to stop descending, both sides above could shrink together.
    expect(fromSchema['table.partition']).toEqual({
      by: 'required',
      granularity: 'required',
      ahead: 'optional',
      from: 'optional',
    });
    expect(fromSchema['datashare.consumers[]|1']).toEqual({ namespace: 'required' });
    const definitions = Object.entries(schema.definitions ?? {}).filter(([, d]) => d.properties);
    expect(definitions.length).toBeGreaterThan(0);
    for (const [name] of definitions) expect(fromSchema).toHaveProperty([name]);
  });

  it('a key on one side only is a difference', () => {
    const drifted = structuredClone(schema);
    drifted.definitions!.connection!.properties!.credentialProcess = { type: 'string' };
    expect(sorted(objectsOf(drifted))).not.toEqual(sorted(SCHEMA_SHAPES));
  });
});
