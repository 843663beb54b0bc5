import { Agent, Pool, request } from 'undici';
import type { Plan } from '../services/plan/types.ts';
import type { Fetcher, UpstreamBody, UpstreamResponse } from '../services/upstream/index.ts';

export interface NodeTransportOptions {
  /**
   * Connections kept per upstream origin. Default 128; `node.ts` passes
   * {@link connectionsByOrigin}, so the bulkheads, not the pool, limit a fan-out.
   */
  connectionsFor?: (origin: string) => number;
  keepAliveTimeoutMs?: number;
}

/**
 * One undici Agent for the whole process: keep-alive connections reused across requests, one
 * pool per origin. Calls go through undici's `request`, which skips the WHATWG fetch layer (its
 * Request/Response/Headers objects and web streams), the largest CPU cost per call in profiles.
 */
export function createNodeTransport(options: NodeTransportOptions = {}): { fetcher: Fetcher; close: () => Promise<void> } {
  const connectionsFor = options.connectionsFor ?? (() => 128);
  const agent = new Agent({
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 10_000,
    keepAliveMaxTimeout: 60_000,
    factory: (origin, opts) => new Pool(origin, { ...opts, connections: connectionsFor(String(origin)) }),
  });
  const fetcher: Fetcher = async (url, init): Promise<UpstreamResponse> => {
    const response = await request(url, {
      method: init.method as 'GET',
      headers: init.headers,
      ...(init.body === undefined ? {} : { body: init.body }),
      signal: init.signal,
      dispatcher: agent,
    });
    const { headers, body } = response;
    // An abort or a cancel destroys the body with an error event; with nobody reading at that
    // moment, an unheard 'error' would crash the process. Readers still get the error.
    body.on('error', ignore);
    const stream: UpstreamBody = {
      [Symbol.asyncIterator]: () => body[Symbol.asyncIterator](),
      cancel: async () => {
        body.destroy();
      },
    };
    return {
      status: response.statusCode,
      headers: {
        get: (name) => {
          const value = headers[name.toLowerCase()];
          return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
        },
      },
      body: stream,
    };
  };
  return { fetcher, close: () => agent.close() };
}

function ignore(): void {}

/**
 * Per origin, the sum of the bulkheads of the upstreams there: each may fill its own bulkhead
 * at the same time, and a smaller pool would queue their calls inside undici, unseen.
 *
 * @example
 * createNodeTransport({ connectionsFor: connectionsByOrigin(plan) });
 */
export function connectionsByOrigin(plan: Plan): (origin: string) => number {
  const byOrigin = new Map<string, number>();
  for (const u of plan.upstreams.values()) byOrigin.set(u.origin, (byOrigin.get(u.origin) ?? 0) + u.maxConcurrency);
  return (origin) => byOrigin.get(new URL(origin).origin) ?? 128;
}
