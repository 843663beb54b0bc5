import { context, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import type { AdaptiveLimit } from '../../lib/adaptive-limit.ts';
import { Deadline } from '../../lib/deadline.ts';
import { abortReason, cancelled } from '../../lib/errors.ts';
import { monotonic, type Clock } from '../../lib/clock.ts';
import { Semaphore } from '../../lib/semaphore.ts';
import { webSha256 } from '../../lib/sha256.ts';
import { Scope } from '../../lib/scope.ts';
import { CALL_BUDGET_FRACTION } from '../plan/critical-path.ts';
import type { CompiledCall, CompiledEndpoint, CompiledUpstream, Plan } from '../plan/types.ts';
import { countSubrequests, TooManySubrequestsError } from '../subrequests.ts';
import { createTelemetry, spansUnder, type Telemetry } from '../telemetry.ts';
import { renderBody, type TemplateContext } from '../template.ts';
import { createAdaptiveLimit, createBulkhead, createUpstreamHealth, type UpstreamHealth } from '../upstream/runtime.ts';
import { Flights } from '../cache/flights.ts';
import { MemoryStore } from '../cache/memory-store.ts';
import type { CacheDeps } from '../upstream/cache.ts';
import { buildCallStack } from '../upstream/stack.ts';
import type { CallFn, Fetcher } from '../upstream/types.ts';
import { runCall, type CallState, type RunnerDeps, type RunState } from './call-runner.ts';
import { checkInput } from './input-check.ts';
import { Outcomes, type OutcomeListener } from './outcomes.ts';
import type { AggregateResult, EngineOptions, RequestInput, RunOptions } from './types.ts';

/** What the engine keeps of an endpoint across its requests. */
interface PreparedEndpoint {
  byName: Map<string, CompiledCall>;
  /** The scope's limit; undefined when the endpoint cannot have more calls at once than its `maxConcurrency`. */
  fanoutLimit: number | undefined;
}

/**
 * `maxConcurrency`, unless no request of the endpoint can reach it: every call is one task of the
 * scope (its retries and hedges included), an `each` call one per element, at most `maxItems`.
 * Three plain calls under the default limit of 16 need no semaphore, and no wait for its slots.
 */
export function fanoutLimit(endpoint: Pick<CompiledEndpoint, 'calls' | 'maxConcurrency'>): number | undefined {
  let most = 0;
  for (const call of endpoint.calls) most += call.each ? call.maxItems : 1;
  return most > endpoint.maxConcurrency ? endpoint.maxConcurrency : undefined;
}

/** One upstream as the engine runs it: its bulkhead and the health it shares across requests. */
export interface UpstreamRuntime {
  upstream: CompiledUpstream;
  bulkhead: Semaphore;
  health: UpstreamHealth;
  /** Moves the bulkhead's limit, when the upstream's is adaptive. */
  limiter: AdaptiveLimit | undefined;
}

/**
 * Runs compiled endpoints: every call of a request inside one {@link Scope}, under the
 * endpoint's deadline and fan-out limit, each call through the stack of policies built for it
 * once (src/services/upstream/stack.ts), each upstream behind its process-wide bulkhead.
 *
 * @example
 * const engine = new Engine(plan, fetch);
 * const result = await engine.run(plan.endpoints[0], { params: { userId: '42' }, query: {} }, request.signal);
 */
export class Engine {
  readonly upstreams: Map<string, UpstreamRuntime>;
  readonly telemetry: Telemetry;
  readonly #clock: Clock;
  readonly #fraction: number;
  readonly #maxSubrequests: number | undefined;
  readonly #fetcher: Fetcher;
  readonly #stacks = new Map<CompiledCall, CallFn>();
  /** What the engine keeps of each endpoint, made on its first request. */
  readonly #prepared = new WeakMap<CompiledEndpoint, PreparedEndpoint>();
  /** What every call of every request shares with the call runner. */
  readonly #runnerDeps: RunnerDeps;
  readonly #listeners: OutcomeListener[];
  readonly #connections: Semaphore | undefined;
  readonly #cache: CacheDeps | undefined;

  constructor(plan: Plan, fetcher: Fetcher, options: EngineOptions = {}) {
    this.#clock = options.clock ?? monotonic;
    this.#maxSubrequests = options.maxSubrequests;
    this.#fraction = options.callBudgetFraction ?? CALL_BUDGET_FRACTION;
    this.#fetcher = fetcher;
    const telemetry = (this.telemetry = options.telemetry ?? createTelemetry());
    const health =
      options.health ??
      createUpstreamHealth(plan, {
        clock: this.#clock,
        onBreakerChange: (upstream, from, to) =>
          telemetry.breakerTransitions.add(1, { 'upstream.name': upstream, 'tributary.breaker.state': to, 'tributary.breaker.from': from }),
      });
    this.upstreams = new Map(
      [...plan.upstreams].map(([name, upstream]) => {
        const bulkhead = createBulkhead(upstream, this.#clock);
        const limiter = createAdaptiveLimit(upstream, bulkhead, this.#clock);
        return [name, { upstream, bulkhead, limiter, health: health.get(name) ?? noHealth }];
      }),
    );
    this.#listeners = telemetry.metrics ? [upstreamMetrics(telemetry)] : [];
    this.#connections = options.maxConnections === undefined
      ? undefined
      : new Semaphore({ limit: options.maxConnections, name: 'connections of this request', clock: this.#clock });
    this.#cache = cacheDeps(plan, options, this.#clock);
    this.#runnerDeps = { telemetry, clock: this.#clock, stackFor: (call) => this.#stackFor(call) };
  }

  /**
   * Answers one request. Throws `InvalidInputError` before any call starts when the input
   * cannot be used safely, `TooManySubrequestsError` when it could exceed `maxSubrequests`;
   * otherwise resolves with the outcomes, never while a call still runs.
   * `parent` is the trace context to hang the `aggregate` span under (default: the active one).
   */
  async run(
    endpoint: CompiledEndpoint,
    input: RequestInput,
    signal?: AbortSignal,
    parent: Context = context.active(),
    options: RunOptions = {},
  ): Promise<AggregateResult> {
    const now = this.#clock();
    const started = input.elapsedMs !== undefined && input.elapsedMs > 0 ? now - input.elapsedMs : now;
    const base: TemplateContext = { params: input.params, query: input.query, body: input.body ?? {}, calls: {} };
    checkInput(endpoint, base);
    if (this.#maxSubrequests !== undefined) {
      const count = countSubrequests(endpoint, base);
      if (count.total > this.#maxSubrequests) throw new TooManySubrequestsError(endpoint, count, this.#maxSubrequests);
    }
    const span = spansUnder(this.telemetry, parent)
      ? this.telemetry.tracer.startSpan(
          `aggregate ${endpoint.id}`,
          { startTime: performance.now(), attributes: { 'tributary.endpoint': endpoint.path, 'tributary.calls': endpoint.calls.length } },
          parent,
        )
      : undefined;
    // The calls' share of what is left of the deadline (the rest is for merging and writing the
    // answer): one timer and one signal, since the whole deadline would never fire first.
    const at = this.#clock();
    const budgetMs = Math.max(0, started + endpoint.deadlineMs - at) * this.#fraction;
    const budget = Deadline.after(budgetMs, {
      ...(signal ? { signal } : {}),
      ...(input.stop ? { stop: input.stop } : {}),
      clock: this.#clock,
      since: at,
      label: `a ${Math.round(budgetMs)} ms budget`,
    });
    const prepared = this.#prepare(endpoint);
    // The scope cancels through the budget's own signal: one AbortController for both.
    const scope = new Scope({ link: budget, limit: prepared.fanoutLimit, clock: this.#clock });
    const listeners = options.onOutcome ? [...this.#listeners, options.onOutcome] : this.#listeners;
    const outcomes = new Outcomes(endpoint, listeners, (reason) => scope.cancel(reason));
    const pending = new Map<string, Promise<CallState>>();
    const { byName } = prepared;
    const deps = this.#runnerDeps;
    const run: RunState = {
      base,
      headers: input.headers,
      scope,
      deadline: budget,
      outcomes,
      parent: span ? trace.setSpan(parent, span) : parent,
      route: endpoint.path,
      settle: (name) => {
        let promise = pending.get(name);
        if (!promise) {
          promise = runCall(byName.get(name) as CompiledCall, run, deps);
          pending.set(name, promise);
        }
        return promise;
      },
    };

    const fanoutStart = this.#clock();
    options.onStart?.();
    try {
      await Promise.all(endpoint.calls.map((c) => run.settle(c.name)));
    } catch (error) {
      // A bug, not an upstream failure: stop the siblings, wait for them, end the span, let the
      // route answer 500.
      scope.cancel(cancelled('cancelled because of an internal error'));
      await scope.join();
      span?.setStatus({ code: SpanStatusCode.ERROR, message: 'internal error' });
      span?.setAttribute('error.type', 'internal');
      span?.end(performance.now());
      throw error;
    } finally {
      // Every call has settled by now, unless one threw: no wait (and no turn) for an idle scope.
      if (scope.size > 0) await scope.join();
      scope.dispose();
      budget.dispose();
    }
    const result = outcomes.result(this.#clock() - started, this.#clock() - fanoutStart);
    // The endpoint's `response` template sees the calls as `data` holds them.
    if (endpoint.response) result.data = renderBody(endpoint.response, { ...base, calls: result.data }) as Record<string, unknown>;
    if (span) endAggregate(span, result, signal);
    if (!result.complete && this.telemetry.metrics) this.telemetry.partialResponses.add(1, { 'tributary.endpoint': endpoint.path });
    return result;
  }

  /** Requests in flight that calls coalesce on; undefined when no call caches or coalesces. */
  get flights(): Flights | undefined {
    return this.#cache?.flights;
  }

  /** An endpoint's calls by name, and the limit its fan-out needs. */
  #prepare(endpoint: CompiledEndpoint): PreparedEndpoint {
    let prepared = this.#prepared.get(endpoint);
    if (!prepared) {
      prepared = { byName: new Map(endpoint.calls.map((c) => [c.name, c])), fanoutLimit: fanoutLimit(endpoint) };
      this.#prepared.set(endpoint, prepared);
    }
    return prepared;
  }

  /** The call's stack, built on first use and kept: policies that are off are not in it. */
  #stackFor(call: CompiledCall): CallFn {
    let stack = this.#stacks.get(call);
    if (!stack) {
      const runtime = this.upstreams.get(call.upstream.name) as UpstreamRuntime;
      stack = buildCallStack(call, {
        fetcher: this.#fetcher,
        bulkhead: runtime.bulkhead,
        health: runtime.health,
        clock: this.#clock,
        connections: this.#connections,
        limiter: runtime.limiter,
        cache: this.#cache,
      });
      this.#stacks.set(call, stack);
    }
    return stack;
  }
}

/** Only when a call caches or coalesces; in-flight requests are per engine (per process, or per request on Workers). */
function cacheDeps(plan: Plan, options: EngineOptions, clock: Clock): CacheDeps | undefined {
  const calls = plan.endpoints.flatMap((e) => e.calls);
  if (!calls.some((c) => c.cache || c.coalesce)) return undefined;
  const now = options.now ?? (() => Date.now());
  return {
    store: options.cache ?? new MemoryStore({ now }),
    flights: new Flights(),
    now,
    clock,
    background: options.background ?? ((work) => void work.catch(() => {})),
    sha256: options.sha256 ?? webSha256,
  };
}

const noHealth: UpstreamHealth = { breaker: undefined, budget: undefined, latency: undefined };

function endAggregate(span: Span, result: AggregateResult, signal: AbortSignal | undefined): void {
  const { failed, errors, complete } = result;
  span.setAttributes({
    'tributary.complete': complete,
    'tributary.failed': new Set(errors.map((e) => e.call)).size,
    ...(failed ? { 'tributary.failed_required': failed.call } : {}),
  });
  if (signal?.aborted) span.setAttributes({ 'tributary.cancelled': true, 'tributary.cancel_reason': abortReason(signal).message });
  else if (failed) {
    span.setAttribute('error.type', failed.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: `required call ${failed.call} failed` });
  }
  span.end(performance.now());
}

/** Per-upstream duration by outcome, and timeouts: low-cardinality labels only. */
function upstreamMetrics(telemetry: Telemetry): OutcomeListener {
  return (event) => {
    const upstream = event.call.upstream.name;
    const outcome = event.outcome === 'error' ? (event.error?.code ?? 'error') : event.outcome;
    telemetry.upstreamDuration.record(event.durationMs / 1000, { 'upstream.name': upstream, 'tributary.outcome': outcome });
    if (outcome === 'timeout') telemetry.timeouts.add(1, { 'upstream.name': upstream });
  };
}
