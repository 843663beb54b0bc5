import type { Attributes, AttributeValue, HrTime } from '@opentelemetry/api';
import type { EncodableSpan } from '../services/tracing/otlp-protobuf.ts';

/**
 * The OTLP/HTTP JSON encoding of traces (opentelemetry-proto `ExportTraceServiceRequest`):
 * ids in lower-case hex, enums as numbers, 64-bit integers and nanosecond times as strings.
 * Small on purpose: the SDK's own transformer and exporter are not needed for one POST.
 */
export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number | string;
  arrayValue?: { values: OtlpAnyValue[] };
}

export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  traceState?: string;
  parentSpanId?: string;
  name: string;
  /** OTLP `SpanKind`: the API's value + 1 (1 internal, 2 server, 3 client, 4 producer, 5 consumer). */
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpKeyValue[];
  droppedAttributesCount: number;
  events: { timeUnixNano: string; name: string; attributes: OtlpKeyValue[]; droppedAttributesCount: number }[];
  droppedEventsCount: number;
  links: { traceId: string; spanId: string; traceState?: string; attributes: OtlpKeyValue[]; droppedAttributesCount: number }[];
  droppedLinksCount: number;
  /** 0 unset, 1 ok, 2 error: the same numbers as the API's `SpanStatusCode`. */
  status: { code: number; message?: string };
}

export interface OtlpTraces {
  resourceSpans: {
    resource: { attributes: OtlpKeyValue[]; droppedAttributesCount: number };
    scopeSpans: { scope: { name: string; version?: string }; schemaUrl?: string; spans: OtlpSpan[] }[];
  }[];
}

/**
 * One export request for the spans of one resource, grouped by instrumentation scope.
 *
 * @example
 * const body = JSON.stringify(toOtlpTraces(spans, { 'service.name': 'tributary' }));
 */
export function toOtlpTraces(spans: readonly EncodableSpan[], resource: Attributes): OtlpTraces {
  const scopes = new Map<string, OtlpTraces['resourceSpans'][number]['scopeSpans'][number]>();
  for (const span of spans) {
    const { name, version, schemaUrl } = span.instrumentationScope;
    const key = `${name}\n${version ?? ''}\n${schemaUrl ?? ''}`;
    let scope = scopes.get(key);
    if (!scope) {
      scope = { scope: { name, ...(version ? { version } : {}) }, ...(schemaUrl ? { schemaUrl } : {}), spans: [] };
      scopes.set(key, scope);
    }
    scope.spans.push(toOtlpSpan(span));
  }
  return {
    resourceSpans: [{ resource: { attributes: toKeyValues(resource), droppedAttributesCount: 0 }, scopeSpans: [...scopes.values()] }],
  };
}

function toOtlpSpan(span: EncodableSpan): OtlpSpan {
  const context = span.spanContext();
  const traceState = context.traceState?.serialize();
  const parent = span.parentSpanContext?.spanId;
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    ...(traceState ? { traceState } : {}),
    ...(parent ? { parentSpanId: parent } : {}),
    name: span.name,
    kind: span.kind + 1,
    startTimeUnixNano: nanos(span.startTime),
    endTimeUnixNano: nanos(span.endTime),
    attributes: toKeyValues(span.attributes),
    droppedAttributesCount: span.droppedAttributesCount,
    events: span.events.map((event) => ({
      timeUnixNano: nanos(event.time),
      name: event.name,
      attributes: toKeyValues(event.attributes ?? {}),
      droppedAttributesCount: event.droppedAttributesCount ?? 0,
    })),
    droppedEventsCount: span.droppedEventsCount,
    links: span.links.map((link) => {
      const state = link.context.traceState?.serialize();
      return {
        traceId: link.context.traceId,
        spanId: link.context.spanId,
        ...(state ? { traceState: state } : {}),
        attributes: toKeyValues(link.attributes ?? {}),
        droppedAttributesCount: link.droppedAttributesCount ?? 0,
      };
    }),
    droppedLinksCount: span.droppedLinksCount,
    status: { code: span.status.code, ...(span.status.message ? { message: span.status.message } : {}) },
  };
}

/** `[seconds, nanoseconds]` as a decimal string of nanoseconds: too large for a JSON number. */
export function nanos(time: HrTime): string {
  return (BigInt(Math.trunc(time[0])) * 1_000_000_000n + BigInt(Math.trunc(time[1]))).toString();
}

export function toKeyValues(attributes: Attributes): OtlpKeyValue[] {
  const list: OtlpKeyValue[] = [];
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined) list.push({ key, value: toAnyValue(value) });
  }
  return list;
}

function toAnyValue(value: AttributeValue | null | undefined): OtlpAnyValue {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return { intValue: String(value) };
    // JSON has no NaN or Infinity; the protobuf JSON mapping spells them as strings.
    return { doubleValue: Number.isFinite(value) ? value : String(value) };
  }
  if (Array.isArray(value)) return { arrayValue: { values: value.map((v) => toAnyValue(v)) } };
  return {}; // null inside an array: an empty value
}
