/**
 * Helpers for the response-contract suite. Runtime-agnostic on purpose: this suite also runs
 * inside workerd, so only `vitest`, `src/` and Web-standard globals (fetch, crypto,
 * performance) are used here; never `node:*`.
 */
import { inject } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import type { TributaryConfigInput } from '../../src/services/config-schema.ts';
import { compilePlan, type Env } from '../../src/services/plan/index.ts';

/** What the test upstream's `__stats` returns (the subset these tests read). */
export interface UpstreamStats {
  requests: number;
  inFlight: number;
  peakInFlight: number;
  aborted: number;
  completed: number;
  byRoute: Record<string, number>;
  byPath: Record<string, number>;
  paths: string[];
  lastHeaders: Record<string, string | string[] | undefined>;
  limited: { active: number; peakActive: number; queued: number };
  log: { path: string; startedAt: number; endedAt?: number; aborted: boolean }[];
}

/** One error entry of the response body (DESIGN section 2). */
export interface ErrorEntry {
  call: string;
  upstream: string;
  code: string;
  message: string;
  attempts: number;
  status?: number;
  item?: number;
}

export interface AggregateBody {
  data: Record<string, any>;
  errors: ErrorEntry[];
  meta: { complete: boolean; durationMs: number };
}

export interface Answer<B = AggregateBody> {
  status: number;
  headers: Headers;
  body: B;
  /** Wall time of the whole gateway request, ms. */
  ms: number;
}

/**
 * A fresh, isolated corner of the shared test upstream: its own stats and `/limited` queue,
 * so tests and files running in parallel never see each other's numbers.
 */
export interface UpstreamScope {
  /** Use as an upstream's `baseUrl`. */
  base: string;
  stats(): Promise<UpstreamStats>;
}

export function upstreamScope(label = 't'): UpstreamScope {
  const root = inject('upstreamUrl');
  const base = `${root}/s/${label}-${crypto.randomUUID()}`;
  return {
    base,
    stats: async () => {
      const response = await fetch(`${base}/__stats`);
      if (!response.ok) throw new Error(`__stats answered ${response.status}`);
      return (await response.json()) as UpstreamStats;
    },
  };
}

/** The transport under test: the runtime's own fetch (Node 24 and workerd both have it). */
const fetcher = (url: string, init: RequestInit & { signal: AbortSignal }): Promise<Response> => globalThis.fetch(url, init);

/**
 * What the tests send requests to: the Hono app in-process, or a gateway in another runtime,
 * whose `ready` settles once it is registered there (so a test's timing starts after that).
 */
export interface Requester {
  request(path: string, init?: RequestInit): Response | Promise<Response>;
  ready?: Promise<void>;
}

/** A gateway under test. */
export interface Gateway {
  app: Requester;
}

/**
 * Builds the gateway in-process over `globalThis.fetch`; or, when the project runs the suite
 * against another runtime (contract-deno, contract-bun: `inject('gatewayHost')`), inside that
 * runtime, called over HTTP (tests/runtimes/contract-host.ts).
 */
export function gateway(config: TributaryConfigInput, env: Env = {}): App | Gateway {
  const host = inject('gatewayHost');
  if (host) return remoteGateway(host, config, env);
  return createApp({ plan: compilePlan(config, env), fetcher, log: () => {} });
}

/** The gateway built from `config` in the contract host at `host`; requests carry its id. */
function remoteGateway(host: string, config: TributaryConfigInput, env: Env): Gateway {
  const ready = (async () => {
    const response = await fetch(`${host}/__host/gateways`, { method: 'POST', body: JSON.stringify({ config, env }), headers: { 'content-type': 'application/json' } });
    const body = (await response.json()) as { id?: string; message?: string };
    if (!body.id) throw new Error(`the contract host refused the config: ${body.message}`);
    return body.id;
  })();
  // Not awaited by everyone: a failure is reported by the first request instead.
  ready.catch(() => {});
  return {
    app: {
      ready: ready.then(() => {}),
      async request(path, init) {
        const headers = new Headers(init?.headers);
        headers.set('x-contract-gateway', await ready);
        return fetch(`${host}${path}`, { ...init, headers, redirect: 'manual' });
      },
    },
  };
}

/** One request to the gateway, body parsed as JSON. */
export async function call<B = AggregateBody>(app: App | Gateway | Requester, path: string, init?: RequestInit): Promise<Answer<B>> {
  const hono = 'app' in app ? app.app : app;
  if ('ready' in hono) await hono.ready;
  const started = performance.now();
  const response = await hono.request(path, init);
  const text = await response.text();
  const ms = performance.now() - started;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${path} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
  return { status: response.status, headers: response.headers, body: body as B, ms };
}

/** Polls `check` until it returns true (bounded), for effects that land after the answer. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 2000, everyMs = 20): Promise<void> {
  const until = performance.now() + timeoutMs;
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    if (performance.now() > until) break;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

/** The body shape every aggregate answer has, whatever its status. */
export function expectAggregateShape(body: AggregateBody): void {
  if (typeof body !== 'object' || body === null) throw new Error('body is not an object');
  const keys = Object.keys(body).sort().join(',');
  if (keys !== 'data,errors,meta') throw new Error(`body keys are ${keys}, expected data,errors,meta`);
  if (!Array.isArray(body.errors)) throw new Error('errors is not an array');
  if (typeof body.meta.complete !== 'boolean' || typeof body.meta.durationMs !== 'number') {
    throw new Error(`meta is ${JSON.stringify(body.meta)}`);
  }
}
