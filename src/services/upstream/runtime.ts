import { AdaptiveLimit } from '../../lib/adaptive-limit.ts';
import { CircuitBreaker, type BreakerState } from '../../lib/circuit-breaker.ts';
import type { Clock } from '../../lib/clock.ts';
import { LatencyWindow } from '../../lib/latency-window.ts';
import { RetryBudget } from '../../lib/retry-budget.ts';
import { Semaphore } from '../../lib/semaphore.ts';
import type { CompiledUpstream, Plan } from '../plan/types.ts';

/**
 * What outlives one request for an upstream, as plain data: breaker, retry budget and recent
 * latency hold counters and timestamps only, no timers or promises, so on Workers they can be
 * kept per isolate while everything else is per request.
 */
export interface UpstreamHealth {
  breaker: CircuitBreaker | undefined;
  budget: RetryBudget | undefined;
  latency: LatencyWindow | undefined;
}

export type HealthByUpstream = ReadonlyMap<string, UpstreamHealth>;

export interface HealthOptions {
  clock: Clock;
  /** Told when an upstream's breaker changes state (metrics, logs). */
  onBreakerChange?: (upstream: string, from: BreakerState, to: BreakerState) => void;
}

/**
 * One {@link UpstreamHealth} per upstream of the plan, holding only what the plan turns on: no
 * breaker for an upstream without `circuitBreaker`, no budget where nothing retries or hedges,
 * no latency window where no call hedges on a percentile.
 *
 * @example
 * const health = createUpstreamHealth(plan, { clock: monotonic }); // once per process, or per isolate on Workers
 */
export function createUpstreamHealth(plan: Plan, options: HealthOptions): HealthByUpstream {
  const percentile = new Set<string>();
  for (const endpoint of plan.endpoints) {
    for (const call of endpoint.calls) if (call.hedge && 'percentile' in call.hedge.after) percentile.add(call.upstream.name);
  }
  const health = new Map<string, UpstreamHealth>();
  for (const upstream of plan.upstreams.values()) {
    const b = upstream.circuitBreaker;
    const onChange = options.onBreakerChange;
    health.set(upstream.name, {
      breaker: b
        ? new CircuitBreaker({
            ...b,
            clock: options.clock,
            name: upstream.name,
            ...(onChange ? { onStateChange: (from: BreakerState, to: BreakerState) => onChange(upstream.name, from, to) } : {}),
          })
        : undefined,
      budget: upstream.retryBudget
        ? new RetryBudget({ ratio: upstream.retryBudget.ratio, minPerSecond: upstream.retryBudget.minPerSecond, clock: options.clock })
        : undefined,
      latency: percentile.has(upstream.name) ? new LatencyWindow({}) : undefined,
    });
  }
  return health;
}

/** The upstream's bulkhead: a FIFO semaphore with a bounded queue and wait. An adaptive one starts at `initial`. */
export function createBulkhead(upstream: CompiledUpstream, clock: Clock): Semaphore {
  return new Semaphore({
    limit: upstream.adaptive?.initial ?? upstream.maxConcurrency,
    maxQueue: upstream.maxQueue,
    ...(upstream.maxQueueWaitMs === undefined ? {} : { maxWaitMs: upstream.maxQueueWaitMs }),
    name: `upstream ${upstream.name}`,
    clock,
  });
}

/**
 * The limit that moves the bulkhead's, for an upstream with an adaptive limit; undefined
 * otherwise. It lives as long as the bulkhead: the process on Node, one request on Workers.
 *
 * @example
 * const limiter = createAdaptiveLimit(upstream, bulkhead, monotonic); // bulkhead.limit now follows limiter.limit
 */
export function createAdaptiveLimit(upstream: CompiledUpstream, bulkhead: Semaphore, clock: Clock): AdaptiveLimit | undefined {
  if (!upstream.adaptive) return undefined;
  return new AdaptiveLimit({ ...upstream.adaptive, clock, onChange: (limit) => (bulkhead.limit = limit) });
}
