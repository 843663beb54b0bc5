import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { DemoUrls } from '../services/demo-config.ts';
import type { AddressInfo } from 'node:net';

/** How many item requests the demo catalog serves at once; the rest wait in its queue. */
export const CATALOG_CAPACITY = 20;

type Handler = (url: URL, req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface DemoUpstreams {
  urls: DemoUrls;
  /** Most catalog requests the catalog was serving at one time. */
  catalogPeak(): number;
  close(): Promise<void>;
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Where the demo upstreams listen: fixed ports (the examples expect 4001–4004), or 0 for any. */
export interface DemoUpstreamOptions {
  ports?: Partial<Record<keyof DemoUrls, number>>;
}

async function listen(handler: Handler, port: number, started: Server[]): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://demo');
    // Every demo upstream answers a health check, as a real service would.
    if (url.pathname === '/healthz') return json(res, 200, { status: 'ok' });
    Promise.resolve(handler(url, req, res)).catch(() => res.destroy());
  });
  // A fixed port may be taken: the error (EADDRINUSE, with its port) goes to the caller.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  started.push(server);
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function closeAll(servers: Server[]): Promise<void> {
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
}

/**
 * Small upstream services for the built-in demo, on loopback ports chosen by the OS (or the
 * `ports` given): users (fast), orders (30 ms, any path), recs (too slow: 2 s) and a catalog
 * that serves at most {@link CATALOG_CAPACITY} requests at a time and queues the rest, like a
 * real rate-limited API. Each answers `GET /healthz`. If a port is taken, the ones already
 * started are closed and the listen error is thrown.
 *
 * @example
 * const demo = await startDemoUpstreams({ ports: { users: 4001, orders: 4002, recs: 4003, catalog: 4004 } });
 */
export async function startDemoUpstreams(options: DemoUpstreamOptions = {}): Promise<DemoUpstreams> {
  const started: Server[] = [];
  try {
    return await startAll(options.ports ?? {}, started);
  } catch (error) {
    await closeAll(started);
    throw error;
  }
}

async function startAll(ports: NonNullable<DemoUpstreamOptions['ports']>, started: Server[]): Promise<DemoUpstreams> {
  const users = await listen((url, _req, res) => {
    const m = /^\/users\/(\d+)$/.exec(url.pathname);
    const id = m ? Number(m[1]) : 0;
    if (!m || id < 1 || id > 1000) return json(res, 404, { error: 'no such user' });
    json(res, 200, { id: String(id), name: `User ${id}`, managerId: id === 1 ? null : String(Math.max(1, Math.floor(id / 2))) });
  }, ports.users ?? 0, started);
  const orders = await listen(async (url, _req, res) => {
    await wait(30);
    const user = url.searchParams.get('user') ?? '0';
    json(res, 200, [
      { id: `${user}-1`, total: 42.5 },
      { id: `${user}-2`, total: 9.99 },
    ]);
  }, ports.orders ?? 0, started);
  const recs = await listen(async (_url, req, res) => {
    // Slower than the gateway's timeout for it: the dashboard shows a partial answer.
    const closed = new Promise<void>((r) => req.socket.once('close', () => r()));
    await Promise.race([wait(2000), closed]);
    if (!res.destroyed) json(res, 200, [{ id: 'r1' }]);
  }, ports.recs ?? 0, started);
  let active = 0;
  let peak = 0;
  const queue: (() => void)[] = [];
  const catalog = await listen(async (url, _req, res) => {
    const m = /^\/items\/([^/]+)$/.exec(url.pathname);
    if (!m) return json(res, 404, { error: 'not found' });
    if (active >= CATALOG_CAPACITY) await new Promise<void>((r) => queue.push(r));
    active++;
    peak = Math.max(peak, active);
    try {
      await wait(25);
      const id = decodeURIComponent(m[1] as string);
      json(res, 200, { id, name: `Item ${id}`, price: (id.length * 7) % 100 });
    } finally {
      active--;
      queue.shift()?.();
    }
  }, ports.catalog ?? 0, started);
  const servers = [users, orders, recs, catalog].map((s) => s.server);
  return {
    urls: { users: users.url, orders: orders.url, recs: recs.url, catalog: catalog.url },
    catalogPeak: () => peak,
    close: () => closeAll(servers),
  };
}
