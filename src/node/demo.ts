import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { DEMO_CATALOG_CAPACITY, startWebDemoUpstreams, type DemoUrlPorts, type WebDemoUpstreams } from '../serve/demo-upstreams.ts';
import type { Listen } from '../serve/listen.ts';

/** How many item requests the demo catalog serves at once; the rest wait in its queue. */
export const CATALOG_CAPACITY = DEMO_CATALOG_CAPACITY;

export type DemoUpstreams = WebDemoUpstreams;

/** Where the demo upstreams listen: fixed ports (the examples expect 4001–4004), or 0 for any. */
export interface DemoUpstreamOptions {
  ports?: Partial<DemoUrlPorts>;
}

/**
 * A Node server for a Web-standard handler, through @hono/node-server's request listener (which
 * aborts `request.signal` when the client leaves). A taken port rejects with Node's listen error.
 */
const listenNode: Listen = async (handler, { port, hostname }) => {
  let inFlight = 0;
  const listener = getRequestListener(async (request) => {
    inFlight++;
    try {
      return await handler(request);
    } finally {
      inFlight--;
    }
  });
  const server: Server = createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, hostname, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    inFlight: () => inFlight,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
    closeAll: () => server.closeAllConnections(),
  };
};

/**
 * The built-in demo's upstreams (src/serve/demo-upstreams.ts, the same services the Deno and Bun
 * entries run) on Node servers, on loopback ports chosen by the OS or the `ports` given: users
 * (fast), orders (30 ms, any path), recs (too slow: 2 s) and a catalog that serves at most
 * {@link CATALOG_CAPACITY} requests at a time and queues the rest, like a real rate-limited API.
 * Each answers `GET /healthz`. If a port is taken, the ones already started are closed and the
 * listen error is thrown.
 *
 * @example
 * const demo = await startDemoUpstreams({ ports: { users: 4001, orders: 4002, recs: 4003, catalog: 4004 } });
 */
export function startDemoUpstreams(options: DemoUpstreamOptions = {}): Promise<DemoUpstreams> {
  return startWebDemoUpstreams(listenNode, options.ports);
}
