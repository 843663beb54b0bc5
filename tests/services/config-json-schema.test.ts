/** The JSON Schema editors use for config files: generated, committed, and true to the zod schema. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { configJsonSchemaText, SCHEMA_FILE } from '../../scripts/schema.ts';
import { configSchema } from '../../src/services/config-schema.ts';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const jsonExamples = readdirSync(EXAMPLES).filter((name) => name.endsWith('.json'));
const committed = readFileSync(SCHEMA_FILE, 'utf8');
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(committed) as object);

describe('schema/tributary.schema.json', () => {
  it('is what `npm run schema` generates from the zod schema (run it after changing the config schema)', () => {
    expect(committed).toBe(configJsonSchemaText());
  });

  it('leaves fields with defaults optional: an upstream needs only baseUrl, a call upstream and path', () => {
    expect(validate({ upstreams: { u: { baseUrl: 'http://127.0.0.1:4001' } }, endpoints: [{ path: '/x', calls: { a: { upstream: 'u', path: '/a' } } }] })).toBe(true);
  });

  it('refuses what the zod schema refuses: a mistyped field, a wrong type, an endpoint without calls', () => {
    const bad = [
      { upstreams: { u: { baseUrl: 'http://a', timeoutMS: 5 } }, endpoints: [] },
      { upstreams: { u: { baseUrl: 'http://a', timeoutMs: '5' } }, endpoints: [] },
      { upstreams: {}, endpoints: [{ path: '/x', calls: {} }] },
    ];
    for (const config of bad) {
      expect(validate(config)).toBe(false);
      expect(configSchema.safeParse(config).success).toBe(false);
    }
  });
});

describe.each(jsonExamples)('examples/%s', (name) => {
  const text = readFileSync(resolve(EXAMPLES, name), 'utf8');
  const config = JSON.parse(text) as { $schema?: string };

  it('names the committed JSON Schema in "$schema", by a path relative to itself', () => {
    expect(config.$schema).toBeDefined();
    expect(resolve(dirname(resolve(EXAMPLES, name)), config.$schema as string)).toBe(SCHEMA_FILE);
  });

  it('passes the zod schema and the JSON Schema', () => {
    expect(configSchema.safeParse(config).error?.issues).toBeUndefined();
    expect(validate(config), JSON.stringify(validate.errors)).toBe(true);
  });
});
