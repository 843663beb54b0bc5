/**
 * The gateway in-process, without sockets: the app of checkout `root` built as the Node entry
 * builds it (the W3C propagator, a shutdown cutoff, load shedding, and where the checkout has them
 * compression and the slow-loop routes), answering scenario 2's endpoint over a transport that
 * answers at once from memory, its bodies read whole as the Node transport's are. Used by
 * bench/lib/in-process-load.ts (instructions per request) and bench/tracing-cost.ts (what tracing
 * adds per request).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Hono } from 'hono';
import { tributaryConfig } from './contenders.ts';

const CONNECTIONS = 50;
const noop = (): void => {};

const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
/** What the users, orders and recs upstreams answer, as bytes: the bench's upstream's answers. */
const UPSTREAM_BODIES = [
  encode({ id: '1', name: 'Ada Lovelace', email: 'ada@example.com', tier: 'gold' }),
  encode([{ id: 'o1', total: 12.5 }, { id: 'o2', total: 8 }, { id: 'o3', total: 99.99 }]),
  encode([{ sku: 'a' }, { sku: 'b' }, { sku: 'c' }, { sku: 'd' }]),
];

export interface InProcessGateway {
  /** Builds an app; `tracer` given: spans recorded through it, else no spans (no SDK). */
  app(tracer?: unknown): { fetch(request: Request): Promise<Response> };
}

/**
 * Loads checkout `root`'s modules and registers the W3C propagator (as the Node entry does).
 *
 * @example
 * const gateway = await inProcessGateway('/tmp/before');
 * await drive(gateway.app(), 1000);
 */
export interface InProcessOptions {
  /** Awaited by every upstream call before it answers: holds calls in flight (bench/inflight-memory.ts). */
  hold?: () => Promise<void>;
  /** Load shedding's limit of requests in flight. Default 128. */
  maxInFlight?: number;
}

export async function inProcessGateway(root: string, options: InProcessOptions = {}): Promise<InProcessGateway> {
  // Older checkouts kept the compiler in one file.
  const planModule = existsSync(join(root, 'src/services/plan/index.ts')) ? 'src/services/plan/index.ts' : 'src/services/plan.ts';
  const { compilePlan } = await import(join(root, planModule));
  const { createApp } = await import(join(root, 'src/app.ts'));
  const { createTelemetry } = await import(join(root, 'src/services/telemetry.ts'));
  const requireHere = createRequire(join(root, 'package.json'));
  const { propagation } = requireHere('@opentelemetry/api');
  const core = requireHere('@opentelemetry/core');
  propagation.setGlobalPropagator(new core.CompositePropagator({ propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()] }));

  // Scenario 2's config: the three upstreams behind GET /v1/agg/:id, on ports the fetcher tells apart.
  const base = (port: number): string => `http://127.0.0.1:${port}/d/0`;
  const plan = compilePlan(tributaryConfig({ USERS_URL: base(1), ORDERS_URL: base(2), RECS_URL: base(3), LIMITED_URL: base(4) }, []));
  const bodies = UPSTREAM_BODIES;
  const headers = { get: (name: string) => (name === 'content-type' ? 'application/json' : null) };
  const { hold } = options;
  // Keeps a per-try timeout as the Node transport does (a checkout that hands them over): a timer
  // armed with the request and cleared once the response has arrived whole.
  async function fetcher(url: string, init?: { timeout?: { ms: number } | undefined }) {
    const timer = init?.timeout ? setTimeout(noop, init.timeout.ms) : undefined;
    await (hold ? hold() : null);
    clearTimeout(timer);
    const body = bodies[Number(url.charAt(17)) - 1] as Uint8Array; // http://127.0.0.1:<1|2|3>/...
    // Read as the Node transport's bodies are: whole, in one `readAll` (older checkouts iterate).
    return {
      status: 200,
      headers,
      body: {
        readAll: (maxBytes: number) => Promise.resolve(body.byteLength > maxBytes ? undefined : body),
        async *[Symbol.asyncIterator]() {
          yield body;
        },
        cancel: async () => {},
      },
    };
  }
  // What later checkouts add in the Node entry, when this one has it: the compression middleware and
  // the routes tracker of the slow-loop log.
  const optional = async (file: string, name: string): Promise<unknown> =>
    existsSync(join(root, file)) ? (await import(join(root, file)))[name] : undefined;
  const compressor = await optional('src/node/compression.ts', 'nodeCompressor');
  const ServedRoutes = (await optional('src/routes/served-routes.ts', 'ServedRoutes')) as (new () => unknown) | undefined;
  fetcher.keepsTimeouts = true;
  function build(tracer?: unknown) {
    return createApp({
      ...(compressor ? { compressor } : {}),
      ...(ServedRoutes ? { servedRoutes: new ServedRoutes() } : {}),
      plan,
      fetcher,
      telemetry: tracer ? createTelemetry({ tracer, metrics: false }) : createTelemetry({ traces: false, metrics: false }),
      cutoff: new AbortController().signal,
      admission: { maxInFlight: options.maxInFlight ?? 128 },
      readiness: { draining: false },
      maxRequestBodyBytes: 1 << 20,
      log: () => {},
    }).app;
  }
  return { app: build };
}

/**
 * bench/baselines/tuned.ts's route in-process: Hono, `Promise.all` of the three calls, a timeout
 * signal per call, each answer's bytes decoded and parsed, `c.json` of the three, over the same
 * upstream answers from memory as {@link inProcessGateway}'s. What a hand-written handler spends
 * on the same request, without the gateway's work.
 *
 * @example
 * await drive(tunedLikeApp(), 1000);
 */
export function tunedLikeApp(options: Pick<InProcessOptions, 'hold'> = {}): { fetch(request: Request): Promise<Response> } {
  const { hold } = options;
  const decoder = new TextDecoder();
  async function getJson(index: number, signal: AbortSignal): Promise<unknown> {
    await (hold ? hold() : null);
    if (signal.aborted) throw signal.reason;
    return JSON.parse(decoder.decode(UPSTREAM_BODIES[index]));
  }
  const app = new Hono();
  app.get('/v1/agg/:id', async (c) => {
    c.req.param('id');
    const [user, orders, recs] = await Promise.all([0, 1, 2].map((index) => getJson(index, AbortSignal.timeout(1000))));
    return c.json({ data: { user, orders, recs } });
  });
  return { fetch: async (request) => app.fetch(request) };
}

/**
 * `app` served by @hono/node-server on 127.0.0.1, with a `fetch` that sends its request over one of
 * CONNECTIONS keep-alive connections (an undici Pool in this process): {@link drive} then measures
 * the server's request and response handling too.
 */
export async function overSockets(app: { fetch(request: Request): Promise<Response> }) {
  const { serve } = await import('@hono/node-server');
  const { Pool } = await import('undici');
  const server = serve({ fetch: (request: Request) => app.fetch(request), port: 0, hostname: '127.0.0.1' });
  await new Promise((resolve) => server.once('listening', resolve));
  const pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: CONNECTIONS });
  return {
    async fetch(request: Request): Promise<Response> {
      const url = new URL(request.url);
      const res = await pool.request({ path: url.pathname + url.search, method: 'GET' });
      return new Response(await res.body.text(), { status: res.statusCode });
    },
    async close(): Promise<void> {
      await pool.close();
      server.close();
    },
  };
}

/** Sends `count` requests for /v1/agg/1, 50 at a time; throws on an answer other than 200. */
export async function drive(app: { fetch(request: Request): Promise<Response> }, count: number): Promise<void> {
  let sent = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (sent++ < count) {
        const res: Response = await app.fetch(new Request('http://127.0.0.1:8787/v1/agg/1'));
        if (res.status !== 200) throw new Error(`answered ${res.status}: ${await res.text()}`);
        await res.text();
      }
    }),
  );
}

