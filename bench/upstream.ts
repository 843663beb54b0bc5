/**
 * Loopback upstreams for the benchmark, in their own process so their CPU is not the contenders'.
 *
 *   users, orders, recs   GET /d/<ms>/<anything>: a small JSON body after <ms> ms. The delay is in
 *                         the path, so one process serves the 0 ms and the 20 ms scenarios.
 *   limited               GET /items/<id>: at most LIMITED_CAPACITY requests served at a time, each
 *                         taking LIMITED_MS; the rest wait in a FIFO queue, like a rate-limited API.
 *
 * Prints one JSON line with the four base URLs once every listener is up.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const capacity = Number(process.env.LIMITED_CAPACITY ?? 100);
const serviceMs = Number(process.env.LIMITED_MS ?? 20);

function json(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Bodies of a few hundred bytes, so merging and serialising cost something but not much. */
function body(service: string, id: string): string {
  if (service === 'users') return JSON.stringify({ id, name: `User ${id}`, email: `user${id}@example.com`, plan: 'pro' });
  if (service === 'orders') {
    return JSON.stringify([1, 2, 3].map((n) => ({ id: `${id}-${n}`, total: n * 9.99, currency: 'EUR', status: 'shipped' })));
  }
  return JSON.stringify([1, 2, 3, 4].map((n) => ({ id: `r${n}`, title: `Recommended ${n} for ${id}`, score: 1 / n })));
}

const DELAYED = /^\/d\/(\d{1,5})\/(?:[^/?]+\/)*([^/?]+)/;

function delayed(service: string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const m = DELAYED.exec(req.url ?? '');
    if (!m) return json(res, 404, '{"error":"use /d/<ms>/..."}');
    const ms = Number(m[1]);
    const text = body(service, m[2] as string);
    if (ms === 0) return json(res, 200, text);
    setTimeout(() => json(res, 200, text), ms);
  };
}

let active = 0;
/** Requests received and not yet answered (served + queued), and its peak since the last reset. */
let inflight = 0;
let peakInflight = 0;
const queue: (() => void)[] = [];

function limited(req: IncomingMessage, res: ServerResponse): void {
  const m = /^\/items\/([0-9A-Za-z-]+)$/.exec(req.url ?? '');
  if (req.url === '/stats') return json(res, 200, JSON.stringify({ active, inflight, peakInflight, queued: queue.length }));
  if (req.url === '/stats/reset') {
    peakInflight = inflight;
    return json(res, 200, '{}');
  }
  if (!m) return json(res, 404, '{"error":"not found"}');
  inflight++;
  peakInflight = Math.max(peakInflight, inflight);
  const serve = (): void => {
    active++;
    setTimeout(() => {
      active--;
      inflight--;
      queue.shift()?.();
      json(res, 200, JSON.stringify({ id: m[1], name: `Item ${m[1]}`, price: 4.2 }));
    }, serviceMs);
  };
  if (active < capacity) serve();
  else queue.push(serve);
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer({ keepAliveTimeout: 30_000 }, handler);
  server.maxHeadersCount = 100;
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const listeners = {
  users: await listen(delayed('users')),
  orders: await listen(delayed('orders')),
  recs: await listen(delayed('recs')),
  limited: await listen(limited),
};
console.log(JSON.stringify(Object.fromEntries(Object.entries(listeners).map(([k, v]) => [k, v.url]))));

const stop = (): void => {
  for (const { server } of Object.values(listeners)) {
    server.closeAllConnections();
    server.close();
  }
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
