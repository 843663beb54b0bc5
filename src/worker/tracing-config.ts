import type { Attributes } from '@opentelemetry/api';
import { samplerFromEnv } from '../services/tracing/samplers.ts';
import type { SpanSampler } from '../services/tracing/tracer.ts';
import type { Log } from './plan-cache.ts';

/** Where and how a Worker exports traces, read from its OTEL_* variables. Immutable. */
export interface TracingConfig {
  /** The full traces URL: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`. */
  url: string;
  /** The URL without credentials or query, for log lines. */
  shownUrl: string;
  /** OTEL_EXPORTER_OTLP_HEADERS, then OTEL_EXPORTER_OTLP_TRACES_HEADERS (typically an API key, a secret). */
  headers: Record<string, string>;
  /** service.name (OTEL_SERVICE_NAME, default `tributary`) and OTEL_RESOURCE_ATTRIBUTES. */
  resource: Attributes;
  sampler: SpanSampler;
  /** OTEL_EXPORTER_OTLP_TRACES_TIMEOUT or OTEL_EXPORTER_OTLP_TIMEOUT, ms; default 10000. */
  timeoutMs: number;
  /** OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL; default http/protobuf, as the specification says. */
  protocol: 'http/protobuf' | 'http/json';
}

export interface ParsedTracing {
  /** Undefined: no export configured (or switched off); spans are no-ops. */
  config: TracingConfig | undefined;
  /** What was wrong with the variables; never quotes a header value. */
  problems: string[];
}

type Vars = Record<string, string | undefined>;

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_SERVICE_NAME = 'tributary';

const listed = (value: string | undefined): string[] =>
  (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);

/**
 * Reads the standard OTEL_* variables the way the SDKs do, for what a Worker supports:
 * OTLP over HTTP (protobuf, the default, or JSON), the built-in samplers, static resource attributes.
 *
 * @example
 * const { config } = parseTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com' });
 * config?.url; // 'https://otlp.example.com/v1/traces'
 */
export function parseTracingConfig(vars: Vars): ParsedTracing {
  const problems: string[] = [];
  if (vars.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return { config: undefined, problems };
  const exporters = listed(vars.OTEL_TRACES_EXPORTER);
  if (exporters.length > 0 && !exporters.includes('otlp')) {
    const other = exporters.filter((e) => e !== 'none');
    if (other.length > 0) problems.push(`OTEL_TRACES_EXPORTER=${other.join(',')} is not supported on Workers (only otlp); traces are not exported`);
    return { config: undefined, problems };
  }
  const url = tracesUrl(vars);
  if (url === undefined) return { config: undefined, problems };
  let parsed: URL;
  try {
    parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError('not http(s)');
  } catch {
    problems.push(`the OTLP traces endpoint is not an http(s) URL; traces are not exported`);
    return { config: undefined, problems };
  }
  const protocol = parseProtocol(vars, problems);
  const headers = {
    ...parsePairs(vars.OTEL_EXPORTER_OTLP_HEADERS, 'OTEL_EXPORTER_OTLP_HEADERS', problems),
    ...parsePairs(vars.OTEL_EXPORTER_OTLP_TRACES_HEADERS, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS', problems),
  };
  const resourceVars = parsePairs(vars.OTEL_RESOURCE_ATTRIBUTES, 'OTEL_RESOURCE_ATTRIBUTES', problems);
  const serviceName = vars.OTEL_SERVICE_NAME?.trim() || resourceVars['service.name'] || DEFAULT_SERVICE_NAME;
  const resource: Attributes = {
    ...resourceVars,
    'service.name': serviceName,
    'telemetry.sdk.name': 'opentelemetry',
    'telemetry.sdk.language': 'webjs',
  };
  return {
    config: {
      url,
      shownUrl: `${parsed.origin}${parsed.pathname}`,
      headers,
      resource,
      sampler: samplerFromEnv(vars, problems),
      timeoutMs: parseTimeout(vars.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? vars.OTEL_EXPORTER_OTLP_TIMEOUT, problems),
      protocol,
    },
    problems,
  };
}

/** The traces variable wins over the shared one; anything but the two HTTP encodings is named and replaced. */
function parseProtocol(vars: Vars, problems: string[]): TracingConfig['protocol'] {
  const own = vars.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim();
  const [name, value] = own ? ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', own] : ['OTEL_EXPORTER_OTLP_PROTOCOL', vars.OTEL_EXPORTER_OTLP_PROTOCOL?.trim() ?? ''];
  if (value === 'http/json' || value === 'http/protobuf') return value;
  if (value !== '') problems.push(`${name}=${value} is not supported on Workers (use http/protobuf or http/json); traces are sent as http/protobuf`);
  return 'http/protobuf';
}

function tracesUrl(vars: Vars): string | undefined {
  const traces = vars.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces; // used as given, as the specification says
  const base = vars.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!base) return undefined;
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

/** `k=v,k2=v2`, values percent-encoded (W3C baggage style), as OTEL_*_HEADERS and OTEL_RESOURCE_ATTRIBUTES are. */
function parsePairs(text: string | undefined, name: string, problems: string[]): Record<string, string> {
  const pairs: Record<string, string> = {};
  if (text === undefined) return pairs;
  const bad: number[] = [];
  listed(text).forEach((entry, index) => {
    const eq = entry.indexOf('=');
    const key = eq > 0 ? entry.slice(0, eq).trim() : '';
    if (key === '') return void bad.push(index + 1);
    try {
      pairs[decodeURIComponent(key)] = decodeURIComponent(entry.slice(eq + 1).trim());
    } catch {
      bad.push(index + 1);
    }
  });
  // Headers carry secrets: name the entry by position, never by content.
  if (bad.length > 0) problems.push(`${name}: ignored what is not key=value (entry ${bad.join(', ')})`);
  return pairs;
}

function parseTimeout(text: string | undefined, problems: string[]): number {
  if (text === undefined || text.trim() === '') return DEFAULT_TIMEOUT_MS;
  const value = Number(text);
  if (Number.isFinite(value) && value > 0) return value;
  problems.push(`OTEL_EXPORTER_OTLP_TIMEOUT must be a positive number of ms, got "${text}"; using ${DEFAULT_TIMEOUT_MS}`);
  return DEFAULT_TIMEOUT_MS;
}

/**
 * The tracing config of one isolate: parsed on the first request and again only when an
 * OTEL_* variable changes, so a problem is logged once, not per request. The config is
 * immutable (samplers keep no state); every span lives in a per-request provider.
 *
 * @example
 * const tracingFor = createTracingCache(log);
 * const config = tracingFor(vars); // in fetch()
 */
export function createTracingCache(log: Log): (vars: Vars) => TracingConfig | undefined {
  let last: { key: string; config: TracingConfig | undefined } | undefined;
  return function tracingFor(vars) {
    const key = JSON.stringify(Object.entries(vars).filter(([name]) => name.startsWith('OTEL_')).sort());
    if (last?.key !== key) {
      const { config, problems } = parseTracingConfig(vars);
      for (const problem of problems) log(`tributary: ${problem}`);
      last = { key, config };
    }
    return last.config;
  };
}
