import type { DemoUrls } from '../services/demo-config.ts';
import type { FetchHandler, Listen, Listening } from './listen.ts';

/** How many item requests the demo catalog serves at once; the rest wait in its queue. */
export const DEMO_CATALOG_CAPACITY = 20;

/** A port per demo upstream. */
export type DemoUrlPorts = Record<keyof DemoUrls, number>;

export interface WebDemoUpstreams {
  urls: DemoUrls;
  /** Most catalog requests the catalog was serving at one time. */
  catalogPeak(): number;
  close(): Promise<void>;
}

const json = (status: number, body: unknown): Response => Response.json(body, { status });

/** Waits `ms`, or less when `signal` aborts (the client went away). */
function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * The built-in demo's four upstreams as Web-standard handlers, the same services the Node demo
 * runs (src/node/demo.ts): users (fast), orders (30 ms), recs (too slow: 2 s, or until the
 * caller leaves) and a catalog that serves at most {@link DEMO_CATALOG_CAPACITY} requests at a
 * time and queues the rest. Each answers `GET /healthz`.
 *
 * @example
 * const { handlers } = demoHandlers();
 * await handlers.users(new Request('http://demo/users/42')); // 200 { id: '42', ... }
 */
export function demoHandlers(): { handlers: Record<keyof DemoUrls, FetchHandler>; catalogPeak(): number } {
  let active = 0;
  let peak = 0;
  const queue: (() => void)[] = [];
  const handlers: Record<keyof DemoUrls, FetchHandler> = {
    users(request) {
      const m = /^\/users\/(\d+)$/.exec(new URL(request.url).pathname);
      const id = m ? Number(m[1]) : 0;
      if (!m || id < 1 || id > 1000) return json(404, { error: 'no such user' });
      return json(200, { id: String(id), name: `User ${id}`, managerId: id === 1 ? null : String(Math.max(1, Math.floor(id / 2))) });
    },
    async orders(request) {
      await wait(30);
      const user = new URL(request.url).searchParams.get('user') ?? '0';
      return json(200, [
        { id: `${user}-1`, total: 42.5 },
        { id: `${user}-2`, total: 9.99 },
      ]);
    },
    async recs(request) {
      // Slower than the gateway's timeout for it: the dashboard shows a partial answer.
      await wait(2000, request.signal);
      return json(200, [{ id: 'r1' }]);
    },
    async catalog(request) {
      const m = /^\/items\/([^/]+)$/.exec(new URL(request.url).pathname);
      if (!m) return json(404, { error: 'not found' });
      if (active >= DEMO_CATALOG_CAPACITY) await new Promise<void>((r) => queue.push(r));
      active++;
      peak = Math.max(peak, active);
      try {
        await wait(25);
        const id = decodeURIComponent(m[1] as string);
        return json(200, { id, name: `Item ${id}`, price: (id.length * 7) % 100 });
      } finally {
        active--;
        queue.shift()?.();
      }
    },
  };
  return { handlers, catalogPeak: () => peak };
}

/**
 * The handler, plus `GET /healthz`: every demo upstream answers a health check, as a real service would.
 *
 * @example
 * await withHealth(handlers.users)(new Request('http://demo/healthz')); // 200 { status: 'ok' }
 */
export const withHealth =
  (handler: FetchHandler): FetchHandler =>
  (request) =>
    new URL(request.url).pathname === '/healthz' ? json(200, { status: 'ok' }) : handler(request);

/**
 * Starts the demo upstreams on loopback, with the entry's own server, on the `ports` given (the
 * examples expect 4001–4004) or on ports the OS chooses. If one cannot start, the ones already
 * started are closed and the listen error (EADDRINUSE, with its port) is thrown.
 *
 * @example
 * const demo = await startWebDemoUpstreams(listenDeno);
 * const plan = compilePlan(demoConfig(demo.urls), env);
 */
export async function startWebDemoUpstreams(listen: Listen, ports: Partial<DemoUrlPorts> = {}): Promise<WebDemoUpstreams> {
  const { handlers, catalogPeak } = demoHandlers();
  const started: Listening[] = [];
  const close = async (): Promise<void> => {
    for (const server of started) server.closeAll();
    await Promise.all(started.map((server) => server.stop()));
  };
  const urls: Partial<DemoUrls> = {};
  try {
    for (const name of ['users', 'orders', 'recs', 'catalog'] as const) {
      const server = await listen(withHealth(handlers[name]), { port: ports[name] ?? 0, hostname: '127.0.0.1' });
      started.push(server);
      urls[name] = `http://127.0.0.1:${server.port}`;
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { urls: urls as DemoUrls, catalogPeak, close };
}
