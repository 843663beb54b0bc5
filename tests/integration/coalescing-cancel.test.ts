import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../support/upstream-server.ts';
import { bulkheads, eventually, startGateway, type RunningGateway } from './gateway-server.ts';

let upstream: Upstream;
const gateways: RunningGateway[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await upstream.close();
});

/** A client request we will abandon; its rejection is expected. */
function abandon(url: string): { controller: AbortController; done: Promise<unknown> } {
  const controller = new AbortController();
  const done = fetch(url, { signal: controller.signal }).then(
    (res) => res.text(),
    (error: unknown) => error,
  );
  return { controller, done };
}

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
