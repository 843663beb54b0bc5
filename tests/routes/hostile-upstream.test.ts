import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { fakeFetcher, json } from '../services/fake-fetcher.ts';

function app(answer: (path: string) => Response) {
  const fake = fakeFetcher((call) => answer(call.path));
  const plan = compilePlan({
    upstreams: { u: { baseUrl: 'http://u.test' } },
    endpoints: [{ path: '/x', calls: { good: { upstream: 'u', path: '/good' }, odd: { upstream: 'u', path: '/odd', fallback: 'none' } } }],
  });
  return createApp({ plan, fetcher: fake.fetcher, log: () => {} }).app;
}

describe('an optional upstream that answers something hostile does not take the endpoint down', () => {
  it('JSON nested 5,000 deep fails only that call, with invalid_response; the answer is a 200', async () => {
    const nested = '['.repeat(5000) + ']'.repeat(5000);
    const res = await app((path) => (path === '/good' ? json({ id: 1 }) : new Response(nested)))
      .request('/x');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: Record<string, unknown>; errors: { call: string; code: string }[] };
    expect(body.data).toEqual({ good: { id: 1 }, odd: 'none' });
    expect(body.errors).toMatchObject([{ call: 'odd', code: 'invalid_response' }]);
  });

  it('an empty 200 is a failed call, not a successful null', async () => {
    const res = await app((path) => (path === '/good' ? json({ id: 1 }) : new Response('', { status: 200 }))).request('/x');
    const body = (await res.json()) as { data: Record<string, unknown>; errors: { call: string; message: string }[] };
    expect(body.data.odd).toBe('none');
    expect(body.errors).toMatchObject([{ call: 'odd', message: 'odd: u answered 200 with an empty body' }]);
  });
});
