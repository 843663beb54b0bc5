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
 * the ones the SDK 3 keeps (a primitive first, the cheap case; else bytes, an array or a plain
 * object, copied); nothing is copied twice. Ends once; later calls are ignored.
 */
export class RecordedSpan implements Span {
  readonly #context: SpanContext;
  readonly #shared: SpanShared;
  readonly parentSpanContext: SpanContext | undefined;
  readonly kind: SpanKind;
  readonly startTime: HrTime;
  /**
   * The attributes in the order they were first set, as one list of key, value, key, value...: a
   * set is an append (or a replace), where an object grows a new shape per key; the encoder reads
   * them by index. The `attributes` object readers of a `ReadableSpan` expect is built from them
   * when first read.
   */
  readonly attributePairs: (string | AttributeValue)[] = [];
  #attributes: Attributes | undefined;
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
    // As the SDK: links given at the start are kept as given, the newest ones past the limit.
    if (links && links.length > 0) {
      const limit = shared.limits.linkCountLimit;
      this.links = links.length > limit ? links.slice(links.length - limit) : [...links];
      this.droppedLinksCount = Math.max(0, links.length - limit);
    }
  }

  spanContext(): SpanContext {
    return this.#context;
  }

  /** The attributes as one object (the SDK's `ReadableSpan.attributes`), built once until the next set. */
  get attributes(): Attributes {
    if (this.#attributes) return this.#attributes;
    const attributes: Attributes = {};
    const pairs = this.attributePairs;
    for (let i = 0; i < pairs.length; i += 2) attributes[pairs[i] as string] = pairs[i + 1] as AttributeValue;
    return (this.#attributes = attributes);
  }

  setAttribute(key: string, value: AttributeValue | undefined): this {
    if (this.ended || value === undefined) return this;
    if (key.length === 0) {
      diag.warn('tributary: a span attribute with an empty key was dropped');
      return this;
    }
    const pairs = this.attributePairs;
    const at = keyAt(pairs, key);
    if (at < 0 && pairs.length >= 2 * this.#shared.limits.attributeCountLimit) {
      this.droppedAttributesCount += 1;
      return this;
    }
    // The usual values first: a string, a number, a boolean.
    const limit = this.#shared.limits.attributeValueLengthLimit;
    const type = typeof value;
    let kept: AttributeValue | undefined;
    if (type === 'number' || type === 'boolean') kept = value;
    else if (type === 'string' || isAnyValue(value)) kept = copyValue(value, limit);
    else {
      diag.warn(`tributary: span attribute ${key} has an invalid value; dropped`);
      return this;
    }
    if (at < 0) pairs.push(key, kept as AttributeValue);
    else pairs[at + 1] = kept as AttributeValue;
    this.#attributes = undefined;
    return this;
  }

  setAttributes(attributes: Attributes): this {
    for (const key in attributes) this.setAttribute(key, attributes[key]);
    return this;
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this.ended) return this;
    const limits = this.#shared.limits;
    let attributes: Attributes | undefined;
    let at: TimeInput | undefined = time;
    if (isTimeInput(attributesOrTime)) {
      if (!isTimeInput(time)) at = attributesOrTime;
    } else attributes = attributesOrTime;
    // Event attributes take simple values only (OTEP 4485), as the SDK has it.
    const kept = attributes ? limitAttributes(attributes, limits.attributePerEventCountLimit, limits.attributeValueLengthLimit, isSimpleValue) : undefined;
    const event = { name, time: toHrTime(at), ...(kept ? { attributes: kept.attributes, droppedAttributesCount: kept.dropped } : {}) };
    const [events, dropped] = appendBounded(this.events, event, limits.eventCountLimit);
    this.events = events;
    this.droppedEventsCount += dropped;
    return this;
  }

  addLink(link: Link): this {
    if (this.ended) return this;
    const limits = this.#shared.limits;
    const kept = link.attributes
      ? limitAttributes(link.attributes, limits.attributePerLinkCountLimit, limits.attributeValueLengthLimit, isAnyValue)
      : undefined;
    const [links, dropped] = appendBounded(this.links, kept ? { context: link.context, attributes: kept.attributes, droppedAttributesCount: kept.dropped } : { context: link.context }, limits.linkCountLimit);
    this.links = links;
    this.droppedLinksCount += dropped;
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  setStatus(status: SpanStatus): this {
    // As the SDK: OK is final, UNSET changes nothing, a message belongs to an error only.
    if (this.ended || this.status.code === SpanStatusCode.OK || status.code === SpanStatusCode.UNSET) return this;
    this.status = status.code === SpanStatusCode.ERROR && typeof status.message === 'string' ? { code: status.code, message: status.message } : { code: status.code };
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
    // Indexed: a span ends on every call's path, and an iterator's results would be garbage.
    const sinks = this.#shared.sinks;
    for (let i = 0; i < sinks.length; i++) {
      // One sink's failure must neither reach the code that ended the span nor keep it from the others.
      try {
        (sinks[i] as SpanSink).onEnd(this);
      } catch (error) {
        diag.error('tributary: a span processor failed on a span', error);
      }
    }
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
      // As the SDK: a code (ECONNREFUSED) says more than a class name.
      if (exception.code) attributes['exception.type'] = String(exception.code);
      else if (exception.name) attributes['exception.type'] = exception.name;
      if (exception.message) attributes['exception.message'] = exception.message;
      if (exception.stack) attributes['exception.stacktrace'] = exception.stack;
    }
    if (attributes['exception.type'] || attributes['exception.message']) this.addEvent('exception', attributes, time);
    else diag.warn('tributary: an exception with neither a type nor a message was not recorded');
  }
}

/** Where `key` is in a span's few key, value pairs, or -1: a short loop, cheaper than a call to `indexOf`. */
function keyAt(pairs: readonly unknown[], key: string): number {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === key) return i;
  return -1;
}

/**
 * `item` added to a list bounded at `limit`, as the SDK bounds events and links: past the limit the
 * oldest makes room; with a limit of 0 nothing is kept. Returns the list (a new one in place of the
 * shared empty one) and how many items were dropped.
 */
function appendBounded<T>(list: T[], item: T, limit: number): [T[], number] {
  if (limit <= 0) return [list, 1];
  const own = list === NONE ? [] : list;
  let dropped = 0;
  if (own.length >= limit) {
    own.shift();
    dropped = 1;
  }
  own.push(item);
  return [own, dropped];
}

/**
 * A span or link attribute value as the SDK 3 accepts it (an OTLP AnyValue): a primitive, null,
 * bytes, or an array or plain object of those, without cycles.
 */
function isAnyValue(value: unknown, seen = new Set<object>()): boolean {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return true;
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null || value instanceof Uint8Array) return true;
  const object = value as object;
  if (seen.has(object)) return false;
  seen.add(object);
  let valid = true;
  if (Array.isArray(object)) {
    for (const item of object) if (item !== undefined && !isAnyValue(item, seen)) valid = false;
  } else if (object.constructor !== Object && object.constructor !== undefined) valid = false;
  else for (const item of Object.values(object)) if (item !== undefined && !isAnyValue(item, seen)) valid = false;
  seen.delete(object);
  return valid;
}

/** An event attribute value: a primitive, or an array of one primitive type (nulls allowed). */
function isSimpleValue(value: unknown): boolean {
  const t = typeof value;
  if (t === 'string' || t === 'number' || t === 'boolean') return true;
  if (!Array.isArray(value)) return false;
  let type: string | undefined;
  for (const item of value) {
    if (item === null || item === undefined) continue;
    const it = typeof item;
    if (it !== 'string' && it !== 'number' && it !== 'boolean') return false;
    if (type === undefined) type = it;
    else if (it !== type) return false;
  }
  return true;
}

/**
 * A copy of a value, strings and bytes cut to the length limit: a later change to the caller's
 * array or object must not change the span.
 */
function copyValue(value: unknown, limit: number): AttributeValue {
  if (typeof value === 'string') return (value.length > limit ? value.slice(0, limit) : value) as AttributeValue;
  if (value === null || typeof value !== 'object') return value as AttributeValue;
  if (value instanceof Uint8Array) return (value.length > limit ? value.slice(0, limit) : value) as unknown as AttributeValue;
  if (Array.isArray(value)) return value.map((item) => copyValue(item, limit)) as AttributeValue;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (item !== undefined) copy[key] = copyValue(item, limit);
  return copy as unknown as AttributeValue;
}

function limitAttributes(
  attributes: Attributes,
  countLimit: number,
  lengthLimit: number,
  valid: (value: unknown) => boolean,
): { attributes: Attributes; dropped: number } {
  const kept: Attributes = {};
  let count = 0;
  let dropped = 0;
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined) continue;
    if (count >= countLimit || key.length === 0 || !valid(value)) {
      dropped += 1;
      continue;
    }
    kept[key] = copyValue(value, lengthLimit);
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
