import { describe, expect, it } from 'vitest';
import type { TributaryConfigInput } from '../../src/services/config-schema.ts';
import { call, gateway, upstreamScope } from './harness.ts';

type CallSchema = NonNullable<TributaryConfigInput['endpoints'][number]['calls'][string]['schema']>;

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, any>>;
  components: { schemas: Record<string, any> };
};

const profile: CallSchema = {
  type: 'object',
  properties: { id: { type: 'string', required: true }, method: { type: 'string', enum: ['GET'] } },
};

function config(base: string, extra: Partial<TributaryConfigInput> = {}): TributaryConfigInput {
  return {
    upstreams: { u: { baseUrl: base } },
    endpoints: [
      {
        path: '/v1/users/:userId',
        description: 'A user and their orders',
        input: {
          params: { userId: { type: 'string', pattern: '^[0-9]+$' } },
          query: { limit: { type: 'integer', minimum: 1, maximum: 50 }, tags: { type: 'array', maxItems: 5 } },
        },
        calls: {
          profile: { upstream: 'u', path: '/json/{params.userId}', required: true, schema: profile },
          orders: { upstream: 'u', path: '/json/orders', fallback: [] },
        },
      },
      {
        method: 'POST',
        path: '/v1/search',
        input: { body: { q: { type: 'string', required: true, maxLength: 100 } } },
        calls: { hits: { upstream: 'u', path: '/json/hits', method: 'POST', body: { q: '{body.q}' } } },
      },
    ],
    ...extra,
  };
}

describe('GET /openapi.json', () => {
  it('describes every endpoint with its path params, query and body fields', async () => {
    const gw = gateway(config(upstreamScope('oas').base));
    const res = await call<Doc>(gw, '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body.openapi).toBe('3.1.0');
    const get = res.body.paths['/v1/users/{userId}']?.get;
    expect(get.summary).toBe('/v1/users/{userId}');
    expect(get.description).toBe('A user and their orders');
    expect(get.parameters).toEqual([
      { name: 'userId', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } },
      { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 50 } },
      { name: 'tags', in: 'query', required: false, schema: { type: 'array', items: { type: 'string' }, maxItems: 5 }, style: 'form', explode: true },
    ]);
    const post = res.body.paths['/v1/search']?.post;
    expect(post.requestBody).toEqual({
      required: true,
      content: { 'application/json': { schema: { type: 'object', properties: { q: { type: 'string', maxLength: 100 } }, required: ['q'] } } },
    });
    expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(['200', '400', '413', '415', '502', '504']));
  });

  it('gives 200, 400, 502 and 504 with the response envelope, and the streaming media types', async () => {
    const gw = gateway(config(upstreamScope('oas-env').base));
    const { body } = await call<Doc>(gw, '/openapi.json');
    const responses = body.paths['/v1/users/{userId}']?.get.responses;
    for (const status of ['200', '502', '504']) {
      const envelope = responses[status].content['application/json'].schema;
      expect(envelope.required).toEqual(['data', 'errors', 'meta']);
      expect(envelope.properties.errors).toEqual({ type: 'array', items: { $ref: '#/components/schemas/CallError' } });
    }
    expect(responses['400'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/InvalidRequest' });
    expect(Object.keys(responses['200'].content)).toEqual(['application/json', 'application/x-ndjson', 'text/event-stream']);
    expect(body.components.schemas.CallError.properties.code.enum).toContain('invalid_response');
  });

  it('types data.<call> from the call\'s schema; an optional call may also be its fallback', async () => {
    const gw = gateway(config(upstreamScope('oas-data').base));
    const { body } = await call<Doc>(gw, '/openapi.json');
    const data = body.paths['/v1/users/{userId}']?.get.responses['200'].content['application/json'].schema.properties.data;
    expect(data.required).toEqual(['profile', 'orders']);
    expect(data.properties.profile).toEqual({
      type: 'object',
      properties: { id: { type: 'string' }, method: { type: 'string', enum: ['GET'] } },
      required: ['id'],
    });
    // No schema: any JSON.
    expect(data.properties.orders).toEqual({});
  });

  it('is not served, nor /docs, when the config says "docs": false', async () => {
    const gw = gateway(config(upstreamScope('oas-off').base, { docs: false }));
    expect((await call(gw, '/openapi.json')).status).toBe(404);
    expect((await gw.app.request('/docs')).status).toBe(404);
  });

  it('GET /docs answers an HTML page that loads the document', async () => {
    const gw = gateway(config(upstreamScope('oas-page').base));
    const res = await gw.app.request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('"url": "/openapi.json"');
  });
});

describe('a call\'s schema', () => {
  it('passes an answer that matches it', async () => {
    const gw = gateway(config(upstreamScope('schema-ok').base));
    const res = await call(gw, '/v1/users/7');
    expect(res.status).toBe(200);
    expect(res.body.data.profile).toMatchObject({ id: '7', method: 'GET' });
  });

  it('fails a required call with invalid_response naming the first mismatching path', async () => {
    const base = upstreamScope('schema-bad').base;
    const strict: CallSchema = { type: 'object', properties: { id: { type: 'integer', required: true }, method: { type: 'string' } } };
    const cfg = config(base);
    cfg.endpoints[0]!.calls.profile = { ...cfg.endpoints[0]!.calls.profile!, schema: strict };
    const res = await call(gateway(cfg), '/v1/users/7');
    expect(res.status).toBe(502);
    // The sibling may be listed too (cancelled), when it had not finished yet.
    expect(res.body.errors.find((e) => e.call === 'profile')).toMatchObject({
      code: 'invalid_response',
      message: "profile: u answered 200 with a body that does not match the call's schema: $.id: expected integer, got string",
    });
  });

  it('gives an optional call its fallback when the answer does not match', async () => {
    const base = upstreamScope('schema-fallback').base;
    const cfg = config(base);
    cfg.endpoints[0]!.calls.orders = { ...cfg.endpoints[0]!.calls.orders!, schema: { type: 'array' } };
    const res = await call(gateway(cfg), '/v1/users/7');
    expect(res.status).toBe(200);
    expect(res.body.data.orders).toEqual([]);
    expect(res.body.errors[0]).toMatchObject({ call: 'orders', code: 'invalid_response' });
    expect(res.body.errors[0]?.message).toContain('$: expected array, got object');
  });

  it('checks each element\'s answer of an each call on its own: only the mismatching element fails', async () => {
    const base = upstreamScope('schema-each').base;
    const gw = gateway({
      upstreams: { u: { baseUrl: base } },
      endpoints: [
        {
          path: '/v1/items',
          input: { query: { ids: { type: 'array', required: true } } },
          calls: { items: { upstream: 'u', path: '/json/{item}', each: '{query.ids}', schema: { type: 'object', properties: { id: { type: 'string', pattern: '^[ab]$' } } } } },
        },
      ],
    });
    const res = await call(gw, '/v1/items?ids=a,c,b');
    expect(res.status).toBe(200);
    expect(res.body.data.items.map((i: { id: string } | null) => i?.id ?? null)).toEqual(['a', null, 'b']);
    expect(res.body.errors).toEqual([expect.objectContaining({ call: 'items', item: 1, code: 'invalid_response' })]);
    expect(res.body.errors[0]?.message).toContain('$.id: does not match ^[ab]$');
  });
});
