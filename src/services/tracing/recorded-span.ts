import {
  diag,
  SpanStatusCode,
  type Attributes,
  type AttributeValue,
  type Exception,
  type HrTime,
  type Link,
  type Span,
  type SpanContext,
  type SpanKind,
  type SpanStatus,
  type TimeInput,
} from '@opentelemetry/api';
import { spanTime } from '../telemetry.ts';

/** What the resource and scope of a span look like to an exporter (the SDK's `Resource` fits). */
export interface SpanResource {
  readonly attributes: Attributes;
  readonly schemaUrl?: string | undefined;
}

export interface SpanScope {
  readonly name: string;
  readonly version?: string | undefined;
  readonly schemaUrl?: string | undefined;
}

export interface SpanEvent {
  readonly name: string;
  readonly time: HrTime;
  readonly attributes?: Attributes;
  readonly droppedAttributesCount?: number;
}

/** The SDK's span limits, read from OTEL_SPAN_*_LIMIT by the entry. */
export interface SpanLimits {
  attributeCountLimit: number;
  attributeValueLengthLimit: number;
  eventCountLimit: number;
  linkCountLimit: number;
  attributePerEventCountLimit: number;
  attributePerLinkCountLimit: number;
}

export const DEFAULT_SPAN_LIMITS: SpanLimits = {
  attributeCountLimit: 128,
  attributeValueLengthLimit: Number.POSITIVE_INFINITY,
  eventCountLimit: 128,
  linkCountLimit: 128,
  attributePerEventCountLimit: 128,
  attributePerLinkCountLimit: 128,
};

/** Told of every recorded span once it has ended (the SDK's span processors fit). */
export interface SpanSink {
  onEnd(span: RecordedSpan): void;
}

/** What every span of one tracer shares. */
export interface SpanShared {
  readonly resource: SpanResource;
  readonly instrumentationScope: SpanScope;
  readonly limits: SpanLimits;
  readonly sinks: readonly SpanSink[];
}

const ORIGIN_MS = performance.timeOrigin;
const NONE = Object.freeze([]) as unknown as never[];
const UNSET: SpanStatus = Object.freeze({ code: SpanStatusCode.UNSET });
const NOT_ENDED: HrTime = Object.freeze([0, 0]) as unknown as HrTime;

/**
 * One recorded span: the API's `Span` for the code that writes it, and the SDK's `ReadableSpan`
 * shape for the processors and exporters that read it once it has ended. Attribute values are
 * checked the cheap way (a primitive, or an array of one primitive type); nothing is copied
 * twice. Ends once; later calls are ignored.
 */
export class RecordedSpan implements Span {
  readonly #context: SpanContext;
  readonly #shared: SpanShared;
  readonly parentSpanContext: SpanContext | undefined;
  readonly kind: SpanKind;
  readonly startTime: HrTime;
  readonly attributes: Attributes = {};
  // Most spans have no links or events and keep no status: shared empty values until they do.
  links: Link[] = NONE;
  events: SpanEvent[] = NONE;
  readonly resource: SpanResource;
  readonly instrumentationScope: SpanScope;
  name: string;
  status: SpanStatus = UNSET;
  endTime: HrTime = NOT_ENDED;
  ended = false;
  droppedAttributesCount = 0;
  droppedEventsCount = 0;
  droppedLinksCount = 0;
  #attributeCount = 0;

  constructor(
    shared: SpanShared,
    context: SpanContext,
    parent: SpanContext | undefined,
    name: string,
    kind: SpanKind,
    startTime: HrTime,
    attributes: Attributes | undefined,
    links: readonly Link[] | undefined,
  ) {
    this.#shared = shared;
    this.#context = context;
    this.parentSpanContext = parent;
    this.name = name;
    this.kind = kind;
    this.startTime = startTime;
    this.resource = shared.resource;
    this.instrumentationScope = shared.instrumentationScope;
    if (attributes) this.setAttributes(attributes);
    if (links) this.addLinks(links as Link[]);
  }

  spanContext(): SpanContext {
    return this.#context;
  }

  setAttribute(key: string, value: AttributeValue | undefined): this {
    if (this.ended || value === undefined || value === null || key.length === 0) return this;
    const checked = attributeValue(value, this.#shared.limits.attributeValueLengthLimit);
    if (checked === undefined) {
      diag.warn(`tributary: span attribute ${key} has an invalid value; dropped`);
      return this;
    }
    const attributes = this.attributes as Record<string, AttributeValue>;
    if (!(key in attributes)) {
      if (this.#attributeCount >= this.#shared.limits.attributeCountLimit) {
        this.droppedAttributesCount += 1;
        return this;
      }
      this.#attributeCount += 1;
    }
    attributes[key] = checked;
    return this;
  }

  setAttributes(attributes: Attributes): this {
    for (const key in attributes) this.setAttribute(key, attributes[key]);
    return this;
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this.ended) return this;
    const limits = this.#shared.limits;
    if (this.events.length >= limits.eventCountLimit) {
      this.droppedEventsCount += 1;
      return this;
    }
    const [attributes, at] = isTimeInput(attributesOrTime) ? [undefined, attributesOrTime] : [attributesOrTime, time];
    const kept = attributes ? limitAttributes(attributes, limits.attributePerEventCountLimit, limits.attributeValueLengthLimit) : undefined;
    if (this.events === NONE) this.events = [];
    this.events.push({
      name,
      time: toHrTime(at),
      ...(kept ? { attributes: kept.attributes, droppedAttributesCount: kept.dropped } : {}),
    });
    return this;
  }

  addLink(link: Link): this {
    if (this.ended) return this;
    const limits = this.#shared.limits;
    if (this.links.length >= limits.linkCountLimit) {
      this.droppedLinksCount += 1;
      return this;
    }
    if (this.links === NONE) this.links = [];
    if (!link.attributes) {
      this.links.push(link);
      return this;
    }
    const kept = limitAttributes(link.attributes, limits.attributePerLinkCountLimit, limits.attributeValueLengthLimit);
    this.links.push({ context: link.context, attributes: kept.attributes, droppedAttributesCount: kept.dropped });
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  setStatus(status: SpanStatus): this {
    // As the SDK: OK is final, UNSET changes nothing, a message belongs to an error only.
    if (this.ended || this.status.code === SpanStatusCode.OK || status.code === SpanStatusCode.UNSET) return this;
    this.status = status.code === SpanStatusCode.ERROR && status.message ? { code: status.code, message: status.message } : { code: status.code };
    return this;
  }

  updateName(name: string): this {
    if (!this.ended) this.name = name;
    return this;
  }

  end(endTime?: TimeInput): void {
    if (this.ended) return;
    let end = toHrTime(endTime);
    if (end[0] < this.startTime[0] || (end[0] === this.startTime[0] && end[1] < this.startTime[1])) end = this.startTime;
    this.endTime = end;
    this.ended = true;
    for (const sink of this.#shared.sinks) sink.onEnd(this);
  }

  /** End minus start, `[0, 0]` until the span has ended (read by exporters only). */
  get duration(): HrTime {
    if (!this.ended) return [0, 0];
    let seconds = this.endTime[0] - this.startTime[0];
    let nanos = this.endTime[1] - this.startTime[1];
    if (nanos < 0) {
      seconds -= 1;
      nanos += 1e9;
    }
    return [seconds, nanos];
  }

  isRecording(): boolean {
    return !this.ended;
  }

  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {};
    if (typeof exception === 'string') attributes['exception.message'] = exception;
    else if (exception) {
      if (exception.name) attributes['exception.type'] = exception.name;
      else if (exception.code !== undefined) attributes['exception.type'] = String(exception.code);
      if (exception.message) attributes['exception.message'] = exception.message;
      if (exception.stack) attributes['exception.stacktrace'] = exception.stack;
    }
    this.addEvent('exception', attributes, time);
  }
}

/** A primitive, or an array of one primitive type (nulls allowed), strings cut to the length limit; else undefined. */
function attributeValue(value: AttributeValue, maxLength: number): AttributeValue | undefined {
  switch (typeof value) {
    case 'string':
      return value.length > maxLength ? value.slice(0, maxLength) : value;
    case 'number':
    case 'boolean':
      return value;
  }
  if (!Array.isArray(value)) return undefined;
  let type: string | undefined;
  for (const item of value) {
    if (item === null || item === undefined) continue;
    const t = typeof item;
    if (t !== 'string' && t !== 'number' && t !== 'boolean') return undefined;
    if (type === undefined) type = t;
    else if (t !== type) return undefined;
  }
  // The caller's array is copied: a later change to it must not change the span.
  return type === 'string' && Number.isFinite(maxLength)
    ? (value as (string | null | undefined)[]).map((s) => (typeof s === 'string' && s.length > maxLength ? s.slice(0, maxLength) : s))
    : ([...value] as AttributeValue);
}

function limitAttributes(attributes: Attributes, countLimit: number, lengthLimit: number): { attributes: Attributes; dropped: number } {
  const kept: Attributes = {};
  let count = 0;
  let dropped = 0;
  for (const key in attributes) {
    const raw = attributes[key];
    if (raw === undefined || raw === null) continue;
    const value = attributeValue(raw, lengthLimit);
    if (value === undefined) continue;
    if (count >= countLimit) {
      dropped += 1;
      continue;
    }
    kept[key] = value;
    count += 1;
  }
  return { attributes: kept, dropped };
}

function isTimeInput(value: unknown): value is TimeInput {
  return typeof value === 'number' || value instanceof Date || isHrTime(value);
}

function isHrTime(value: unknown): value is HrTime {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === 'number' && typeof value[1] === 'number';
}

/**
 * A time as `[seconds, nanos]`: an HrTime as given; a number below the time origin is a
 * `performance.now()` reading, above it milliseconds since the epoch (as the SDK reads them).
 */
export function toHrTime(time: TimeInput | undefined): HrTime {
  if (time === undefined) return spanTime();
  if (isHrTime(time)) return time;
  if (typeof time === 'number') return time < ORIGIN_MS ? spanTime(time) : epochMs(time);
  return epochMs(time.getTime());
}

function epochMs(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}
