import type { CompiledUpstream, Plan } from './types.ts';

/**
 * The plan one of `processes` processes on a host serves: each upstream's bulkhead
 * (`maxConcurrency`) divided between them, rounded down but at least 1, so the upstream still
 * sees at most `maxConcurrency` calls in flight from the whole host (at most `processes` when
 * `maxConcurrency` is smaller than that). An adaptive limit's `min`, `max` and `initial` are
 * divided the same way. Queues (`maxQueue`) stay per process. Returns the
 * plan unchanged for one process; never changes the plan it is given.
 *
 * @example
 * shareBulkheads(plan, 2); // an upstream with maxConcurrency 50 gets 25 in each process
 */
export function shareBulkheads(plan: Plan, processes: number): Plan {
  if (!Number.isSafeInteger(processes) || processes < 1) throw new RangeError(`processes must be a whole number >= 1, got ${processes}`);
  if (processes === 1) return plan;
  const upstreams = new Map<string, CompiledUpstream>();
  const share = (n: number): number => Math.max(1, Math.floor(n / processes));
  for (const [name, upstream] of plan.upstreams) {
    // An adaptive limit's bounds and start are shared the same way; each process then finds its own.
    const adaptive = upstream.adaptive && { min: share(upstream.adaptive.min), max: share(upstream.adaptive.max), initial: share(upstream.adaptive.initial) };
    upstreams.set(name, { ...upstream, maxConcurrency: share(upstream.maxConcurrency), adaptive });
  }
  const endpoints = plan.endpoints.map((endpoint) => ({
    ...endpoint,
    calls: endpoint.calls.map((call) => ({ ...call, upstream: upstreams.get(call.upstream.name) as CompiledUpstream })),
  }));
  return { ...plan, upstreams, endpoints };
}
