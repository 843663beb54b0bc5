/**
 * The contenders: Tributary (src/node.ts with a generated config) and the hand-written baselines,
 * each in its own process, each answering GET /v1/agg/:id with { data: { user, orders, recs } }.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, spawnCommand, spawnNode, waitForHttp, type NodeChild } from './processes.ts';
import { runtimeCommand, type OtherRuntime } from './runtimes.ts';

export const BENCH_DIR = resolve(import.meta.dirname, '..');
const ROOT = resolve(BENCH_DIR, '..');

export type ContenderName = 'tributary' | 'tuned' | 'naive' | 'sequential' | 'express-axios';
/** Tributary first, then `tuned`, the baseline every ratio is taken against. */
export const CONTENDERS: readonly ContenderName[] = ['tributary', 'tuned', 'naive', 'sequential', 'express-axios'];
export const BASELINES: readonly ContenderName[] = ['tuned', 'naive', 'sequential', 'express-axios'];

export interface UpstreamUrls {
  users: string;
  orders: string;
  recs: string;
  limited: string;
  /** Scenario 6's misbehaving upstreams (bench/upstream.ts). */
  faulty: string;
  /** Scenario 8's upstream that degrades under overload (bench/lib/degrading-model.ts). */
  degrading: string;
  /** Scenario 8's polite upstream in the same model (it queues, never refuses). */
  queueing: string;
}

export interface Contender {
  name: string;
  child: NodeChild;
  /** http://127.0.0.1:<port> */
  url: string;
  /** The endpoint every contender shares. */
  aggUrl: string;
}

export interface StartOptions {
  /** Delay of the three upstreams, ms (it is part of their base path). */
  delayMs: number;
  /** Where Tributary's config file is written. */
  tmpDir: string;
  /** Scenario 3: per-request limits (0 = unlimited), one Tributary endpoint each. */
  limits: readonly number[];
  /** Extra environment (tracing). */
  env?: Record<string, string>;
  /** Name in reports, when it differs from the contender's. */
  label?: string;
  /** Tributary only: the checkout whose src/node.ts runs (default: this one), for before/after runs. */
  root?: string;
  /** Tributary on Node: `dist` runs this checkout's build (dist/js/node.js, `npm run build`); default `src`. */
  entry?: 'dist' | 'src';
  /** Tributary only: the runtime and entry it runs on (scenario 9). Default Node. */
  runtime?: TributaryRuntime;
  /** The CPUs the contender runs on (BENCH_PIN, bench/lib/pinning.ts); default: any. */
  cpus?: string;
}

/** The runtimes Tributary has a native entry for (src/node.ts, src/deno.ts, src/bun.ts). */
export type TributaryRuntime = 'node' | OtherRuntime;

/** Starts one contender on a free loopback port and waits until its endpoint answers correctly. */
export async function startContender(name: ContenderName, upstreams: UpstreamUrls, options: StartOptions): Promise<Contender> {
  const port = await freePort();
  const label = options.label ?? name;
  const bases = {
    USERS_URL: `${upstreams.users}/d/${options.delayMs}`,
    ORDERS_URL: `${upstreams.orders}/d/${options.delayMs}`,
    RECS_URL: `${upstreams.recs}/d/${options.delayMs}`,
    LIMITED_URL: upstreams.limited,
  };
  const env: Record<string, string> = { PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'production', ...options.env };
  let child: NodeChild;
  if (name === 'tributary') {
    const config = join(options.tmpDir, `${label.replace(/[^a-z0-9-]/gi, '-')}-${options.delayMs}ms.json`);
    writeFileSync(config, JSON.stringify(tributaryConfig(bases, options.limits), null, 2));
    const runtime = options.runtime ?? 'node';
    const tribEnv = { ...env, TRIBUTARY_CONFIG: config };
    if (runtime === 'node') {
      const file = options.entry === 'dist' && !options.root ? join(ROOT, 'dist/js/node.js') : join(options.root ?? ROOT, 'src/node.ts');
      child = spawnNode(label, file, tribEnv, [], options.cpus);
    }
    else {
      const { command, args } = runtimeCommand(runtime, join(ROOT, `src/${runtime}.ts`), [config]);
      child = spawnCommand(label, command, args, tribEnv, options.cpus);
    }
  } else {
    child = spawnNode(label, join(BENCH_DIR, 'baselines', `${name}.ts`), { ...env, ...bases }, [], options.cpus);
  }
  const url = `http://127.0.0.1:${port}`;
  const aggUrl = `${url}/v1/agg/1`;
  // Generous: a busy machine, or several processes each compiling the TypeScript, start slowly.
  await waitForHttp(child, aggUrl, isAggregate, 60_000);
  return { name: label, child, url, aggUrl };
}

/** The body every contender must answer on /v1/agg/1 (checked before measuring anything). */
function isAggregate(body: unknown): boolean {
  const data = (body as { data?: { user?: { id?: string }; orders?: unknown[]; recs?: unknown[] } }).data;
  return data?.user?.id === '1' && data.orders?.length === 3 && data.recs?.length === 4;
}

/** The URL of one fan-out request of `width` calls at `limit` (0 = unlimited). */
export function fanUrl(contender: Contender, kind: ContenderName, width: number, limit: number): string {
  const ids = Array.from({ length: width }, (_, i) => i + 1).join(',');
  if (kind === 'tributary') return `${contender.url}/v1/fan/${limit === 0 ? 'unlimited' : limit}?ids=${ids}`;
  return `${contender.url}/v1/fan?ids=${ids}${limit === 0 ? '' : `&limit=${limit}`}`;
}

/**
 * Tributary's config for the bench: the same 1000 ms per call as the baselines, and one fan-out
 * endpoint per limit. The limited upstream's bulkhead is set high (2000) so only the endpoint's
 * `maxConcurrency` limits a request; "unlimited" is a limit no request reaches.
 */
export function tributaryConfig(bases: Record<'USERS_URL' | 'ORDERS_URL' | 'RECS_URL' | 'LIMITED_URL', string>, limits: readonly number[]) {
  const id = { id: { type: 'string', pattern: '^[0-9]+$' } };
  return {
    upstreams: {
      users: { baseUrl: bases.USERS_URL, timeoutMs: 1000 },
      orders: { baseUrl: bases.ORDERS_URL, timeoutMs: 1000 },
      recs: { baseUrl: bases.RECS_URL, timeoutMs: 1000 },
      limited: { baseUrl: bases.LIMITED_URL, timeoutMs: 10_000, maxConcurrency: 2000, maxQueue: 1000 },
    },
    endpoints: [
      {
        path: '/v1/agg/:id',
        deadlineMs: 2000,
        input: { params: id },
        calls: {
          user: { upstream: 'users', path: '/users/{params.id}' },
          orders: { upstream: 'orders', path: '/orders/{params.id}' },
          recs: { upstream: 'recs', path: '/recs/{params.id}' },
        },
      },
      ...limits.map((limit) => ({
        path: `/v1/fan/${limit === 0 ? 'unlimited' : limit}`,
        deadlineMs: 30_000,
        maxConcurrency: limit === 0 ? 1_000_000 : limit,
        input: {
          query: {
            ids: { type: 'array', items: { type: 'string', pattern: '^[0-9]+$' }, maxItems: 1000, required: true },
          },
        },
        calls: { items: { upstream: 'limited', path: '/items/{item}', each: '{query.ids}', maxItems: 1000 } },
      })),
    ],
  };
}
