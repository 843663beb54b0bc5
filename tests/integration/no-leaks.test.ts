import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../support/upstream-server.ts';
import { bulkheads, eventually, freePort, startGateway, type RunningGateway } from './gateway-server.ts';

let upstream: Upstream;
let gw: RunningGateway;
const scope = 'leaks';

beforeAll(async () => {
  upstream = await startUpstream();
  const base = `${upstream.url}/s/${scope}`;
  gw = await startGateway({
    upstreams: {
      u: { baseUrl: base, timeoutMs: 150, maxConcurrency: 4, maxBodyBytes: 32 * 1024 },
      dead: { baseUrl: `http://127.0.0.1:${await freePort()}`, maxConcurrency: 2 },
    },
    endpoints: [
      {
        path: '/v1/mix/:n',
        deadlineMs: 400,
        maxConcurrency: 3,
        calls: {
          ok: { upstream: 'u', path: '/json/{params.n}' },
          slow: { upstream: 'u', path: '/delay/300/{params.n}' },
          hang: { upstream: 'u', path: '/hang/{params.n}' },
          fail: { upstream: 'u', path: '/status/503' },
          reset: { upstream: 'u', path: '/reset' },
          bad: { upstream: 'u', path: '/badjson' },
          huge: { upstream: 'u', path: '/huge/1000000', query: { chunked: '1' } },
          dead: { upstream: 'dead', path: '/x/{params.n}' },
        },
      },
      {
        path: '/v1/required/:n',
        deadlineMs: 400,
        calls: {
          main: { upstream: 'u', path: '/status/500', query: { delay: '30' }, required: true },
          sibling: { upstream: 'u', path: '/hang/{params.n}' },
        },
      },
    ],
  });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

describe('nothing leaks', () => {
  it('after many requests with every kind of failure, no permit is held and no upstream request is open', async () => {
    const requests: Promise<unknown>[] = [];
    for (let n = 0; n < 40; n++) {
      const path = n % 4 === 3 ? `/v1/required/${n}` : `/v1/mix/${n}`;
      if (n % 5 === 4) {
        // Some clients leave early.
        const controller = new AbortController();
        requests.push(fetch(`${gw.url}${path}`, { signal: controller.signal }).then((r) => r.text(), () => 'aborted'));
        setTimeout(() => controller.abort(), 20 + (n % 3) * 40);
      } else {
        requests.push(
          fetch(`${gw.url}${path}`).then(async (r) => {
            expect([200, 502, 504]).toContain(r.status);
            const body = (await r.json()) as { errors: unknown[] };
            expect(body.errors.length).toBeGreaterThan(0);
          }),
        );
      }
    }
    const settled = await Promise.allSettled(requests);
    expect(settled.filter((s) => s.status === 'rejected')).toEqual([]);

    await eventually(() => {
      const b = bulkheads(gw.engine);
      return b.u?.running === 0 && b.u.waiting === 0 && b.dead?.running === 0 && b.dead.waiting === 0;
    });
    expect(bulkheads(gw.engine)).toEqual({ u: { running: 0, waiting: 0 }, dead: { running: 0, waiting: 0 } });
    await eventually(() => upstream.stats(scope).inFlight === 0);
    expect(upstream.stats(scope).peakInFlight).toBeLessThanOrEqual(4);
    expect(gw.faults).toEqual([]);

    // The gateway still works normally afterwards.
    const res = await fetch(`${gw.url}/v1/mix/after`);
    const body = (await res.json()) as { data: { ok: { id: string } } };
    expect(body.data.ok.id).toBe('after');
  });
});
