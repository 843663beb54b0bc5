/**
 * Scenario 6's contenders: one Tributary process whose upstreams are the faulty routes of
 * bench/upstream.ts, each with its own policy (and so its own retry budget, breaker and latency
 * window), and the hand-written `naive-retry` baseline. Every upstream has its own <tag> in its
 * base path, so the upstream process counts the requests each one received.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BENCH_DIR } from './contenders.ts';
import { freePort, spawnNode, waitForHttp, type NodeChild } from './processes.ts';

const ROOT = resolve(BENCH_DIR, '..');

/** Share of requests the flaky upstream fails with 503. */
export const FLAKY_RATE = 0.2;
/** Share of the slow-tail upstream's answers that are slow, and how slow, ms; the rest take 2-5 ms. */
export const SLOW_SHARE = 0.05;
export const SLOW_MS = 300;
/** The fixed hedge delay, ms. */
export const HEDGE_AFTER_MS = 20;

export interface ResilienceProcess {
  name: string;
  child: NodeChild;
  url: string;
}

/** One measured case: the URL of a call, and the upstream tag whose requests it causes. */
export interface Case {
  label: string;
  /** Which process serves it. */
  contender: 'tributary' | 'naive-retry';
  /** Path prefix on that process; the call id is appended. */
  path: string;
  /** Counter in the faulty upstream. */
  tag: string;
}

export const FLAKY_CASES: readonly Case[] = [
  { label: 'tributary, no retry', contender: 'tributary', path: '/v1/flaky_off/', tag: 'trib-flaky-off' },
  { label: 'tributary, `retry: {}` (defaults)', contender: 'tributary', path: '/v1/flaky_retry/', tag: 'trib-flaky-retry' },
  { label: 'naive-retry (3 tries, no budget)', contender: 'naive-retry', path: '/v1/flaky/', tag: 'naive-flaky' },
];

export const DOWN_CASES: readonly Case[] = [
  { label: 'tributary, `retry: {}` (budget 0.2 + 5/s)', contender: 'tributary', path: '/v1/down_budget/', tag: 'trib-down-budget' },
  { label: 'tributary, `retry: {}` + `circuitBreaker: {}`', contender: 'tributary', path: '/v1/down_breaker/', tag: 'trib-down-breaker' },
  { label: 'naive-retry (3 tries, no budget)', contender: 'naive-retry', path: '/v1/down/', tag: 'naive-down' },
];

export const SLOW_CASES: readonly Case[] = [
  { label: 'tributary, no hedge', contender: 'tributary', path: '/v1/slow_off/', tag: 'trib-slow-off' },
  { label: `tributary, \`hedge: { afterMs: ${HEDGE_AFTER_MS} }\``, contender: 'tributary', path: '/v1/slow_fixed/', tag: 'trib-slow-fixed' },
  { label: 'tributary, `hedge: { afterMs: "p95" }`', contender: 'tributary', path: '/v1/slow_p95/', tag: 'trib-slow-p95' },
];

/** Starts Tributary and naive-retry side by side, each on a free port, ready when /v1/ok/1 answers. */
export async function startResilienceContenders(faultyUrl: string, tmpDir: string): Promise<ResilienceProcess[]> {
  const isItem = (body: unknown): boolean => (body as { data?: { item?: { id?: string } } }).data?.item?.id === '1';
  const start = async (name: 'tributary' | 'naive-retry'): Promise<ResilienceProcess> => {
    const port = await freePort();
    const env: Record<string, string> = { PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'production' };
    let child: NodeChild;
    if (name === 'tributary') {
      const config = join(tmpDir, 'tributary-resilience.json');
      writeFileSync(config, JSON.stringify(tributaryConfig(faultyUrl), null, 2));
      // No access log: the baseline writes none, and a line per request on the pipe costs the
      // orchestrator (where the client runs) as much as it costs Tributary.
      child = spawnNode(name, join(ROOT, 'src/node.ts'), { ...env, TRIBUTARY_CONFIG: config, TRIBUTARY_ACCESS_LOG: '0' });
    } else {
      child = spawnNode(name, join(BENCH_DIR, 'baselines', 'naive-retry.ts'), {
        ...env,
        OK_URL: `${faultyUrl}/ok/naive-ok`,
        FLAKY_URL: `${faultyUrl}/flaky/${FLAKY_RATE}/naive-flaky`,
        DOWN_URL: `${faultyUrl}/down/naive-down`,
      });
    }
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(child, `${url}/v1/ok/1`, isItem);
    return { name, child, url };
  };
  const settled = await Promise.allSettled([start('tributary'), start('naive-retry')]);
  const list = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failure = settled.find((r) => r.status === 'rejected');
  if (failure) {
    await Promise.all(list.map((p) => p.child.stop()));
    throw failure.reason;
  }
  return list;
}

/**
 * One upstream per policy, all on the faulty listener (one origin), one endpoint per upstream:
 * GET /v1/<upstream>/:id with a single required call, so the client sees 200 or 502.
 * Every policy is written as a user would: `{}` takes the defaults of the issue
 * (retry: attempts 3, backoffMs 50, budgetRatio 0.2, budgetMinPerSecond 5; breaker: failureRatio 0.5,
 * minimumRequests 20, windowMs 10 000, openMs 5000).
 */
function tributaryConfig(faulty: string) {
  const slow = `${faulty}/slowtail/${SLOW_SHARE}/${SLOW_MS}`;
  const upstreams: Record<string, Record<string, unknown>> = {
    ok: { baseUrl: `${faulty}/ok/trib-ok` },
    flaky_off: { baseUrl: `${faulty}/flaky/${FLAKY_RATE}/trib-flaky-off` },
    flaky_retry: { baseUrl: `${faulty}/flaky/${FLAKY_RATE}/trib-flaky-retry`, retry: {} },
    down_budget: { baseUrl: `${faulty}/down/trib-down-budget`, retry: {} },
    down_breaker: { baseUrl: `${faulty}/down/trib-down-breaker`, retry: {}, circuitBreaker: {} },
    slow_off: { baseUrl: `${slow}/trib-slow-off` },
    slow_fixed: { baseUrl: `${slow}/trib-slow-fixed`, hedge: { afterMs: HEDGE_AFTER_MS } },
    slow_p95: { baseUrl: `${slow}/trib-slow-p95`, hedge: { afterMs: 'p95' } },
  };
  return {
    upstreams: Object.fromEntries(Object.entries(upstreams).map(([name, u]) => [name, { timeoutMs: 1000, ...u }])),
    endpoints: Object.keys(upstreams).map((name) => ({
      path: `/v1/${name}/:id`,
      deadlineMs: 2000,
      input: { params: { id: { type: 'string', pattern: '^[0-9]+$' } } },
      calls: { item: { upstream: name, path: '/items/{params.id}', required: true } },
    })),
  };
}
