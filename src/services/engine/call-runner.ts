import type { Deadline } from '../../lib/deadline.ts';
import type { Clock } from '../../lib/clock.ts';
import { abortReason, cancelled, TributaryError } from '../../lib/errors.ts';
import type { Outcome, Scope } from '../../lib/scope.ts';
import { isSpanContextValid, trace, type Attributes, type Context, type Link, type SpanContext, type SpanOptions } from '@opentelemetry/api';
import { callObserver } from '../call-observer.ts';
import type { CompiledCall } from '../plan/types.ts';
import { endWithFailure, spansUnder, type Telemetry } from '../telemetry.ts';
import { resolveRef, type TemplateContext } from '../template.ts';
import type { CallFn, CallResult } from '../upstream/types.ts';
import type { Outcomes } from './outcomes.ts';
import { buildRequest } from './request.ts';

/** How a call ended, for the calls that depend on it; `span` is its `upstream <call>` span, for their links. */
export type CallState = ({ ok: true } | { ok: false; error: TributaryError }) & { span?: SpanContext };

/** What one request shares with each of its calls. */
export interface RunState {
  base: TemplateContext;
  headers: Headers | undefined;
  scope: Scope;
  /** The calls' share of the request's deadline. */
  deadline: Deadline;
  outcomes: Outcomes;
  /** The `aggregate` span's context. */
  parent: Context;
  /** The endpoint's route pattern, for metric labels. */
  route: string;
  /** Settles a call once, however many calls depend on it. */
  settle(name: string): Promise<CallState>;
}

export interface RunnerDeps {
  telemetry: Telemetry;
  clock: Clock;
  stackFor(call: CompiledCall): CallFn;
}

/**
 * One call of a request: waits for the calls it depends on, then runs it (or each of its
 * elements) in the request's scope, under its `upstream <call>` span, and hands every outcome to
 * {@link Outcomes}. Never rejects for an upstream failure; only a bug throws.
 */
export function runCall(call: CompiledCall, run: RunState, deps: RunnerDeps): Promise<CallState> {
  // Most calls depend on nothing: nothing to wait for.
  if (call.dependsOn.length === 0) return spansUnder(deps.telemetry, run.parent) ? traced(call, run, deps, [], undefined) : settle(call, run, deps, [], run.parent);
  return afterDependencies(call, run, deps);
}

async function afterDependencies(call: CompiledCall, run: RunState, deps: RunnerDeps): Promise<CallState> {
  // The dependency that settled last is the one this call waited for.
  let waitedFor: string | undefined;
  const states = await Promise.all(
    call.dependsOn.map(async (name) => {
      const state = await run.settle(name);
      waitedFor = name;
      return [name, state] as const;
    }),
  );
  return spansUnder(deps.telemetry, run.parent) ? traced(call, run, deps, states, waitedFor) : settle(call, run, deps, states, run.parent);
}

/**
 * The call under its `upstream <call>` span, ended with the call's outcome. Not async: while the
 * call runs, the span's ending waits in a reaction, not in a frame.
 */
function traced(
  call: CompiledCall,
  run: RunState,
  deps: RunnerDeps,
  states: (readonly [string, CallState])[],
  waitedFor: string | undefined,
): Promise<CallState> {
  // Built field by field: no spread of an empty object per call.
  const attributes: Attributes = { 'tributary.call': call.name, 'upstream.name': call.upstream.name };
  if (waitedFor !== undefined) attributes['tributary.waited_for'] = waitedFor;
  const options: SpanOptions = { startTime: performance.now(), attributes };
  if (states.length > 0) options.links = dependencyLinks(states);
  const span = deps.telemetry.tracer.startSpan(`upstream ${call.name}`, options, run.parent);
  // `state` undefined: a bug stopped the call.
  const end = (state: CallState | undefined): void => {
    const error = state && !state.ok ? state.error : undefined;
    span.setAttribute('tributary.outcome', !state ? 'error' : state.ok ? 'ok' : error?.code === 'cancelled' ? 'cancelled' : 'error');
    if (error) endWithFailure(span, error);
    span.end(performance.now());
  };
  let settling: Promise<CallState>;
  try {
    settling = settle(call, run, deps, states, trace.setSpan(run.parent, span));
  } catch (error) {
    end(undefined);
    return Promise.reject(error);
  }
  return settling.then(
    (state) => {
      end(state);
      return state.ok ? { ok: true, span: span.spanContext() } : { ok: false, error: state.error, span: span.spanContext() };
    },
    (error: unknown) => {
      end(undefined);
      throw error;
    },
  );
}

/** A link to the span of each call this one depended on, so the waterfall shows why it started late. */
function dependencyLinks(states: readonly (readonly [string, CallState])[]): Link[] {
  const links: Link[] = [];
  for (const [name, state] of states) {
    if (state.span && isSpanContextValid(state.span)) links.push({ context: state.span, attributes: { 'tributary.depends_on': name } });
  }
  return links;
}

/**
 * Runs the call once its dependencies have settled. Not async for a plain call: its outcome is
 * recorded in a reaction to the request's promise, so no frame of this function waits as long as
 * the upstream does (a frame per call per layer is most of what a request in flight holds).
 */
function settle(
  call: CompiledCall,
  run: RunState,
  deps: RunnerDeps,
  states: (readonly [string, CallState])[],
  callTrace: Context,
): Promise<CallState> {
  const { outcomes } = run;
  const missing = states.find(([, s]) => !s.ok);
  if (missing) {
    const cause = missing[1].ok ? undefined : missing[1].error;
    return Promise.resolve(skip(call, run, `${call.name} was not started: it needs ${missing[0]}, which failed`, cause));
  }
  if (run.scope.signal.aborted) {
    const reason = abortReason(run.scope.signal);
    return Promise.resolve(skip(call, run, `${call.name} was not started: ${reason.message}`, reason));
  }
  const ctx: TemplateContext = { ...run.base, calls: outcomes.values };
  // What the call's one request stands for, mapped in the reaction that records it: no second reaction.
  if (!call.each) return runOne(call, ctx, run, deps, { parent: callTrace, spans: true }, stateOf);
  return settleEach(call, call.each, ctx, run, deps, callTrace);
}

const OK: CallState = { ok: true };
const stateOf = (element: Element): CallState => (element.ok ? OK : { ok: false, error: element.error });

/** An `each` call: one request per element of its list, then the list as the call's data. */
async function settleEach(
  call: CompiledCall,
  each: NonNullable<CompiledCall['each']>,
  ctx: TemplateContext,
  run: RunState,
  deps: RunnerDeps,
  callTrace: Context,
): Promise<CallState> {
  const { outcomes } = run;
  let items = resolveRef(each, ctx);
  // An optional input list the client left out is an empty list, not a failure.
  if (items == null && each.source !== 'calls') items = [];
  if (!Array.isArray(items) || items.length > call.maxItems) {
    const why = Array.isArray(items) ? `has ${items.length} elements, more than ${call.maxItems}` : 'is not an array';
    const error = new TributaryError('invalid_response', `${call.name}: {${each.text}} ${why}`);
    outcomes.failedWhole(call, error);
    return { ok: false, error };
  }
  const span = trace.getSpan(callTrace);
  const traced = Math.min(items.length, deps.telemetry.maxItemSpans);
  span?.setAttributes({ 'tributary.items': items.length, 'tributary.items_traced': traced });
  const elements = await Promise.all(
    items.map((item, index) => runOne(call, { ...ctx, item }, run, deps, { parent: callTrace, spans: index < traced, item: index }, asElement)),
  );
  const firstError = elements.find((e) => !e.ok);
  const failures = elements.filter((e) => !e.ok).length;
  span?.setAttribute('tributary.items_failed', failures);
  outcomes.listed(call, elements, failures === 0);
  return firstError && !firstError.ok ? { ok: false, error: firstError.error } : { ok: true };
}

function skip(call: CompiledCall, run: RunState, message: string, cause: TributaryError | undefined): CallState {
  const error = cancelled(message);
  run.outcomes.skipped(call, undefined, error, cause);
  return { ok: false, error };
}

type Element = { ok: true; value: unknown } | { ok: false; value: unknown; error: TributaryError };

const asElement = (element: Element): Element => element;

/**
 * Queues one request in the scope, sends it through the call's stack, records its outcome, and
 * resolves with what `as` makes of the element it stands for.
 */
function runOne<R>(
  call: CompiledCall,
  ctx: TemplateContext,
  run: RunState,
  deps: RunnerDeps,
  where: { parent: Context; spans: boolean; item?: number },
  as: (element: Element) => R,
): Promise<R> {
  const { clock } = deps;
  const observer = callObserver(deps.telemetry, { upstream: call.upstream, route: run.route, urlTemplate: call.urlTemplate, parent: where.parent, spans: where.spans, item: where.item });
  // Messages name an element by its value (`items[sku-1]`), as the client sent it.
  const label = where.item === undefined ? call.name : `${call.name}[${String(ctx.item)}]`;
  const stack = deps.stackFor(call);
  const queuedAt = clock();
  let slotWait = 0;
  return run.scope
    .spawn(
      ({ signal }) => stack({ label, request: buildRequest(call, ctx, run.headers), signal, deadline: run.deadline, attempt: 0, observer }),
      {
        onWait: (report) => {
          slotWait = report.waitMs;
          observer.wait('request', report);
        },
      },
    )
    .then((outcome) => as(recorded(call, where.item, label, run.outcomes, outcome, clock() - queuedAt, slotWait)));
}

/** Hands a call's (or element's) outcome to {@link Outcomes}; what it stands for in the call's data. */
function recorded(
  call: CompiledCall,
  item: number | undefined,
  label: string,
  outcomes: Outcomes,
  outcome: Outcome<CallResult>,
  durationMs: number,
  slotWait: number,
): Element {
  if (outcome.status === 'ok') {
    const result = outcome.value;
    const settled = { durationMs, waitMs: slotWait + result.waitMs, attempts: result.attempts };
    if (result.cache && result.cache !== 'miss') outcomes.cached(label, result.cache);
    if (result.ok) {
      outcomes.succeeded(call, item, result.value, settled, result.staleError);
      return { ok: true, value: result.value };
    }
    return { ok: false, error: result.error, value: outcomes.failed(call, item, result.error, settled) };
  }
  const settled = { durationMs, waitMs: slotWait, attempts: 0 };
  if (outcome.status === 'error') {
    // Rendering the request failed (an unsafe value from another call), or a bug: that is a 500.
    if (!(outcome.error instanceof TributaryError)) throw outcome.error;
    return { ok: false, error: outcome.error, value: outcomes.failed(call, item, outcome.error, settled) };
  }
  const error = notStarted(label, outcome.reason);
  return { ok: false, error, value: outcomes.failed(call, item, error, settled, 'skipped') };
}

/** A task skipped while queued for a slot: the reason's code, a message naming the call. */
function notStarted(label: string, reason: TributaryError): TributaryError {
  const why = reason.code === 'deadline_exceeded' ? "the request's deadline passed" : reason.message;
  return new TributaryError(reason.code, `${label} was not started: ${why}`, { cause: reason });
}
