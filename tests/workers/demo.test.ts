import { describe, expect, it, vi } from 'vitest';
import { SCALAR_VERSION } from '../../src/routes/docs.ts';
import { demoExports as exports } from './demo-worker.ts';

/**
 * The Worker's handler around the demo config (src/worker/demo-config.ts, not the user's slot
 * src/worker/config.ts), inside workerd with wrangler.toml's settings. Its variables (USERS_URL,
 * ...) point at the demo upstreams started in Node by tests/workers/global-setup.ts;
 * TRIBUTARY_MAX_SUBREQUESTS is wrangler.toml's 50.
 */
const get = async (path: string) => {
  const response = await exports.default.fetch(`http://gateway.test${path}`);
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
};

describe('src/worker.ts with the bundled demo config', () => {
  it('GET /v1/dashboard/:userId: profile and orders, recs too slow and replaced by its fallback', async () => {
    const res = await get('/v1/dashboard/42');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-aggregate-complete')).toBe('false');
    expect(res.headers.get('server-timing')).toMatch(/^total;dur=[\d.]+, fanout;dur=[\d.]+$/);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(Object.keys(res.body.data)).toEqual(['profile', 'orders', 'recs']);
    expect(res.body.data.profile).toEqual({ id: '42', name: 'User 42', managerId: '21' });
    expect(res.body.data.orders).toHaveLength(2);
    expect(res.body.data.recs).toEqual([]);
    expect(res.body.errors).toEqual([expect.objectContaining({ call: 'recs', code: 'timeout' })]);
  });

  it('GET /openapi.json: the demo\'s endpoints, data typed by each call\'s schema', async () => {
    const res = await get('/openapi.json');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.paths)).toEqual(['/v1/dashboard/{userId}', '/v1/items', '/v1/users/{userId}/with-manager']);
    const data = res.body.paths['/v1/dashboard/{userId}'].get.responses['200'].content['application/json'].schema.properties.data;
    expect(data.properties.profile.required).toEqual(['id', 'name']);
  });

  it('GET /docs: the API reference page, its script from the CDN (the Worker bundles no copy)', async () => {
    const response = await exports.default.fetch('http://gateway.test/docs');
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('"url": "/openapi.json"');
    expect(html).toContain(`<script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference@${SCALAR_VERSION}"></script>`);
  });

  it('GET /v1/items: one catalog call per id, in the order asked', async () => {
    const res = await get('/v1/items?ids=3,1,2');
    expect(res.status).toBe(200);
    expect(res.body.data.items.map((i: { id: string }) => i.id)).toEqual(['3', '1', '2']);
  });

  it('GET /v1/users/:userId/with-manager: the second call uses the first one\'s answer', async () => {
    const res = await get('/v1/users/42/with-manager');
    expect(res.status).toBe(200);
    expect(res.body.data.manager.id).toBe('21');
  });

  it('a required call failing is a 502 with the same body shape', async () => {
    const res = await get('/v1/dashboard/5000');
    expect(res.status).toBe(502);
    expect(res.body.errors[0]).toMatchObject({ call: 'profile', code: 'http_status', status: 404 });
  });

  it('GET /v1/items with 51 ids is refused at the Free plan cap of 50 without calling the catalog', async () => {
    const spy = vi.spyOn(globalThis, 'fetch');
    try {
      const many = Array.from({ length: 51 }, (_, i) => String(i)).join(',');
      const res = await get(`/v1/items?ids=${many}`);
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({ code: 'too_many_subrequests', subrequests: 51, limit: 50 });
      expect(spy).not.toHaveBeenCalled();
      const fifty = await get(`/v1/items?ids=${many.split(',').slice(0, 50).join(',')}`);
      expect(fifty.status).toBe(200);
      expect(spy).toHaveBeenCalledTimes(50);
    } finally {
      spy.mockRestore();
    }
  });

  it('health and unknown routes answer JSON', async () => {
    expect(await get('/healthz')).toMatchObject({ status: 200, body: { status: 'ok', endpoints: 3 } });
    expect(await get('/nope')).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  });
});
