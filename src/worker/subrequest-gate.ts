import { Hono, type Context } from 'hono';
import type { CompiledEndpoint, Plan } from '../services/plan.ts';
import type { TemplateContext } from '../services/template.ts';
import { countDependsOnInput, countSubrequests, fixedSubrequests, type SubrequestCount } from './subrequests.ts';

export interface GateOptions {
  /** Most upstream requests one client request may make. */
  limit: number;
  /** The app's own body limit: bigger bodies are left for the app to refuse. */
  maxRequestBodyBytes: number;
  log?: (message: string, error: unknown) => void;
}

export interface SubrequestGate {
  /** A 422 when the request would need more subrequests than the limit; else `forward()`'s answer. */
  handle(request: Request, forward: () => Promise<Response>): Promise<Response>;
}

type GateEnv = { Bindings: { forward: () => Promise<Response> } };

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Refuses, before any upstream call, a request whose plan could exceed the Workers subrequest
 * cap, instead of letting the platform fail it half-way. Only endpoints that can exceed the
 * limit get a route here; everything else goes straight to the app. Input the app would refuse
 * (invalid fields, too many elements) is left to the app, so its 400 wins over this 422.
 * Holds no per-request state: one gate serves every request of an isolate.
 *
 * @example
 * const gate = createSubrequestGate(plan, { limit: 50, maxRequestBodyBytes: 1 << 20 });
 * return gate.handle(request, () => app.fetch(request));
 */
export function createSubrequestGate(plan: Plan, options: GateOptions): SubrequestGate {
  const { limit } = options;
  const log = options.log ?? ((message, error) => console.error(message, error));
  const gate = new Hono<GateEnv>();
  let routes = 0;
  for (const endpoint of plan.endpoints) {
    if (!countDependsOnInput(endpoint) && fixedSubrequests(endpoint).total <= limit) continue;
    routes++;
    gate.on(endpoint.method, endpoint.path, async function checkSubrequests(c) {
      const input = await readInput(c, endpoint, options.maxRequestBodyBytes);
      if (!input) return c.env.forward();
      const count = countSubrequests(endpoint, input);
      if (count.total <= limit || exceedsMaxItems(endpoint, count)) return c.env.forward();
      return refuse(c, endpoint, count, limit);
    });
  }
  gate.notFound((c) => c.env.forward());
  gate.onError((error, c) => {
    // A fault in the gate must not take the endpoint down: the app still answers.
    log(`subrequest gate failed for ${c.req.method} ${new URL(c.req.url).pathname}; passing the request on`, error);
    return c.env.forward();
  });
  return {
    handle: async (request, forward) => (routes === 0 ? forward() : gate.fetch(request, { forward })),
  };
}

/** The engine answers 400 when an input array has more elements than `maxItems`: let it. */
function exceedsMaxItems(endpoint: CompiledEndpoint, count: SubrequestCount): boolean {
  return count.calls.some((c, i) => c.rule === 'each-input' && c.count > (endpoint.calls[i]?.maxItems ?? Infinity));
}

function refuse(c: Context<GateEnv>, endpoint: CompiledEndpoint, count: SubrequestCount, limit: number): Response {
  const inbound = c.req.header('x-request-id');
  const requestId = inbound && SAFE_ID.test(inbound) ? inbound : crypto.randomUUID();
  const body = {
    error: {
      code: 'too_many_subrequests',
      message: `${endpoint.id} would make up to ${count.total} upstream requests; this deployment allows ${limit} per request`,
      subrequests: count.total,
      limit,
      calls: count.calls.filter((call) => call.count > 0).map(({ call, count: n, rule }) => ({ call, count: n, rule })),
    },
  };
  return c.json(body, 422, { 'x-request-id': requestId, 'cache-control': 'no-store' });
}

/**
 * The validated input fields the count needs, or undefined when the app will refuse the input
 * anyway. Parsed as the route layer parses it (`?ids=1,2` and `?ids=1&ids=2` are both lists).
 */
async function readInput(c: Context<GateEnv>, endpoint: CompiledEndpoint, maxBodyBytes: number): Promise<TemplateContext | undefined> {
  const params = endpoint.input.params.safeParse(c.req.param());
  if (!params.success) return undefined;
  const raw: Record<string, unknown> = {};
  for (const [name, values] of Object.entries(c.req.queries())) {
    raw[name] = endpoint.input.arrayQuery.has(name) ? values.flatMap((v) => v.split(',')).filter((v) => v !== '') : values[0];
  }
  const query = endpoint.input.query.safeParse(raw);
  if (!query.success) return undefined;
  let body: Record<string, unknown> = {};
  const countsBody = endpoint.calls.some((call) => call.each?.source === 'body');
  if (endpoint.input.body && countsBody) {
    const json = await readJson(c.req.raw, maxBodyBytes);
    const parsed = endpoint.input.body.safeParse(json);
    if (!parsed.success) return undefined;
    body = parsed.data as Record<string, unknown>;
  }
  return {
    params: params.data as Record<string, unknown>,
    query: query.data as Record<string, unknown>,
    body,
    calls: {},
  };
}

/** Reads a copy of the body (the app reads the original), at most `limit` bytes; undefined past it or on bad JSON. */
async function readJson(request: Request, limit: number): Promise<unknown> {
  const stream = request.clone().body;
  if (!stream) return undefined;
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => {});
        return undefined;
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const decoder = new TextDecoder();
  try {
    return JSON.parse(chunks.map((chunk) => decoder.decode(chunk, { stream: true })).join('') + decoder.decode()) as unknown;
  } catch {
    return undefined;
  }
}
