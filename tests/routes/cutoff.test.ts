/**
 * The app's `cutoff` signal (the Node entry aborts it when the shutdown grace period is over):
 * endpoint requests still running end as if their deadline had passed and are answered with
 * the response contract, instead of being reset with their connection.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { sharedListeners } from '../../src/lib/abort.ts';
import { TributaryError } from '../../src/lib/errors.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { fakeFetcher, json } from '../services/fake-fetcher.ts';

const REASON = 'the server is shutting down and its 500 ms grace period is over';

function setup(holdSlow = true) {
  // /fast answers at once; /slow is held until the test (or an abort) ends it.
  const fake = fakeFetcher((call) => (call.path === '/fast' || !holdSlow ? json({ fast: true }) : 'hold'));
  const cutoff = new AbortController();
  const plan = compilePlan({
    upstreams: { u: { baseUrl: 'http://u.test', timeoutMs: 5000 } },
    endpoints: [
      { path: '/v1/required', deadlineMs: 6000, calls: { slow: { upstream: 'u', path: '/slow', required: true } } },
      {
        path: '/v1/optional',
        deadlineMs: 6000,
        calls: { fast: { upstream: 'u', path: '/fast' }, slow: { upstream: 'u', path: '/slow', fallback: [] } },
      },
    ],
  });
  const { app } = createApp({ plan, fetcher: fake.fetcher, cutoff: cutoff.signal, log: () => {} });
  const cut = (): void => cutoff.abort(new TributaryError('deadline_exceeded', REASON));
  return { app, fake, cutoff, cut };
}

/** Waits until exactly `n` calls are in flight (those answered at once have settled). */
async function untilCalls(fake: ReturnType<typeof fakeFetcher>, n: number): Promise<void> {
  for (let i = 0; i < 100 && fake.inFlight() !== n; i++) await new Promise((r) => setTimeout(r, 1));
  expect(fake.inFlight()).toBe(n);
}

describe('the cutoff at the end of the grace period', () => {
  it('a request waiting on its required call is answered 504 with the contract body, and its upstream call is aborted', async () => {
    const { app, fake, cut } = setup();
    const pending = app.request('/v1/required');
    await untilCalls(fake, 1);
    cut();
    const res = await pending;
    expect(res.status).toBe(504);
    expect(res.headers.get('x-aggregate-complete')).toBe('false');
    const body = (await res.json()) as { data: unknown; errors: { call: string; code: string }[]; meta: { complete: boolean } };
    expect(body.data).toEqual({ slow: null });
    expect(body.errors).toEqual([expect.objectContaining({ call: 'slow', code: 'deadline_exceeded' })]);
    expect(body.meta.complete).toBe(false);
    expect(fake.calls[0]?.settled).toBe(true);
    expect(fake.inFlight()).toBe(0);
  });

  it('where only optional calls were still running, the answer keeps what came back: 200, complete false, the cut calls as errors', async () => {
    const { app, fake, cut } = setup();
    const pending = app.request('/v1/optional');
    await untilCalls(fake, 1);
    cut();
    const res = await pending;
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: unknown; errors: { call: string; code: string }[]; meta: { complete: boolean } };
    expect(body.data).toEqual({ fast: { fast: true }, slow: [] });
    expect(body.errors).toEqual([expect.objectContaining({ call: 'slow', code: 'deadline_exceeded' })]);
    expect(body.meta.complete).toBe(false);
  });

  it('a request that arrives after the cutoff (on a connection still open) is answered 504 at once, without calling upstream', async () => {
    const { app, fake, cut } = setup();
    cut();
    const res = await app.request('/v1/required');
    expect(res.status).toBe(504);
    expect(fake.calls).toHaveLength(0);
  });

  it('requests leave no listener on the cutoff signal behind', async () => {
    const { app, cutoff } = setup(false);
    for (let i = 0; i < 20; i++) expect((await app.request('/v1/optional')).status).toBe(200);
    // Shared: one listener of its own, and none of the requests' left in its hub.
    expect(getEventListeners(cutoff.signal, 'abort')).toHaveLength(1);
    expect(sharedListeners(cutoff.signal)).toBe(0);
  });
});
