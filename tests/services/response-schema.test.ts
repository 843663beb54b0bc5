import { describe, expect, it } from 'vitest';
import type { ResponseSchemaConfig } from '../../src/services/config-schema.ts';
import { compileConfig } from '../../src/services/plan/index.ts';
import { compileResponseSchema } from '../../src/services/response-schema.ts';

function checker(schema: ResponseSchemaConfig) {
  const issues: string[] = [];
  const check = compileResponseSchema(schema, 'call "c"', issues);
  expect(issues).toEqual([]);
  return check as NonNullable<typeof check>;
}

const order: ResponseSchemaConfig = {
  type: 'object',
  properties: {
    id: { type: 'string', required: true, pattern: '^o-' },
    lines: { type: 'array', maxItems: 3, items: { type: 'object', properties: { sku: { type: 'string', required: true }, qty: { type: 'integer', minimum: 1 } } } },
    status: { type: 'string', enum: ['open', 'paid'] },
    note: { type: 'string', nullable: true },
  },
};

describe('a call schema', () => {
  it('accepts a matching answer, with extra fields and optional fields left out', () => {
    expect(checker(order)({ id: 'o-1', lines: [{ sku: 'a', qty: 2, extra: true }], more: 1 })).toBeUndefined();
    expect(checker(order)({ id: 'o-1' })).toBeUndefined();
  });

  it('names the first mismatching path, inside arrays and nested objects', () => {
    expect(checker(order)({ id: 'o-1', lines: [{ sku: 'a', qty: 1 }, { sku: 'b', qty: 1.5 }] })).toBe('$.lines[1].qty: expected integer, got number');
    expect(checker(order)({ id: 'o-1', lines: [{ qty: 1 }] })).toBe('$.lines[0].sku: is required but missing');
  });

  it('says which limit an answer broke', () => {
    const check = checker(order);
    expect(check({ id: 'x-1' })).toBe('$.id: does not match ^o-');
    expect(check({ id: 'o-1', lines: [{ sku: 'a', qty: 0 }] })).toBe('$.lines[0].qty: less than 1');
    expect(check({ id: 'o-1', lines: [{ sku: 'a' }, { sku: 'a' }, { sku: 'a' }, { sku: 'a' }] })).toBe('$.lines: more than 3 elements');
    expect(check({ id: 'o-1', status: 'lost' })).toBe('$.status: expected one of "open", "paid"');
  });

  it('accepts null only where nullable', () => {
    expect(checker(order)({ id: 'o-1', note: null })).toBeUndefined();
    expect(checker(order)({ id: 'o-1', status: null })).toBe('$.status: expected string, got null');
    expect(checker(order)(null)).toBe('$: expected object, got null');
  });

  it('quotes a property name that is not an identifier', () => {
    const check = checker({ type: 'object', properties: { 'x-id': { type: 'integer', required: true } } });
    expect(check({ 'x-id': '1' })).toBe('$["x-id"]: expected integer, got string');
  });

  it('does not take an inherited property for a declared one', () => {
    const check = checker({ type: 'object', properties: { constructor: { type: 'string' as const, required: true } } });
    expect(check({})).toBe('$.constructor: is required but missing');
  });
});

describe('a call schema in the plan compiler', () => {
  it('reports a bad pattern and misplaced keywords at start-up, naming endpoint, call and field', () => {
    const { issues } = compileConfig({
      upstreams: { u: { baseUrl: 'http://u.test' } },
      endpoints: [
        {
          path: '/x',
          calls: {
            a: {
              upstream: 'u',
              path: '/a',
              schema: { type: 'object', properties: { id: { type: 'string', pattern: '(' }, n: { type: 'integer', items: { type: 'string' } } } },
            },
          },
        },
      ],
    });
    expect(issues).toEqual([
      expect.stringMatching(/^endpoint GET \/x, call "a", field "schema\.properties\.id": "pattern" is not a valid regular expression/),
      'endpoint GET /x, call "a", field "schema.properties.n": "items" applies to arrays only, not to type "integer"',
    ]);
  });

  it('refuses an endpoint at a path the docs use, unless docs are off', () => {
    const config = (docs: boolean) => ({ docs, upstreams: { u: { baseUrl: 'http://u.test' } }, endpoints: [{ path: '/docs', calls: { a: { upstream: 'u', path: '/a' } } }] });
    expect(compileConfig(config(true)).issues).toEqual([
      'endpoint GET /docs, field "path": /docs is the gateway\'s own API description (set "docs": false to use it)',
    ]);
    expect(compileConfig(config(false)).issues).toEqual([]);
  });
});
