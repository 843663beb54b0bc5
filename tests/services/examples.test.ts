/** The examples are run here, so they never rot. */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/app.ts';
import { compilePlan, ConfigError } from '../../src/services/plan/index.ts';
import { createCodeFirstApp, UPSTREAMS } from '../../examples/code-first.ts';
import tsConfig from '../../examples/dashboard.config.ts';
import { fakeFetcher, json, type Handler } from './fake-fetcher.ts';

const jsonConfig: unknown = JSON.parse(readFileSync(new URL('../../examples/dashboard.config.json', import.meta.url), 'utf8'));
const ENV = { USERS_API_KEY: 'example-key' };

describe('examples/dashboard.config.{json,ts}', () => {
  it('both compile, to the same plan', () => {
    const fromJson = compilePlan(jsonConfig, ENV);
    const fromTs = compilePlan(tsConfig, ENV);
    expect(fromJson.endpoints.map((e) => e.id)).toEqual(['GET /v1/dashboard/:userId']);
    const shape = (plan: typeof fromJson) => ({
      upstreams: [...plan.upstreams.values()].map((u) => ({ ...u, forwardHeaders: [...u.forwardHeaders] })),
      calls: plan.endpoints[0]?.calls.map((c) => ({ ...c, upstream: c.upstream.name })),
      cors: plan.cors,
    });
    expect(shape(fromTs)).toEqual(shape(fromJson));
  });

  it('use every feature the README promises', () => {
    const plan = compilePlan(jsonConfig, ENV);
    const calls = new Map(plan.endpoints[0]?.calls.map((c) => [c.name, c]));
    expect(calls.get('profile')?.required).toBe(true);
    expect(calls.get('recs')?.fallback).toEqual({ value: [] });
    expect(calls.get('orders')?.timeoutMs).toBe(300);
    expect(calls.get('items')?.each?.text).toBe('query.ids');
    expect(calls.get('manager')?.dependsOn).toEqual(['profile']);
    expect(plan.upstreams.get('users')?.forwardHeaders.has('x-tenant')).toBe(true);
    expect(plan.upstreams.get('users')?.headers['x-api-key']).toBe('example-key');
  });

  it('refuse to start without the env var', () => {
    expect(() => compilePlan(jsonConfig, {})).toThrow(ConfigError);
    expect(() => compilePlan(tsConfig, {})).toThrow(/USERS_API_KEY is not set/);
  });

  it('serve a dashboard over a fake transport', async () => {
    const handler: Handler = (c) => {
      if (c.target === '127.0.0.1:4001/users/42') return json({ id: '42', name: 'Ada', managerId: '7' });
      if (c.target === '127.0.0.1:4001/users/7') return json({ id: '7', name: 'Grace' });
      if (c.target.startsWith('127.0.0.1:4003')) return json({}, 503);
      return json({ at: c.target });
    };
    const fake = fakeFetcher(handler);
    const { app } = createApp({ plan: compilePlan(tsConfig, ENV), fetcher: fake.fetcher, log: () => {} });
    const res = await app.request('/v1/dashboard/42?ids=a,b&limit=5', { headers: { 'x-tenant': 'acme', cookie: 'sid=1' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: Record<string, unknown>; errors: { call: string }[] };
    expect(body.data).toEqual({
      profile: { id: '42', name: 'Ada', managerId: '7' },
      orders: { at: '127.0.0.1:4002/api/orders' },
      recs: [],
      items: [{ at: '127.0.0.1:4004/items/a' }, { at: '127.0.0.1:4004/items/b' }],
      manager: { id: '7', name: 'Grace' },
    });
    expect(body.errors.map((e) => e.call)).toEqual(['recs']);
    const profileCall = fake.to('127.0.0.1:4001/users/42')[0];
    expect(profileCall?.headers.get('x-api-key')).toBe('example-key');
    expect(profileCall?.headers.get('x-tenant')).toBe('acme');
    expect(profileCall?.headers.get('cookie')).toBeNull();
  });
});

describe('examples/code-first.ts', () => {
  it('the engine route shapes its own answer', async () => {
    const fake = fakeFetcher((c) => {
      if (c.path === '/users/42') return json({ id: '42', name: 'Ada' });
      if (c.path === '/orders') return json([{ id: 1 }, { id: 2 }]);
      return json({}, 404);
    });
    const app = createCodeFirstApp(fake.fetcher, ENV);
    const res = await app.request('/v1/profile-card/42');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ name: 'Ada', orderCount: 2, partial: false });
    expect(fake.to('127.0.0.1:4001')[0]?.headers.get('x-api-key')).toBe('example-key');
    expect(fake.to('127.0.0.1:4002')[0]?.url).toBe(`${UPSTREAMS.orders}/orders?user=42`);
  });

  it('the engine route: orders down is partial, user down is its own 502', async () => {
    const ordersDown = fakeFetcher((c) => (c.path === '/orders' ? json({}, 500) : json({ id: '42', name: 'Ada' })));
    const partial = await createCodeFirstApp(ordersDown.fetcher, ENV).request('/v1/profile-card/42');
    expect(await partial.json()).toEqual({ name: 'Ada', orderCount: 0, partial: true });

    const userDown = fakeFetcher((c) => (c.path.startsWith('/users') ? json({}, 503) : json([])));
    const failed = await createCodeFirstApp(userDown.fetcher, ENV).request('/v1/profile-card/42');
    expect(failed.status).toBe(502);
    expect(await failed.json()).toEqual({ error: 'user failed (http_status)' });
    expect((await createCodeFirstApp(userDown.fetcher, ENV).request('/v1/profile-card/x')).status).toBe(400);
  });

  it('the gather route reports each upstream and releases every body', async () => {
    const fake = fakeFetcher((c) => (c.target.startsWith('127.0.0.1:4002') ? json({ down: true }, 503) : json({ ok: true })));
    const res = await createCodeFirstApp(fake.fetcher, ENV).request('/v1/status');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ up: false, upstreams: { users: 'up', orders: 'http_status' } });
    expect(fake.calls.map((c) => c.path)).toEqual(['/healthz', '/healthz']);
    expect(fake.allBodiesReleased()).toBe(true);
  });

  it('the gather route: a hanging upstream is cut by the 500 ms deadline', async () => {
    vi.useFakeTimers();
    try {
      const fake = fakeFetcher((c) => (c.target.startsWith('127.0.0.1:4001') ? json({ ok: true }) : 'hold'));
      const pending = createCodeFirstApp(fake.fetcher, ENV).request('/v1/status');
      await vi.advanceTimersByTimeAsync(499);
      expect(fake.to('127.0.0.1:4002')[0]?.signal.aborted).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      const res = await pending;
      expect(await res.json()).toEqual({ up: false, upstreams: { users: 'up', orders: 'deadline_exceeded' } });
      expect(fake.to('127.0.0.1:4002')[0]?.signal.aborted).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
