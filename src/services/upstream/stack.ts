import type { Clock } from '../../lib/clock.ts';
import type { Semaphore } from '../../lib/semaphore.ts';
import type { CompiledCall } from '../plan/types.ts';
import type { AdaptiveLimit } from '../../lib/adaptive-limit.ts';
import { adaptiveLimitLayer } from './adaptive-limit.ts';
import { attempt } from './attempt.ts';
import { cacheLayer, type CacheDeps } from './cache.ts';
import { breakerLayer } from './circuit-breaker.ts';
import { bulkheadLayer } from './bulkhead.ts';
import { deadlineClamp } from './deadline-clamp.ts';
import { hedgeLayer } from './hedge.ts';
import { perTryTimeout } from './per-try-timeout.ts';
import { retryLayer } from './retry.ts';
import type { UpstreamHealth } from './runtime.ts';
import type { CallFn, Fetcher, Layer } from './types.ts';

export interface StackDeps {
  fetcher: Fetcher;
  bulkhead: Semaphore;
  health: UpstreamHealth;
  clock: Clock;
  /** Caps the connections one request has open at once, across upstreams (Workers: 6). */
  connections?: Semaphore | undefined;
  /** The upstream's adaptive limit, when it has one: it moves `bulkhead.limit`. */
  limiter?: AdaptiveLimit | undefined;
  /** The store and in-flight requests, for calls that cache or coalesce. */
  cache?: CacheDeps | undefined;
}

/**
 * The call path of one call, built once (DESIGN.md section 4, outermost first): cache and
 * coalescing, deadline clamp,
 * retry or hedge, circuit breaker, bulkhead, the request's connection cap where there is one,
 * the adaptive limit's measurement where there is one, per-try timeout, the attempt. A policy the call
 * does not use is not in the stack at all, so it costs nothing per request.
 *
 * @example
 * const send = buildCallStack(call, { fetcher, bulkhead, health, clock: monotonic });
 * const result = await send(ctx);
 */
export function buildCallStack(call: CompiledCall, deps: StackDeps): CallFn {
  const { health, clock } = deps;
  const name = call.upstream.name;
  const layers: Layer[] = [];
  if ((call.cache || call.coalesce) && deps.cache) layers.push(cacheLayer(call, deps.cache));
  layers.push(deadlineClamp);
  if (call.retry && health.budget) {
    layers.push(retryLayer(call.retry, { budget: health.budget, clock, timeoutMs: call.timeoutMs }));
  } else if (call.hedge && health.budget) {
    const free = (s: Semaphore | undefined): boolean => !s || (s.running < s.limit && s.waiting === 0);
    const slotFree = (): boolean => free(deps.bulkhead) && free(deps.connections);
    layers.push(hedgeLayer(call.hedge, { budget: health.budget, clock, timeoutMs: call.timeoutMs, latency: health.latency, slotFree }));
  }
  if (call.useBreaker && health.breaker) layers.push(breakerLayer(health.breaker, name));
  layers.push(bulkheadLayer(deps.bulkhead, name));
  // Before the per-try timer: a wait for a connection is a visible wait, not lost timeout.
  if (deps.connections) layers.push(bulkheadLayer(deps.connections, name, 'connections'));
  // Inside every wait: it measures the upstream, not the queue.
  if (deps.limiter) layers.push(adaptiveLimitLayer(deps.limiter, deps.bulkhead));
  layers.push(perTryTimeout(call.timeoutMs, deps.fetcher.keepsTimeouts === true));
  return compose(layers, attempt(call, deps.fetcher));
}

/** `compose([a, b], f)` is `a(b(f))`: the first layer is the outermost. */
export function compose(layers: readonly Layer[], inner: CallFn): CallFn {
  return layers.reduceRight<CallFn>((next, layer) => layer(next), inner);
}
