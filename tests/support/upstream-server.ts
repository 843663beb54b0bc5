/**
 * One configurable loopback upstream for tests (Node only). Its behaviour is chosen by the
 * request path, so a test in any runtime can drive it over plain HTTP.
 *
 * Scopes: any route may be prefixed with `/s/<scope>`; each scope keeps its own stats and its
 * own `/limited` queue, so test files running in parallel against one server never see each
 * other's numbers. Give an upstream `baseUrl: ${url}/s/<unique id>` and read
 * `${url}/s/<unique id>/__stats`. Paths without a prefix use the scope `default`.
 *
 * Routes (after the optional scope prefix):
 *   /json/:id           200, echoes { id, method, path, query, headers, body }
 *   /delay/:ms[/:id]    the same echo after `ms` (+ `delayedMs`); stops early if the client leaves
 *   /hang[/:id]         never answers; the client leaving is counted in `aborted`
 *   /status/:code       answers that status with { status } (204/304: no body)
 *   /reset              headers and part of the body, then destroys the socket
 *   /badjson            200 application/json that is not JSON
 *   /slowbody/:ms       headers at once, the JSON body only after `ms`
 *   /huge/:bytes        a valid JSON body of exactly that many bytes; `?chunked=1` drops content-length
 *   /limited/:id        serves at most `?cap=` (default: the server's `limitedCapacity`) at a time,
 *                       each taking `?ms=` (default 20); the rest wait in a FIFO queue
 *   /flaky/:key         per scope and key, the first `?fails=` (default 2) requests answer `?status=`
 *                       (default 503) with { status, attempt }, the later ones 200 with the echo and
 *                       `attempt` (1-based count of this key's requests)
 *   /down[/:id]         always `?status=` (default 503) with { status, attempt } (`attempt` counted per id)
 *   /ratelimited/:key   per scope and key, the first `?fails=` (default 1) requests answer 429 with
 *                       `Retry-After: ?retryAfter=` (default 1, seconds), then 200 echo with `attempt`
 *   /slowtail/:key      per scope and key, request number n (0-based) takes `?ms=` (default 300)
 *                       when n % `?every=` (default 20) === `?offset=` (default 0), so the first is
 *                       slow; the others answer at once; the echo carries `attempt` and `slow`;
 *                       stops early if the client leaves (counted in `aborted`)
 *   A failing answer of /flaky and /down also carries `Retry-After` when `?retryAfter=` is given.
 *   GET  /__stats       global stats; /s/<scope>/__stats for one scope
 *   POST /__reset       zero every scope (stats and per-key counters); /s/<scope>/__reset for one scope
 * Every answering route also accepts `?delay=ms` before it answers.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface UpstreamOptions {
  /** Default capacity of `/limited`. */
  limitedCapacity?: number;
}

/** One request as the upstream saw it, for ordering asserts (server clock, ms). */
export interface LogEntry {
  path: string;
  startedAt: number;
  endedAt?: number;
  aborted: boolean;
}

export interface UpstreamStats {
  requests: number;
  inFlight: number;
  peakInFlight: number;
  /** Requests whose client left before the answer was complete. */
  aborted: number;
  /** Requests answered in full. */
  completed: number;
  /** Requests per decoded route name (`json`, `delay`, `hang`, ...). */
  byRoute: Record<string, number>;
  /** Requests per raw path (without the scope prefix and the query). */
  byPath: Record<string, number>;
  /** Raw request targets as received (path and query, scope prefix included), last 500. */
  paths: string[];
  /** Headers of the latest request. */
  lastHeaders: Record<string, string | string[] | undefined>;
  /** `/limited`: served at once now and at most, and waiting now. */
  limited: { active: number; peakActive: number; queued: number };
  /** Per request, last 500. */
  log: LogEntry[];
}

export interface Upstream {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  /** Stats of one scope, or summed over all scopes. */
  stats(scope?: string): UpstreamStats;
  reset(scope?: string): void;
  close(): Promise<void>;
}

const KEEP = 500;
const ECHOED_HEADERS = /^(x-|accept$|authorization$|traceparent$|host$|content-type$|user-agent$)/;

interface Scope {
  stats: UpstreamStats;
  queue: (() => void)[];
  /** Requests seen so far per `route/key`, for /flaky, /ratelimited and /slowtail. */
  counters: Map<string, number>;
}

const emptyStats = (): UpstreamStats => ({
  requests: 0,
  inFlight: 0,
  peakInFlight: 0,
  aborted: 0,
  completed: 0,
  byRoute: {},
  byPath: {},
  paths: [],
  lastHeaders: {},
  limited: { active: 0, peakActive: 0, queued: 0 },
  log: [],
});

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves after `ms`, or early when the response closes (the client left). */
function waitOrClose(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    res.once('close', done);
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  if (status === 204 || status === 304) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** `?name=` as a whole number >= 0, or the default when absent or not one. */
function intParam(params: URLSearchParams, name: string, fallback: number): number {
  const text = params.get(name);
  const value = text === null || text === '' ? Number.NaN : Number(text);
  return Number.isSafeInteger(value) && value >= 0 ? value : fallback;
}

/** A status for a failing answer: `?status=` when it is an error status, else the default. */
function errorStatus(params: URLSearchParams, fallback: number): number {
  const status = intParam(params, 'status', fallback);
  return status >= 400 && status <= 599 ? status : fallback;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 1024 * 1024) break;
    chunks.push(chunk);
  }
  if (chunks.length === 0) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A JSON document of exactly `bytes` bytes (at least 10): {"pad":"xxx..."}. */
function* hugeChunks(bytes: number, chunk = 16 * 1024): Generator<string> {
  const pad = Math.max(0, bytes - '{"pad":""}'.length);
  yield '{"pad":"';
  for (let left = pad; left > 0; left -= chunk) yield 'x'.repeat(Math.min(chunk, left));
  yield '"}';
}

/**
 * Starts the upstream on 127.0.0.1, on a port the OS picks.
 *
 * @example
 * const upstream = await startUpstream();
 * const base = `${upstream.url}/s/my-test`;    // baseUrl of an upstream in a gateway config
 * ...; expect(upstream.stats('my-test').peakInFlight).toBeLessThanOrEqual(4);
 * await upstream.close();
 */
export async function startUpstream(options: UpstreamOptions = {}): Promise<Upstream> {
  const defaultCapacity = options.limitedCapacity ?? 4;
  const scopes = new Map<string, Scope>();
  const scopeOf = (name: string): Scope => {
    let scope = scopes.get(name);
    if (!scope) {
      scope = { stats: emptyStats(), queue: [], counters: new Map() };
      scopes.set(name, scope);
    }
    return scope;
  };

  const sum = (): UpstreamStats => {
    const total = emptyStats();
    for (const { stats } of scopes.values()) {
      total.requests += stats.requests;
      total.inFlight += stats.inFlight;
      total.peakInFlight = Math.max(total.peakInFlight, stats.peakInFlight);
      total.aborted += stats.aborted;
      total.completed += stats.completed;
      for (const [k, v] of Object.entries(stats.byRoute)) total.byRoute[k] = (total.byRoute[k] ?? 0) + v;
      for (const [k, v] of Object.entries(stats.byPath)) total.byPath[k] = (total.byPath[k] ?? 0) + v;
      total.paths.push(...stats.paths);
      total.log.push(...stats.log);
      total.limited.active += stats.limited.active;
      total.limited.queued += stats.limited.queued;
      total.limited.peakActive = Math.max(total.limited.peakActive, stats.limited.peakActive);
    }
    total.paths = total.paths.slice(-KEEP);
    total.log = total.log.slice(-KEEP);
    return total;
  };
  // Peak over all scopes at once, kept apart because it is not the max of the scopes' peaks.
  let globalInFlight = 0;
  let globalPeak = 0;
  const stats = (scope?: string): UpstreamStats => {
    if (scope !== undefined) return structuredClone(scopeOf(scope).stats);
    return { ...sum(), inFlight: globalInFlight, peakInFlight: globalPeak };
  };
  const reset = (scope?: string): void => {
    if (scope !== undefined) {
      const s = scopeOf(scope);
      // Requests still open keep being counted as in flight.
      s.stats = { ...emptyStats(), inFlight: s.stats.inFlight, limited: { ...emptyStats().limited, active: s.stats.limited.active, queued: s.stats.limited.queued } };
      s.counters.clear();
      return;
    }
    for (const name of scopes.keys()) reset(name);
    globalPeak = globalInFlight;
  };

  const server = createServer((req, res) => {
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const rawPath = q === -1 ? target : target.slice(0, q);
    const url = new URL(target.startsWith('/') ? target : `/${target}`, 'http://upstream');
    let segments = rawPath.split('/').slice(1);
    let scopeName = 'default';
    if (segments[0] === 's' && segments.length >= 2) {
      scopeName = decode(segments[1] as string);
      segments = segments.slice(2);
    }
    const route = segments[0] ?? '';

    if (route === '__stats' && req.method === 'GET') {
      return send(res, 200, rawPath.startsWith('/s/') ? stats(scopeName) : stats());
    }
    if (route === '__reset' && req.method === 'POST') {
      req.resume();
      reset(rawPath.startsWith('/s/') ? scopeName : undefined);
      return send(res, 200, { ok: true });
    }

    const scope = scopeOf(scopeName);
    const s = scope.stats;
    const localPath = `/${segments.join('/')}`;
    s.requests++;
    s.byRoute[route] = (s.byRoute[route] ?? 0) + 1;
    s.byPath[localPath] = (s.byPath[localPath] ?? 0) + 1;
    s.paths.push(target);
    if (s.paths.length > KEEP) s.paths.shift();
    s.lastHeaders = { ...req.headers };
    s.inFlight++;
    s.peakInFlight = Math.max(s.peakInFlight, s.inFlight);
    globalInFlight++;
    globalPeak = Math.max(globalPeak, globalInFlight);
    const entry: LogEntry = { path: target, startedAt: performance.now(), aborted: false };
    s.log.push(entry);
    if (s.log.length > KEEP) s.log.shift();

    let selfDestroyed = false;
    res.once('close', () => {
      // `scope.stats` may have been replaced by a reset since: count in the current one.
      const now = scope.stats;
      now.inFlight = Math.max(0, now.inFlight - 1);
      globalInFlight--;
      entry.endedAt = performance.now();
      if (res.writableFinished) now.completed++;
      else if (!selfDestroyed) {
        now.aborted++;
        entry.aborted = true;
      }
    });

    const handle = async (): Promise<void> => {
      const delay = Number(url.searchParams.get('delay') ?? 0);
      if (delay > 0) await waitOrClose(delay, res);
      if (res.destroyed) return;
      const echo = async (id: string): Promise<Record<string, unknown>> => {
        const query: Record<string, string | string[]> = {};
        for (const key of new Set(url.searchParams.keys())) {
          const all = url.searchParams.getAll(key);
          query[key] = all.length === 1 ? (all[0] as string) : all;
        }
        const headers: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(req.headers)) if (ECHOED_HEADERS.test(k)) headers[k] = v;
        const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req);
        return { id, method: req.method, path: target, query, headers, ...(body === undefined ? {} : { body }) };
      };

      /** Counts this request for its `route/key` and returns its 1-based number. */
      const nth = (): number => {
        const key = `${route}/${segments.slice(1).join('/')}`;
        const n = (scope.counters.get(key) ?? 0) + 1;
        scope.counters.set(key, n);
        return n;
      };
      const retryAfter = url.searchParams.get('retryAfter');
      const retryAfterHeader: Record<string, string> = retryAfter === null ? {} : { 'retry-after': retryAfter };

      switch (route) {
        case 'flaky': {
          const attempt = nth();
          if (attempt <= intParam(url.searchParams, 'fails', 2)) {
            const status = errorStatus(url.searchParams, 503);
            return send(res, status, { status, attempt }, retryAfterHeader);
          }
          return send(res, 200, { ...(await echo(decode(segments.slice(1).join('/')))), attempt });
        }
        case 'down': {
          const status = errorStatus(url.searchParams, 503);
          return send(res, status, { status, attempt: nth() }, retryAfterHeader);
        }
        case 'ratelimited': {
          const attempt = nth();
          if (attempt <= intParam(url.searchParams, 'fails', 1)) {
            return send(res, 429, { status: 429, attempt }, { 'retry-after': retryAfter ?? '1' });
          }
          return send(res, 200, { ...(await echo(decode(segments.slice(1).join('/')))), attempt });
        }
        case 'slowtail': {
          const attempt = nth();
          const every = Math.max(1, intParam(url.searchParams, 'every', 20));
          const slow = (attempt - 1) % every === intParam(url.searchParams, 'offset', 0);
          const ms = intParam(url.searchParams, 'ms', 300);
          if (slow) await waitOrClose(ms, res);
          return send(res, 200, { ...(await echo(decode(segments.slice(1).join('/')))), attempt, slow, ...(slow ? { delayedMs: ms } : {}) });
        }
        case 'json':
          return send(res, 200, await echo(decode(segments.slice(1).join('/'))));
        case 'delay': {
          const ms = Number(segments[1]);
          await waitOrClose(Number.isFinite(ms) ? ms : 0, res);
          return send(res, 200, { ...(await echo(decode(segments.slice(2).join('/')))), delayedMs: ms });
        }
        case 'hang':
          return; // the 'close' handler counts the client leaving
        case 'status': {
          const code = Number(segments[1]);
          return send(res, code >= 200 && code <= 599 ? code : 400, { status: code });
        }
        case 'reset': {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': 4096 });
          res.write('{"partial":"');
          res.flushHeaders();
          await wait(20);
          selfDestroyed = true;
          res.socket?.destroy();
          return;
        }
        case 'slowbody': {
          const ms = Number(segments[1]) || 0;
          const text = JSON.stringify({ slow: true, ms });
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
          res.write(text.slice(0, 5));
          await waitOrClose(ms, res);
          if (!res.destroyed) res.end(text.slice(5));
          return;
        }
        case 'badjson': {
          const text = '{"this is": not json';
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
          res.end(text);
          return;
        }
        case 'huge': {
          const bytes = Math.max(10, Math.min(Number(segments[1]) || 0, 64 * 1024 * 1024));
          const chunked = url.searchParams.get('chunked') === '1';
          res.writeHead(200, { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': bytes }) });
          for (const chunk of hugeChunks(bytes)) {
            if (res.destroyed) return;
            if (!res.write(chunk)) await new Promise<void>((r) => {
              const go = (): void => {
                res.off('drain', go);
                res.off('close', go);
                r();
              };
              res.once('drain', go);
              res.once('close', go);
            });
          }
          if (!res.destroyed) res.end();
          return;
        }
        case 'limited': {
          const cap = Math.max(1, Number(url.searchParams.get('cap')) || defaultCapacity);
          const ms = Number(url.searchParams.get('ms') ?? 20);
          const lim = () => scope.stats.limited;
          if (lim().active >= cap) {
            lim().queued++;
            const admitted = await new Promise<boolean>((resolve) => {
              const go = (): void => {
                res.off('close', leave);
                resolve(true);
              };
              const leave = (): void => {
                const i = scope.queue.indexOf(go);
                if (i !== -1) scope.queue.splice(i, 1);
                resolve(false);
              };
              scope.queue.push(go);
              res.once('close', leave);
            });
            lim().queued = Math.max(0, lim().queued - 1);
            if (!admitted) return;
          }
          lim().active++;
          lim().peakActive = Math.max(lim().peakActive, lim().active);
          try {
            await waitOrClose(ms, res);
            send(res, 200, await echo(decode(segments.slice(1).join('/'))));
          } finally {
            lim().active = Math.max(0, lim().active - 1);
            scope.queue.shift()?.();
          }
          return;
        }
        default:
          return send(res, 404, { error: `no route ${localPath}` });
      }
    };
    handle().catch(() => {
      selfDestroyed = true;
      res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    stats,
    reset,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
