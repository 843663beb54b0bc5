/** examples/profile-page.config.json, run here so it never rots: what the README's shaping section shows. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { fakeFetcher, json } from './fake-fetcher.ts';

const config: unknown = JSON.parse(readFileSync(new URL('../../examples/profile-page.config.json', import.meta.url), 'utf8'));

/** The example upstreams' answers (`npm run example-upstreams`), with fields the page does not want. */
function app() {
  const fake = fakeFetcher((call) => {
    const user = /\/users\/(\d+)$/.exec(call.path)?.[1];
    if (user) return user === '5000' ? json({ error: 'no such user' }, 404) : json({ id: user, name: `User ${user}`, managerId: '21' });
    return json([
      { id: '42-1', total: 42.5, internalCode: 'x' },
      { id: '42-2', total: 9.99, internalCode: 'y' },
    ]);
  });
  return createApp({ plan: compilePlan(config), fetcher: fake.fetcher, log: () => {} }).app;
}

describe('examples/profile-page.config.json', () => {
  it('answers data in the shape of its response template, with only the picked fields', async () => {
    const res = await app().request('/v1/profile-page/42');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: unknown };
    expect(body.data).toEqual({
      user: { id: '42', name: 'User 42' },
      greeting: 'Hello, User 42',
      orders: [
        { id: '42-1', total: 42.5 },
        { id: '42-2', total: 9.99 },
      ],
      latestOrderId: '42-1',
    });
  });

  it('answers 404 for a user the users upstream does not know', async () => {
    const res = await app().request('/v1/profile-page/5000');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { errors: { status: number }[] }).errors[0]?.status).toBe(404);
  });

  it('is cacheable for 30 s in the browser, revalidated with its ETag', async () => {
    const gateway = app();
    const first = await gateway.request('/v1/profile-page/42');
    expect(first.headers.get('cache-control')).toBe('private, max-age=30');
    const etag = first.headers.get('etag') ?? '';
    const again = await gateway.request('/v1/profile-page/42', { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  it('streams picked calls without the template', async () => {
    const res = await app().request('/v1/profile-page/42', { headers: { accept: 'application/x-ndjson' } });
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.find((l) => l.call === 'profile')).toEqual({ call: 'profile', ok: true, data: { id: '42', name: 'User 42' } });
    expect(lines.at(-1)).toMatchObject({ complete: true, status: 200 });
  });
});
