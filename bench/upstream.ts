/**
 * Loopback upstreams for the benchmark, in their own process so their CPU is not the contenders'.
 *
 *   users, orders, recs   GET /d/<ms>/<anything>: a small JSON body after <ms> ms. The delay is in
 *                         the path, so one process serves the 0 ms and the 20 ms scenarios.
 *   limited               GET /items/<id>: at most LIMITED_CAPACITY requests served at a time, each
 *                         taking LIMITED_MS; the rest wait in a FIFO queue, like a rate-limited API.
 *   faulty                misbehaving upstreams for scenario 6 (resilience). The behaviour and a
 *                         <tag> are in the base path, so each contender (and each of its upstreams)
 *                         has its own counter; whatever follows the tag is ignored:
 *                           /ok/<tag>/...                 200 at once
 *                           /flaky/<rate>/<tag>/...       503 for a share <rate> of requests, else 200
 *                           /down/<tag>/...               503 always (a total outage)
 *                           /slowtail/<p>/<ms>/<tag>/...  a share <p> answered after <ms> ms, the rest
 *                                                         after 2-5 ms
 *                         Which requests fail or are slow comes from a seeded PRNG per tag (the same
 *                         seed for every tag), so each tag sees the same sequence of decisions.
 *                         GET /__stats: { <tag>: { requests, failed, slow } }; /__stats/reset[?seed=n]
 *                         forgets every tag (counters and PRNG), optionally with a new seed.
 *                         No Retry-After is ever sent.
 *
 *   degrading             GET /items/<id>: the model of bench/lib/degrading-model.ts (DEGRADING.md),
 *                         DEFAULT_MODEL: contention past 100 in flight, 503 with Retry-After past 800
 *   queueing              the same model as a polite upstream (QUEUEING_MODEL: 100 at a time, the
 *                         rest queue); both with /__stats and /__stats/reset
 *
 * Prints one JSON line with the base URLs once every listener is up.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_MODEL, QUEUEING_MODEL } from './lib/degrading-model.ts';
import { degradingHandler } from './lib/degrading-upstream.ts';
import { prng } from './lib/prng.ts';

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


/** Every tag starts from this seed; /__stats/reset?seed=n changes it (one per round). */
let currentSeed = 20240601;
interface TagState {
  requests: number;
  /** 503s sent. */
  failed: number;
  /** Answers delayed by the slow tail. */
  slow: number;
  random: () => number;
}
const tags = new Map<string, TagState>();
function tag(name: string): TagState {
  let state = tags.get(name);
  if (!state) tags.set(name, (state = { requests: 0, failed: 0, slow: 0, random: prng(currentSeed) }));
  return state;
}

const FAULTY = /^\/(?:(ok)|(flaky)\/(0(?:\.\d+)?|1)|(down)|(slowtail)\/(0(?:\.\d+)?|1)\/(\d{1,5}))\/([A-Za-z0-9_-]{1,64})(?:\/|$)/;
const ITEM = /\/([0-9A-Za-z-]+)$/;

function faulty(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '';
  if (url === '/__stats') {
    const out = Object.fromEntries([...tags].map(([name, { requests, failed, slow }]) => [name, { requests, failed, slow }]));
    return json(res, 200, JSON.stringify(out));
  }
  if (url.startsWith('/__stats/reset')) {
    const seed = Number(new URL(url, 'http://x').searchParams.get('seed'));
    if (Number.isInteger(seed) && seed > 0) currentSeed = seed;
    tags.clear();
    return json(res, 200, '{}');
  }
  const m = FAULTY.exec(url);
  if (!m) return json(res, 404, '{"error":"use /ok/<tag>/, /flaky/<rate>/<tag>/, /down/<tag>/ or /slowtail/<p>/<ms>/<tag>/"}');
  const state = tag(m[8] as string);
  state.requests++;
  const id = ITEM.exec(url.split('?')[0] as string)?.[1] ?? '0';
  const ok = (): void => json(res, 200, JSON.stringify({ id, name: `Item ${id}`, price: 4.2 }));
  const unavailable = (): void => {
    state.failed++;
    json(res, 503, '{"error":"service unavailable"}');
  };
  if (m[1]) return ok();
  if (m[2]) return state.random() < Number(m[3]) ? unavailable() : ok();
  if (m[4]) return unavailable();
  // slowtail: one draw decides slow or not, another how fast a fast answer is.
  const slow = state.random() < Number(m[6]);
  const fastMs = 2 + 3 * state.random();
  if (slow) state.slow++;
  setTimeout(ok, slow ? Number(m[7]) : fastMs);
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
  faulty: await listen(faulty),
  degrading: await listen(degradingHandler(DEFAULT_MODEL).handle),
  queueing: await listen(degradingHandler(QUEUEING_MODEL).handle),
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
