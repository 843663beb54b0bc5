import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { encodeSpans } from '../services/tracing/otlp-protobuf.ts';
import type { EncodedSpans } from './span-batcher.ts';

type Env = Record<string, string | undefined>;

export type OtlpSignal = 'traces' | 'metrics';
export type OtlpProtocol = 'http/protobuf' | 'http/json';

/** How one signal is sent, read from the standard variables. */
export interface OtlpTarget {
  protocol: OtlpProtocol;
  /** The URL the exporter posts to, without credentials or query: for log lines. */
  shownUrl: string;
}

/** The specification's default, for both signals. */
const DEFAULT_PROTOCOL: OtlpProtocol = 'http/protobuf';

/**
 * The protocol and URL of one signal, as the OpenTelemetry specification reads them:
 * OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf.
 * An unsupported value (grpc) is named in one line and http/protobuf is used instead.
 *
 * @example
 * otlpTarget({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, 'traces', console.warn).protocol; // 'http/json'
 */
export function otlpTarget(env: Env, signal: OtlpSignal, warn: (line: string) => void): OtlpTarget {
  const specific = `OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_PROTOCOL`;
  const [name, raw] = env[specific]?.trim() ? [specific, env[specific]] : ['OTEL_EXPORTER_OTLP_PROTOCOL', env.OTEL_EXPORTER_OTLP_PROTOCOL];
  const value = raw?.trim() ?? '';
  let protocol = DEFAULT_PROTOCOL;
  if (value === 'http/json' || value === 'http/protobuf') protocol = value;
  else if (value !== '') {
    // The same line for both signals when the shared variable is wrong: the caller prints it once.
    const what = name === 'OTEL_EXPORTER_OTLP_PROTOCOL' ? 'traces and metrics are' : `${signal} are`;
    warn(`tributary: ${name}=${value} is not supported (use http/protobuf or http/json); ${what} sent as ${DEFAULT_PROTOCOL}`);
  }
  return { protocol, shownUrl: shown(endpointOf(env, signal)) };
}

/** The URL the SDK's exporter posts to: the signal's own endpoint as given, else the base + `/v1/<signal>`. */
function endpointOf(env: Env, signal: OtlpSignal): string {
  const own = env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`]?.trim();
  if (own) return own;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || 'http://localhost:4318';
  return `${base.replace(/\/+$/, '')}/v1/${signal}`;
}

function shown(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(an invalid URL)';
  }
}

/**
 * The SDK's OTLP/HTTP trace exporter for the protocol; it reads its endpoint, headers, timeout
 * and compression from the environment itself. Loaded only when asked for.
 *
 * @example
 * const exporter = await createTraceExporter(otlpTarget(process.env, 'traces', console.warn).protocol);
 */
export async function createTraceExporter(protocol: OtlpProtocol): Promise<SpanExporter> {
  if (protocol === 'http/json') return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
  // The SDK's OTLP/HTTP delivery (endpoint, headers, timeout, compression, retries from the
  // environment), with our encoder: the same bytes as the SDK's serializer, at less cost per span.
  const [{ OTLPExporterBase }, { convertLegacyHttpOptions, createOtlpHttpExportDelegate }, { ProtobufTraceSerializer, TraceExporterMetricsHelper }] = await Promise.all([
    import('@opentelemetry/otlp-exporter-base'),
    import('@opentelemetry/otlp-exporter-base/node-http'),
    import('@opentelemetry/otlp-transformer'),
  ]);
  const serializer = {
    // Spans, or a request the span batcher has already encoded.
    serializeRequest: (spans: ReadableSpan[] | EncodedSpans) => ('bytes' in spans ? spans.bytes : encodeSpans(spans)),
    deserializeResponse: ProtobufTraceSerializer.deserializeResponse,
  };
  const options = convertLegacyHttpOptions({}, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' });
  return new OTLPExporterBase(createOtlpHttpExportDelegate(options, serializer, 'otlp_http_span_exporter', TraceExporterMetricsHelper, undefined));
}

/**
 * The SDK's OTLP/HTTP metric exporter for the protocol (temporality from the environment too).
 *
 * @example
 * const exporter = await createMetricExporter('http/json');
 */
export async function createMetricExporter(protocol: OtlpProtocol): Promise<PushMetricExporter> {
  if (protocol === 'http/json') return new (await import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter();
  return new (await import('@opentelemetry/exporter-metrics-otlp-proto')).OTLPMetricExporter();
}
