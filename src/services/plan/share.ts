import type { CompiledUpstream, Plan } from './types.ts';

/**
 * The plan one of `processes` processes on a host serves: each upstream's bulkhead
 * (`maxConcurrency`) divided between them, rounded down but at least 1, so the upstream still
 * sees at most `maxConcurrency` calls in flight from the whole host (at most `processes` when
 * `maxConcurrency` is smaller than that). Queues (`maxQueue`) stay per process. Returns the
 * plan unchanged for one process; never changes the plan it is given.
 *
 * @example
 * shareBulkheads(plan, 2); // an upstream with maxConcurrency 50 gets 25 in each process
 */
export function shareBulkheads(plan: Plan, processes: number): Plan {
  if (!Number.isSafeInteger(processes) || processes < 1) throw new RangeError(`processes must be a whole number >= 1, got ${processes}`);
  if (processes === 1) return plan;
  const upstreams = new Map<string, CompiledUpstream>();
  for (const [name, upstream] of plan.upstreams) {
    upstreams.set(name, { ...upstream, maxConcurrency: Math.max(1, Math.floor(upstream.maxConcurrency / processes)) });
  }
  const endpoints = plan.endpoints.map((endpoint) => ({
    ...endpoint,
    calls: endpoint.calls.map((call) => ({ ...call, upstream: upstreams.get(call.upstream.name) as CompiledUpstream })),
  }));
  return { ...plan, upstreams, endpoints };
}
