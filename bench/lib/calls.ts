/**
 * A fixed number of client calls at a fixed concurrency (scenario 6), where autocannon's
 * fixed-duration runs do not fit: success rates and upstream requests per call need an exact count
 * of calls. Bounded in count and in time: no call starts after `maxSeconds`.
 */
import { Agent, request } from 'undici';
import { percentile } from './stats.ts';

export interface CallsOptions {
  /** The URL of call `i` (0-based). */
  url: (i: number) => string;
  calls: number;
  concurrency: number;
  /** Per call, ms: a call that takes longer counts as failed. */
  timeoutMs?: number;
  /** No call starts after this many seconds. */
  maxSeconds?: number;
}

export interface CallsResult {
  /** Calls that got an answer or an error. */
  calls: number;
  /** 2xx answers. */
  ok: number;
  /** Answers by status; `error` for a transport error or timeout. */
  statuses: Record<string, number>;
  seconds: number;
  /** Latency of 2xx answers, ms. */
  p50: number;
  p99: number;
  /** Latency of every answer (2xx or not), ms: how long a client waits to learn the outcome. */
  allP50: number;
  allP99: number;
}

export async function callMany(options: CallsOptions): Promise<CallsResult> {
  const { calls, concurrency, timeoutMs = 10_000, maxSeconds = 60 } = options;
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 10_000 });
  const okMs: number[] = [];
  const allMs: number[] = [];
  const statuses: Record<string, number> = {};
  let next = 0;
  let ok = 0;
  const started = performance.now();
  const until = started + maxSeconds * 1000;
  const worker = async (): Promise<void> => {
    while (next < calls && performance.now() < until) {
      const i = next++;
      const t = performance.now();
      let key: string;
      try {
        const res = await request(options.url(i), { dispatcher: agent, signal: AbortSignal.timeout(timeoutMs) });
        await res.body.dump();
        key = String(res.statusCode);
        const ms = performance.now() - t;
        allMs.push(ms);
        if (res.statusCode >= 200 && res.statusCode < 300) {
          ok++;
          okMs.push(ms);
        }
      } catch {
        key = 'error';
      }
      statuses[key] = (statuses[key] ?? 0) + 1;
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, calls) }, worker));
  } finally {
    await agent.close();
  }
  okMs.sort((a, b) => a - b);
  allMs.sort((a, b) => a - b);
  return {
    calls: Object.values(statuses).reduce((a, b) => a + b, 0),
    ok,
    statuses,
    seconds: (performance.now() - started) / 1000,
    p50: percentile(okMs, 50),
    p99: percentile(okMs, 99),
    allP50: percentile(allMs, 50),
    allP99: percentile(allMs, 99),
  };
}
