import {
  context as contextApi,
  createContextKey,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  SpanKind,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
  type SpanOptions,
  type Tracer,
  type TracerProvider,
  type TraceState,
} from '@opentelemetry/api';
import { bytesOfHex, hexOf, idBytesOf, randomIdBytes, type IdBytes } from './ids.ts';
import { DEFAULT_SPAN_LIMITS, RecordedSpan, toHrTime, type SpanLimits, type SpanResource, type SpanShared, type SpanSink } from './recorded-span.ts';

/** The SDK's sampling decisions, by number: NOT_RECORD 0, RECORD 1, RECORD_AND_SAMPLED 2. */
export interface SpanSampler {
  shouldSample(
    context: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): { decision: number; attributes?: Readonly<Attributes> | undefined; traceState?: TraceState | undefined };
  toString(): string;
}

const NOT_RECORD = 0;
/** The context key `@opentelemetry/core`'s `suppressTracing` sets (the API makes keys with `Symbol.for`). */
const SUPPRESS_TRACING = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');
const NO_ATTRIBUTES: Attributes = Object.freeze({});
const NO_LINKS: Link[] = Object.freeze([]) as unknown as Link[];
const RECORD_AND_SAMPLED = 2;

export interface SpanPipelineOptions {
  resource: SpanResource;
  sampler: SpanSampler;
  /** Told of each ended span, in order (the SDK's batch, simple or console processors fit). */
  sinks: readonly SpanSink[];
  limits?: Partial<SpanLimits>;
}

/**
 * A tracer provider for Tributary's own spans: the SDK's sampling, limits, resource and
 * processors, without its per-span bookkeeping (no attribute copies on every set, no
 * self-observability metrics, ids from a pooled random buffer). Spans are {@link RecordedSpan}s,
 * which the SDK's processors and exporters read as their own.
 *
 * @example
 * const provider = new SpanPipeline({ resource, sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }), sinks: [batch] });
 * trace.setGlobalTracerProvider(provider);
 */
export class SpanPipeline implements TracerProvider {
  readonly #options: SpanPipelineOptions;
  readonly #limits: SpanLimits;
  readonly #tracers = new Map<string, Tracer>();

  constructor(options: SpanPipelineOptions) {
    this.#options = options;
    this.#limits = { ...DEFAULT_SPAN_LIMITS, ...options.limits };
    // As the SDK: a length limit that is not positive is no limit (it would empty every string).
    if (!(this.#limits.attributeValueLengthLimit > 0)) this.#limits.attributeValueLengthLimit = Number.POSITIVE_INFINITY;
  }

  getTracer(name: string, version?: string, options?: { schemaUrl?: string }): Tracer {
    const key = `${name}\n${version ?? ''}\n${options?.schemaUrl ?? ''}`;
    let tracer = this.#tracers.get(key);
    if (!tracer) {
      const shared: SpanShared = {
        resource: this.#options.resource,
        instrumentationScope: { name, ...(version ? { version } : {}), ...(options?.schemaUrl ? { schemaUrl: options.schemaUrl } : {}) },
        limits: this.#limits,
        sinks: this.#options.sinks,
      };
      tracer = new PipelineTracer(shared, this.#options.sampler);
      this.#tracers.set(key, tracer);
    }
    return tracer;
  }
}

class PipelineTracer implements Tracer {
  readonly #shared: SpanShared;
  readonly #sampler: SpanSampler;

  constructor(shared: SpanShared, sampler: SpanSampler) {
    this.#shared = shared;
    this.#sampler = sampler;
  }

  startSpan(name: string, options: SpanOptions = {}, ctx: Context = contextApi.active()): Span {
    // An exporter's own requests run with tracing suppressed (the SDK's `suppressTracing`).
    if (ctx.getValue(SUPPRESS_TRACING) === true) return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    const context = options.root ? trace.deleteSpan(ctx) : ctx;
    const parent = validParent(context);
    // A trace's ids as bytes (what the encoder sends) and its hex (what the sampler and the API
    // read), both made once per trace and shared by its spans.
    let traceId: string;
    let traceIdBytes: string;
    if (parent) {
      traceId = parent.traceId;
      traceIdBytes = idBytesOf(parent)?.traceIdBytes ?? bytesOfHex(traceId);
    } else {
      traceIdBytes = randomIdBytes(16);
      traceId = hexOf(traceIdBytes);
    }
    const spanIdBytes = randomIdBytes(8);
    const kind = options.kind ?? SpanKind.INTERNAL;
    const sampled = this.#sampler.shouldSample(context, traceId, name, kind, options.attributes ?? NO_ATTRIBUTES, options.links ?? NO_LINKS);
    const traceState = sampled.traceState ?? parent?.traceState;
    const traceFlags = sampled.decision === RECORD_AND_SAMPLED ? TraceFlags.SAMPLED : TraceFlags.NONE;
    const spanContext = new OwnSpanContext(traceId, traceIdBytes, spanIdBytes, traceFlags, traceState);
    if (sampled.decision === NOT_RECORD) return trace.wrapSpanContext(spanContext);
    const attributes = sampled.attributes ? { ...options.attributes, ...sampled.attributes } : options.attributes;
    return new RecordedSpan(this.#shared, spanContext, parent, name, kind, toHrTime(options.startTime), attributes, options.links);
  }

  startActiveSpan<F extends (span: Span) => ReturnType<F>>(name: string, ...args: unknown[]): ReturnType<F> {
    const fn = args[args.length - 1] as F;
    const options = (args.length >= 2 ? args[0] : undefined) as SpanOptions | undefined;
    const ctx = (args.length >= 3 ? args[1] : undefined) as Context | undefined;
    const parent = ctx ?? contextApi.active();
    const span = this.startSpan(name, options, parent);
    return contextApi.with(trace.setSpan(parent, span), fn, undefined, span);
  }
}

/**
 * The span context of a span this tracer started, recorded or not: its ids are valid by
 * construction, so a child's parent check does not test them with the API's hex check again.
 * It also carries its ids as bytes ({@link IdBytes}), for the encoder, behind getters: they are
 * neither printed (a console exporter) nor copied with the context (`{ ...context }`), so a copy
 * changed by its maker is encoded from its own hex.
 */
class OwnSpanContext implements SpanContext, IdBytes {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly traceState?: TraceState;
  readonly #traceIdBytes: string;
  readonly #spanIdBytes: string;

  constructor(traceId: string, traceIdBytes: string, spanIdBytes: string, traceFlags: number, traceState: TraceState | undefined) {
    this.traceId = traceId;
    this.spanId = hexOf(spanIdBytes);
    this.traceFlags = traceFlags;
    if (traceState) this.traceState = traceState;
    this.#traceIdBytes = traceIdBytes;
    this.#spanIdBytes = spanIdBytes;
  }

  get traceIdBytes(): string {
    return this.#traceIdBytes;
  }

  get spanIdBytes(): string {
    return this.#spanIdBytes;
  }
}

/**
 * The span context of the parent span in `context`, if it has a valid one. Our own spans' ids
 * (recorded or not) are valid by construction, so only a context from elsewhere (a caller's
 * `traceparent`) is checked, with the API's hex validation.
 */
export function validParent(context: Context): SpanContext | undefined {
  const span = trace.getSpan(context);
  if (span === undefined) return undefined;
  const found = span.spanContext();
  return found instanceof OwnSpanContext || isSpanContextValid(found) ? found : undefined;
}
