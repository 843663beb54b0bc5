/**
 * A call without a query, whose fixed path the URL parser leaves alone, is built as
 * `base + rendered path` without parsing a URL per request. It must be the URL the parser
 * writes, for any value, hostile ones included.
 */
import { describe, expect, it } from 'vitest';
import { buildRequest } from '../../src/services/engine/request.ts';
import type { CompiledCall } from '../../src/services/plan/types.ts';
import { endpointOf, planOf } from './fixtures.ts';

function callOf(path: string, query?: Record<string, string>, baseUrl = 'https://users.internal:8443/api/v2/'): CompiledCall {
  const plan = planOf({
    upstreams: { u: { baseUrl } },
    endpoints: [{ path: '/v1/x/:id/:b', calls: { c: { upstream: 'u', path, ...(query ? { query } : {}) } } }],
  });
  return endpointOf(plan).calls[0] as CompiledCall;
}

const ctx = (id: unknown) => ({ params: { id, b: 'b' }, query: {}, body: {}, calls: {} });
const values = [
  '42', 'ü', '日本', '😀', 'a b', '%', '%2e%2e', '%2F', '..%2F..', '../x', '/', '//evil.com', '@evil.com', 'x@y:80',
  'http://evil', '?a=b', '#x', '\\..\\admin', "it's", '"q"', '<>', '`', '{}', '|', '^', '[::1]', 'a\r\nHost: evil', '\u0000', '...', '.x', 'x.',
];

describe('upstream URLs without a parser', () => {
  it('a plain path is built without the parser, and is what the parser writes, for every value', () => {
    for (const path of ['/users/{params.id}', '/users/{params.id}/profile', '/files/{params.id}.{params.b}', '/a/.{params.id}', '/{params.id}']) {
      const call = callOf(path);
      expect(call.plainUrl, path).toBe(true);
      for (const value of values) {
        const plain = buildRequest(call, ctx(value), undefined).url;
        expect(plain, `${path} with ${JSON.stringify(value)}`).toBe(buildRequest({ ...call, plainUrl: false }, ctx(value), undefined).url);
        expect(new URL(plain).origin).toBe('https://users.internal:8443');
      }
    }
  });

  it('a query, or a fixed part the parser rewrites, keeps the parser', () => {
    expect(callOf('/users/{params.id}', { v: '{params.b}' }).plainUrl).toBe(false);
    for (const path of ['/a/../users/{params.id}', '/a/./{params.id}', '/a b/{params.id}', '/a/%2e%2e/{params.id}', '/a\\b/{params.id}']) {
      const call = callOf(path);
      expect(call.plainUrl, path).toBe(false);
      expect(buildRequest(call, ctx('7'), undefined).url).toBe(new URL(`https://users.internal:8443/api/v2${path.replace('{params.id}', '7')}`).href);
    }
  });

  it('refused values are refused on the plain path too', () => {
    const call = callOf('/users/{params.id}');
    for (const value of ['.', '..', '', { a: 1 }]) expect(() => buildRequest(call, ctx(value), undefined)).toThrow(/params\.id/);
  });
});
