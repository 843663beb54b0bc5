import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../support/upstream-server.ts';
import { abandon, bulkheads, eventually, startGateway, type RunningGateway } from './gateway-server.ts';

let upstream: Upstream;
const gateways: RunningGateway[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await upstream.close();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('the client disconnecting mid-request', () => {
  it('aborts the in-flight upstream calls, and calls queued behind the per-request limit never reach the upstream', async () => {
    const scope = 'disconnect';
    const gw = await startGateway({
      upstreams: { u: { baseUrl: `${upstream.url}/s/${scope}`, timeoutMs: 5000 } },
      endpoints: [
        {
          path: '/v1/items',
          deadlineMs: 8000,
          maxConcurrency: 2,
          input: { query: { ids: { type: 'array', items: { type: 'string' }, required: true } } },
          calls: { items: { upstream: 'u', path: '/hang/{item}', each: '{query.ids}' } },
        },
      ],
    });
    gateways.push(gw);
    const client = abandon(`${gw.url}/v1/items?ids=a,b,c,d,e,f`);
    await eventually(() => upstream.stats(scope).inFlight === 2);
    client.controller.abort();
    await client.done;

    await eventually(() => upstream.stats(scope).aborted === 2);
    expect(upstream.stats(scope).inFlight).toBe(0);
    // Give queued calls every chance to (wrongly) start.
    await sleep(200);
    const stats = upstream.stats(scope);
    expect(stats.requests).toBe(2);
    expect(Object.keys(stats.byPath).sort()).toEqual(['/hang/a', '/hang/b']);
    await eventually(() => gw.engine.upstreams.get('u')?.bulkhead.running === 0);
    expect(bulkheads(gw.engine)).toEqual({ u: { running: 0, waiting: 0 } });
  });

  it('a request waiting for the per-upstream bulkhead leaves its queue when its client disconnects', async () => {
    const scope = 'disconnect-bulkhead';
    const gw = await startGateway({
      upstreams: { u: { baseUrl: `${upstream.url}/s/${scope}`, timeoutMs: 1500, maxConcurrency: 1 } },
      endpoints: [{ path: '/v1/one/:id', deadlineMs: 2000, calls: { one: { upstream: 'u', path: '/delay/400/{params.id}' } } }],
    });
    gateways.push(gw);
    const first = fetch(`${gw.url}/v1/one/first`).then((r) => r.json() as Promise<{ data: { one: { id: string } } }>);
    await eventually(() => upstream.stats(scope).inFlight === 1);
    const second = abandon(`${gw.url}/v1/one/second`);
    await eventually(() => gw.engine.upstreams.get('u')?.bulkhead.waiting === 1);
    second.controller.abort();
    await second.done;
    await eventually(() => gw.engine.upstreams.get('u')?.bulkhead.waiting === 0, 1000);

    expect((await first).data.one.id).toBe('first');
    await sleep(100);
    const stats = upstream.stats(scope);
    expect(Object.keys(stats.byPath)).toEqual(['/delay/400/first']);
    expect(bulkheads(gw.engine)).toEqual({ u: { running: 0, waiting: 0 } });
  });

  it('a dependent call whose client left is never started', async () => {
    const scope = 'disconnect-dependent';
    const gw = await startGateway({
      upstreams: { u: { baseUrl: `${upstream.url}/s/${scope}`, timeoutMs: 1500 } },
      endpoints: [
        {
          path: '/v1/dep',
          deadlineMs: 2000,
          calls: {
            first: { upstream: 'u', path: '/delay/300/first', query: { next: 'second' } },
            second: { upstream: 'u', path: '/json/{calls.first.query.next}' },
          },
        },
      ],
    });
    gateways.push(gw);
    const client = abandon(`${gw.url}/v1/dep`);
    await eventually(() => upstream.stats(scope).inFlight === 1);
    client.controller.abort();
    await client.done;
    await eventually(() => upstream.stats(scope).aborted === 1);
    await sleep(150);
    expect(Object.keys(upstream.stats(scope).byPath)).toEqual(['/delay/300/first']);
  });
});

describe('coalesced requests over real sockets', () => {
  it('the upstream request goes on while one client is still waiting, and is aborted when the last one leaves', async () => {
    const scope = 'coalesce-cancel';
    const gw = await startGateway({
      upstreams: { u: { baseUrl: `${upstream.url}/s/${scope}`, timeoutMs: 5000, coalesce: true } },
      endpoints: [{ path: '/v1/slow', deadlineMs: 8000, calls: { slow: { upstream: 'u', path: '/hang/one' } } }],
    });
    gateways.push(gw);
    const first = abandon(`${gw.url}/v1/slow`);
    const second = abandon(`${gw.url}/v1/slow`);
    await eventually(() => gw.engine.flights?.waiting === 2 && upstream.stats(scope).inFlight === 1);
    expect(upstream.stats(scope).requests).toBe(1);

    first.controller.abort();
    await first.done;
    await eventually(() => gw.engine.flights?.waiting === 1);
    expect(upstream.stats(scope)).toMatchObject({ inFlight: 1, aborted: 0 });

    second.controller.abort();
    await second.done;
    await eventually(() => upstream.stats(scope).aborted === 1);
    expect(upstream.stats(scope).inFlight).toBe(0);
    expect(gw.engine.flights?.size).toBe(0);
    await eventually(() => bulkheads(gw.engine).u?.running === 0);
  });
});
