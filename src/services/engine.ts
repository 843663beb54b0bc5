import { Deadline } from '../lib/deadline.ts';
import { abortReason, cancelled, TributaryError, type ErrorCode } from '../lib/errors.ts';
import { monotonic, type Clock } from '../lib/clock.ts';
import { Scope, type Outcome } from '../lib/scope.ts';
import type { InputIssue } from './input-schema.ts';
import type { CompiledCall, CompiledEndpoint, Plan } from './plan.ts';
import {
  refsOf,
  renderBody,
  renderPath,
  renderQueryValue,
  resolveRef,
  UnsafeValueError,
  type Ref,
  type TemplateContext,
} from './template.ts';
import { newStats, UpstreamClient, type CallStats, type CallTrace, type Fetcher } from './upstream-client.ts';
import { context, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import { createTelemetry, endWithFailure, recordWait, type Telemetry } from './telemetry.ts';
import { countSubrequests, TooManySubrequestsError } from './subrequests.ts';

/** Validated request input, as the route layer hands it over. */
export interface RequestInput {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body?: Record<string, unknown>;
  /** The client's headers; only those an upstream's `forwardHeaders` names are sent on. */
  headers?: Headers;
}

/** One entry of the response's `errors`. */
export interface CallError {
  call: string;
  upstream: string;
  code: ErrorCode;
  message: string;
  attempts: number;
  status?: number;
  /** For `each` calls: the index of the element that failed. */
  item?: number;
}

/** Timing of one call (of one element, for `each`), for Server-Timing and traces. */
export interface CallReport {
  call: string;
  upstream: string;
  item?: number;
  outcome: 'ok' | 'error' | 'skipped';
  durationMs: number;
  waitMs: number;
}

export interface AggregateResult {
  /** Keys in declaration order. A failed call holds its fallback, or null. */
  data: Record<string, unknown>;
  errors: CallError[];
  complete: boolean;
  /** The required call whose failure fails the request, if one did. */
  failed: { call: string; code: ErrorCode } | undefined;
  durationMs: number;
  fanoutMs: number;
  reports: CallReport[];
}

/** The request's input would make an unsafe or impossible upstream call. Maps to 400. */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';
  readonly issues: InputIssue[];
  constructor(issues: InputIssue[]) {
    super(`invalid request: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
    this.issues = issues;
  }
}

export interface EngineOptions {
  clock?: Clock;
  /** Tracer and instruments; default: the global ones from `@opentelemetry/api`. */
  telemetry?: Telemetry;
  /** Share of the endpoint's deadline given to the calls; the rest is kept to merge and answer. */
  callBudgetFraction?: number;
  /**
   * Most upstream requests one client request may make (the Workers subrequest cap). A request
   * that could need more is refused with {@link TooManySubrequestsError} before any call.
   */
  maxSubrequests?: number;
}

/** Header names that describe one hop and are never forwarded, whatever the allowlist says. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host',
  'content-length', 'proxy-authorization', 'proxy-authenticate',
]);

type CallResult = { ok: true; value: unknown } | { ok: false; error?: TributaryError };

/**
 * Runs compiled endpoints: every call of a request inside one {@link Scope}, under the
 * endpoint's deadline and fan-out limit, each upstream behind its process-wide bulkhead.
 *
 * @example
 * const engine = new Engine(plan, fetch);
 * const result = await engine.run(plan.endpoints[0], { params: { userId: '42' }, query: {} }, request.signal);
 */
export class Engine {
  readonly clients: Map<string, UpstreamClient>;
  readonly telemetry: Telemetry;
  readonly #clock: Clock;
  readonly #fraction: number;
  readonly #maxSubrequests: number | undefined;

  constructor(plan: Plan, fetcher: Fetcher, options: EngineOptions = {}) {
    this.#clock = options.clock ?? monotonic;
    this.#maxSubrequests = options.maxSubrequests;
    this.#fraction = options.callBudgetFraction ?? 0.95;
    this.telemetry = options.telemetry ?? createTelemetry();
    this.clients = new Map([...plan.upstreams].map(([name, u]) => [name, new UpstreamClient(u, fetcher, this.#clock)]));
  }

  /**
   * Answers one request. Throws {@link InvalidInputError} before any call starts when the input
   * cannot be used safely, {@link TooManySubrequestsError} when it could exceed `maxSubrequests`;
   * otherwise resolves with the outcomes, never while a call still runs.
   * `parent` is the trace context to hang the `aggregate` span under (default: the active one).
   */
  async run(
    endpoint: CompiledEndpoint,
    input: RequestInput,
    signal?: AbortSignal,
    parent: Context = context.active(),
  ): Promise<AggregateResult> {
    const started = this.#clock();
    const base: TemplateContext = { params: input.params, query: input.query, body: input.body ?? {}, calls: {} };
    checkInput(endpoint, base);
    if (this.#maxSubrequests !== undefined) {
      const count = countSubrequests(endpoint, base);
      if (count.total > this.#maxSubrequests) throw new TooManySubrequestsError(endpoint, count, this.#maxSubrequests);
    }
    const span = this.telemetry.tracer.startSpan(
      `aggregate ${endpoint.id}`,
      { attributes: { 'tributary.endpoint': endpoint.path, 'tributary.calls': endpoint.calls.length } },
      parent,
    );
    const deadline = Deadline.after(endpoint.deadlineMs, { ...(signal ? { signal } : {}), clock: this.#clock });
    const budget = deadline.child({ fraction: this.#fraction });
    const scope = new Scope({ signal: budget.signal, limit: endpoint.maxConcurrency });
    const pending = new Map<string, Promise<CallResult>>();
    const byName = new Map(endpoint.calls.map((c) => [c.name, c]));
    const run: RunState = {
      endpoint, input, base, scope, budget,
      values: {}, data: {}, errors: [], reports: [],
      failed: undefined,
      parent: trace.setSpan(parent, span),
      active: 0,
      queued: 0,
      dependency: (name) => settle(byName.get(name) as CompiledCall),
    };
    const settle = (call: CompiledCall): Promise<CallResult> => {
      let promise = pending.get(call.name);
      if (!promise) {
        promise = this.#settle(call, run);
        pending.set(call.name, promise);
      }
      return promise;
    };

    const fanoutStart = this.#clock();
    try {
      await Promise.all(endpoint.calls.map(settle));
    } finally {
      await scope.join();
      scope.dispose();
      budget.dispose();
      deadline.dispose();
    }
    const fanoutMs = this.#clock() - fanoutStart;
    const { data, errors } = run;
    // Declaration order for `data` and `errors`, whatever order the calls finished in.
    const ordered: Record<string, unknown> = {};
    for (const call of endpoint.calls) ordered[call.name] = data[call.name];
    const order = new Map(endpoint.calls.map((c, i) => [c.name, i]));
    errors.sort((a, b) => (order.get(a.call) ?? 0) - (order.get(b.call) ?? 0) || (a.item ?? 0) - (b.item ?? 0));
    let failed = run.failed;
    if (!failed && scope.failure) {
      const name = scope.failure.name;
      failed = { call: name, code: errors.find((e) => e.call === name)?.code ?? 'cancelled' };
    }
    const complete = errors.length === 0;
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
    span.end();
    if (!complete) this.telemetry.partialResponses.add(1, { 'tributary.endpoint': endpoint.path });
    return { data: ordered, errors, complete, failed, durationMs: this.#clock() - started, fanoutMs, reports: run.reports };
  }

  /** Waits for the call's dependencies, then runs it (or each of its elements) in the scope. */
  async #settle(call: CompiledCall, run: RunState): Promise<CallResult> {
    const deps = await Promise.all(call.dependsOn.map(async (name) => [name, await run.dependency(name)] as const));
    const { tracer } = this.telemetry;
    const span = tracer.startSpan(
      `upstream ${call.name}`,
      { attributes: { 'tributary.call': call.name, 'upstream.name': call.upstream.name } },
      run.parent,
    );
    const callTrace = trace.setSpan(run.parent, span);
    let result: CallResult = { ok: false };
    try {
      result = await this.#settleCall(call, run, deps, callTrace, span);
      return result;
    } finally {
      const error = result.ok ? undefined : result.error;
      span.setAttribute('tributary.outcome', result.ok ? 'ok' : error?.code === 'cancelled' ? 'cancelled' : 'error');
      if (error) endWithFailure(span, error);
      span.end();
    }
  }

  async #settleCall(
    call: CompiledCall,
    run: RunState,
    deps: (readonly [string, CallResult])[],
    callTrace: Context,
    span: Span,
  ): Promise<CallResult> {
    const { scope, data, errors } = run;
    const client = this.clients.get(call.upstream.name) as UpstreamClient;
    /** Not started. `cause` is why: a failed dependency's error, or the scope's abort reason. */
    const skip = (message: string, cause: TributaryError | undefined): CallResult => {
      const reason = cancelled(message);
      data[call.name] = call.fallback ? call.fallback.value : null;
      errors.push({ call: call.name, upstream: call.upstream.name, code: 'cancelled', message, attempts: 0 });
      run.reports.push({ call: call.name, upstream: call.upstream.name, outcome: 'skipped', durationMs: 0, waitMs: 0 });
      if (call.required) {
        // A required call that could not run fails the request; when time was the root cause
        // (a dependency timed out, the deadline passed) the answer is 504, not 502.
        const timeBound = cause && (cause.code === 'timeout' || cause.code === 'deadline_exceeded');
        run.failed ??= { call: call.name, code: timeBound ? cause.code : 'cancelled' };
        scope.cancel(cancelled(`cancelled because ${call.name} could not run`));
      }
      return { ok: false, error: reason };
    };
    const missing = deps.find(([, r]) => !r.ok);
    if (missing) {
      const cause = missing[1].ok ? undefined : missing[1].error;
      return skip(`${call.name} was not started: it needs ${missing[0]}, which failed`, cause);
    }
    if (scope.signal.aborted) {
      const reason = abortReason(scope.signal);
      return skip(`${call.name} was not started: ${reason.message}`, reason);
    }
    const ctx: TemplateContext = { ...run.base, calls: run.values };

    if (!call.each) {
      const outcome = await this.#spawn(call, client, ctx, run, { parent: callTrace, spans: true });
      return this.#record(call, outcome, run, undefined);
    }

    let items = resolveRef(call.each, ctx);
    // An optional input list the client left out is an empty list, not a failure.
    if (items == null && call.each.source !== 'calls') items = [];
    if (!Array.isArray(items) || items.length > call.maxItems) {
      const why = Array.isArray(items) ? `has ${items.length} elements, more than ${call.maxItems}` : 'is not an array';
      const error = new TributaryError('invalid_response', `${call.name}: {${call.each.text}} ${why}`);
      return this.#record(call, { status: 'error', error }, run, undefined);
    }
    const traced = Math.min(items.length, this.telemetry.maxItemSpans);
    span.setAttributes({ 'tributary.items': items.length, 'tributary.items_traced': traced });
    const outcomes = await Promise.all(
      items.map((item, index) =>
        this.#spawn(call, client, { ...ctx, item }, run, { parent: callTrace, spans: index < traced, item: index }),
      ),
    );
    const list: unknown[] = [];
    let firstError: TributaryError | undefined;
    let failures = 0;
    outcomes.forEach((outcome, index) => {
      const result = this.#record(call, outcome, run, index);
      list.push(result.ok ? result.value : call.fallback ? call.fallback.value : null);
      if (!result.ok) failures++;
      if (!result.ok && !firstError) firstError = result.error;
    });
    span.setAttribute('tributary.items_failed', failures);
    data[call.name] = list;
    if (failures > 0) return { ok: false, ...(firstError ? { error: firstError } : {}) };
    run.values[call.name] = list;
    return { ok: true, value: list };
  }

  /** Queues one request in the scope; records the wait for a request slot when there was one. */
  #spawn(
    call: CompiledCall,
    client: UpstreamClient,
    ctx: TemplateContext,
    run: RunState,
    where: { parent: Context; spans: boolean; item?: number },
  ): Promise<Outcome<unknown> & { stats: CallStats; durationMs: number }> {
    const stats = newStats();
    const queuedAt = this.#clock();
    // FIFO: this task waits iff the tasks ahead of it (running, or spawned and not yet started)
    // already fill the limit.
    const mustWait = run.active + run.queued >= run.endpoint.maxConcurrency;
    run.queued++;
    const label = ctx.item === undefined ? call.name : `${call.name}[${String(ctx.item)}]`;
    const callTrace: CallTrace = { telemetry: this.telemetry, ...where };
    return run.scope
      .spawn(
        async ({ signal }) => {
          run.queued--;
          run.active++;
          try {
            const slotWait = this.#clock() - queuedAt;
            if (mustWait && where.spans) {
              recordWait(this.telemetry, where.parent, queuedAt, slotWait, {
                'tributary.semaphore': 'request',
                ...(where.item === undefined ? {} : { 'tributary.item': where.item }),
              });
            }
            const request = buildRequest(call, ctx, run.input.headers);
            try {
              return await client.call({ label, ...request, timeoutMs: call.timeoutMs, signal, deadline: run.budget, stats, trace: callTrace });
            } finally {
              // Only a real wait for a slot counts, not the few microseconds of scheduling.
              if (mustWait) stats.waitMs += slotWait;
            }
          } finally {
            run.active--;
          }
        },
        { required: call.required, name: call.name },
      )
      .then((outcome) => {
        const durationMs = this.#clock() - queuedAt;
        const result = outcome.status === 'ok' ? 'ok' : outcome.status === 'skipped' ? 'skipped' : codeOf(outcome.error);
        this.telemetry.upstreamDuration.record(durationMs / 1000, { 'upstream.name': call.upstream.name, 'tributary.outcome': result });
        if (result === 'timeout') this.telemetry.timeouts.add(1, { 'upstream.name': call.upstream.name });
        return { ...outcome, stats, durationMs };
      });
  }

  #record(
    call: CompiledCall,
    outcome: Outcome<unknown> & { stats?: CallStats; durationMs?: number },
    run: RunState,
    item: number | undefined,
  ): CallResult {
    const upstream = call.upstream.name;
    run.reports.push({
      call: call.name,
      upstream,
      ...(item === undefined ? {} : { item }),
      outcome: outcome.status,
      durationMs: outcome.durationMs ?? 0,
      waitMs: outcome.stats?.waitMs ?? 0,
    });
    if (outcome.status === 'ok') {
      if (item === undefined) {
        run.data[call.name] = outcome.value;
        run.values[call.name] = outcome.value;
      }
      return { ok: true, value: outcome.value };
    }
    const error = outcome.status === 'error' ? outcome.error : notStarted(call, item, outcome.reason);
    if (!(error instanceof TributaryError)) throw error; // a bug, not an upstream failure: 500
    const entry: CallError = {
      call: call.name,
      upstream,
      code: error.code,
      message: error.message,
      attempts: outcome.stats?.attempts ?? 0,
    };
    if (error.status !== undefined) entry.status = error.status;
    if (item !== undefined) entry.item = item;
    run.errors.push(entry);
    if (item === undefined) run.data[call.name] = call.fallback ? call.fallback.value : null;
    // A required call that failed, or never started because the deadline passed while it was
    // queued, fails the request. A plain cancel was caused by something else, recorded already.
    if (call.required && error.code !== 'cancelled') run.failed ??= { call: call.name, code: error.code };
    return { ok: false, error };
  }
}

interface RunState {
  endpoint: CompiledEndpoint;
  input: RequestInput;
  base: TemplateContext;
  values: Record<string, unknown>;
  scope: Scope;
  budget: Deadline;
  data: Record<string, unknown>;
  errors: CallError[];
  reports: CallReport[];
  failed: AggregateResult['failed'];
  /** The `aggregate` span's context. */
  parent: Context;
  /** Tasks running, and spawned but not yet started: to tell whether a new one will wait. */
  active: number;
  queued: number;
  dependency: (name: string) => Promise<CallResult>;
}

/** A task skipped while queued for a slot: the reason's code, a message naming the call. */
function notStarted(call: CompiledCall, item: number | undefined, reason: TributaryError): TributaryError {
  const label = item === undefined ? call.name : `${call.name}[${item}]`;
  const why = reason.code === 'deadline_exceeded' ? "the request's deadline passed" : reason.message;
  return new TributaryError(reason.code, `${label} was not started: ${why}`, { cause: reason });
}

function codeOf(error: Error): string {
  return error instanceof TributaryError ? error.code : 'internal';
}

/** Renders URL, headers and body. A value from another call that is unsafe in a URL fails the call. */
function buildRequest(call: CompiledCall, ctx: TemplateContext, clientHeaders: Headers | undefined) {
  let url: URL;
  try {
    url = new URL(call.upstream.base + renderPath(call.path, ctx));
    for (const [key, template] of call.query) {
      const value = renderQueryValue(template, ctx);
      if (Array.isArray(value)) for (const v of value) url.searchParams.append(key, v);
      else if (value !== undefined) url.searchParams.append(key, value);
    }
  } catch (error) {
    if (error instanceof UnsafeValueError) throw new TributaryError('invalid_response', `${call.name}: ${error.message}`);
    throw error;
  }
  // Defence in depth: templates encode every value, so this can only fail on a bug.
  if (url.origin !== call.upstream.origin) throw new Error(`${call.name}: URL left its upstream's origin`);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (clientHeaders && call.upstream.forwardHeaders.size > 0) {
    for (const name of call.upstream.forwardHeaders) {
      const value = clientHeaders.get(name);
      if (value !== null && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
  }
  Object.assign(headers, call.upstream.headers);
  let body: string | undefined;
  if (call.body) {
    body = JSON.stringify(renderBody(call.body, ctx));
    headers['content-type'] = 'application/json';
  }
  return { method: call.method, url: url.href, headers, ...(body === undefined ? {} : { body }) };
}

/**
 * Before anything starts: every value the input puts into a URL must be usable, and every
 * `each` over the input must fit its limit. Problems are the client's: 400.
 */
function checkInput(endpoint: CompiledEndpoint, ctx: TemplateContext): void {
  const issues: InputIssue[] = [];
  const fieldOf = (ref: Ref): string => `${ref.source}.${ref.path.join('.')}`;
  for (const call of endpoint.calls) {
    if (call.dependsOn.length > 0) continue;
    let items: unknown[] = [undefined];
    if (call.each) {
      const value = resolveRef(call.each, ctx);
      items = Array.isArray(value) ? value : [];
      if (items.length > call.maxItems) {
        issues.push({ field: fieldOf(call.each), message: `at most ${call.maxItems} elements, got ${items.length}` });
        continue;
      }
    }
    const usesItem = refsOf(call.path).some((r) => r.source === 'item');
    for (const [index, item] of (usesItem ? items : items.slice(0, 1)).entries()) {
      try {
        renderPath(call.path, { ...ctx, item });
      } catch (error) {
        if (!(error instanceof UnsafeValueError)) throw error;
        const field = error.ref.source === 'item' && call.each ? `${fieldOf(call.each)}.${index}` : fieldOf(error.ref);
        issues.push({ field, message: error.message });
      }
    }
  }
  if (issues.length > 0) throw new InvalidInputError(dedupe(issues));
}

function dedupe(issues: InputIssue[]): InputIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => !seen.has(i.field + i.message) && seen.add(i.field + i.message));
}
