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
    const traceId = parent ? parent.traceId : randomId(16);
    const spanId = randomId(8);
    const kind = options.kind ?? SpanKind.INTERNAL;
    const sampled = this.#sampler.shouldSample(context, traceId, name, kind, options.attributes ?? NO_ATTRIBUTES, options.links ?? NO_LINKS);
    const traceState = sampled.traceState ?? parent?.traceState;
    const traceFlags = sampled.decision === RECORD_AND_SAMPLED ? TraceFlags.SAMPLED : TraceFlags.NONE;
    const spanContext = new OwnSpanContext(traceId, spanId, traceFlags, traceState);
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
 */
class OwnSpanContext implements SpanContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly traceState?: TraceState;

  constructor(traceId: string, spanId: string, traceFlags: number, traceState: TraceState | undefined) {
    this.traceId = traceId;
    this.spanId = spanId;
    this.traceFlags = traceFlags;
    if (traceState) this.traceState = traceState;
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

/** The character codes of the two lower-case hex digits of every byte value. */
const HEX_HIGH = new Uint16Array(256);
const HEX_LOW = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  const digits = i.toString(16).padStart(2, '0');
  HEX_HIGH[i] = digits.charCodeAt(0);
  HEX_LOW[i] = digits.charCodeAt(1);
}
/** Random bytes drawn 4 KiB at a time: one `getRandomValues` per ~170 spans instead of one per id. */
const pool = new Uint8Array(4096);
let poolAt = pool.length;
/** The character codes of a trace id (16 bytes) and of a span id (8): one array each, so no id copies its codes. */
const codes16: number[] = new Array(32).fill(0);
const codes8: number[] = new Array(16).fill(0);

/**
 * A random id of `bytes` bytes in lower-case hex, never all zeros (an invalid id). Built in one
 * `String.fromCharCode`, so it is one flat string: an id concatenated pair by pair would be a rope
 * that every later read (the propagator, the encoder) flattens again.
 */
function randomId(bytes: 8 | 16): string {
  const codes = bytes === 16 ? codes16 : codes8;
  for (;;) {
    if (poolAt + bytes > pool.length) {
      crypto.getRandomValues(pool);
      poolAt = 0;
    }
    let any = 0;
    for (let i = 0; i < bytes; i++) {
      const byte = pool[poolAt++] as number;
      any |= byte;
      codes[2 * i] = HEX_HIGH[byte] as number;
      codes[2 * i + 1] = HEX_LOW[byte] as number;
    }
    if (any !== 0) return String.fromCharCode.apply(null, codes);
  }
}
