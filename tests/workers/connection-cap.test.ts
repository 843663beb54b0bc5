/**
 * The Worker caps one request's open fetches (the platform lets 6 wait for headers and queues the
 * rest out of sight), so the extra calls wait in Tributary's own queue, where it can be seen.
 */
import { describe, expect, it } from 'vitest';
import { createWorker } from '../../src/worker/handler.ts';
import { executionContext, upstreamScope } from './helpers.ts';

const calls = Object.fromEntries(
  Array.from({ length: 8 }, (_, i) => [`c${i}`, { upstream: `u${i}`, path: `/delay/100/${i}` }]),
);
const config = {
  upstreams: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`u${i}`, { baseUrl: '${API_URL}' }])),
  endpoints: [{ path: '/v1/wide', calls }],
};

async function run(env: Record<string, unknown>) {
  const handler = createWorker(config, () => {}, () => {});
  const response = await handler.fetch(new Request('http://gateway.test/v1/wide'), env, executionContext());
  return { status: response.status, body: (await response.json()) as { errors: unknown[] } };
}

describe("a request's open fetches on Workers", () => {
  it('are at most 6 by default, across upstreams; the rest wait their turn and succeed', async () => {
    const up = upstreamScope('connection-cap-default');
    const answer = await run({ API_URL: up.base });
    expect(answer.status).toBe(200);
    expect(answer.body.errors).toEqual([]);
    const stats = await up.stats();
    expect(stats.requests).toBe(8);
    expect(stats.peakInFlight).toBe(6);
  });

  it('follow TRIBUTARY_MAX_CONNECTIONS', async () => {
    const up = upstreamScope('connection-cap-2');
    expect((await run({ API_URL: up.base, TRIBUTARY_MAX_CONNECTIONS: '2' })).status).toBe(200);
    expect((await up.stats()).peakInFlight).toBe(2);
  });

  it('refuse a value that is not a positive integer, naming the variable in the log', async () => {
    const logs: string[] = [];
    const handler = createWorker(config, (message) => void logs.push(message), () => {});
    const response = await handler.fetch(new Request('http://gateway.test/v1/wide'), { API_URL: 'http://127.0.0.1:1', TRIBUTARY_MAX_CONNECTIONS: 'six' }, executionContext());
    expect(response.status).toBe(500);
    expect(logs.join('\n')).toContain('TRIBUTARY_MAX_CONNECTIONS must be a positive integer, got "six"');
  });
});
