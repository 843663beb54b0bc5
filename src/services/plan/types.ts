import type { ZodType } from '../zod.ts';
import type { CallConfig, EndpointConfig, FieldConfig, ResponseSchemaConfig, TributaryConfig } from '../config-schema.ts';
import type { ResponseCheck } from '../response-schema.ts';
import type { PickTree } from '../pick.ts';
import type { BodyTemplate, Ref, Template } from '../template.ts';

/** What a retry may be tried again on: a per-try timeout, a transport failure, any 5xx, a 429. */
export type RetryOn = 'timeout' | 'network' | '5xx' | '429';

/** A retry policy after defaults and call overrides are merged. `attempts` counts every request on the wire. */
export interface CompiledRetry {
  attempts: number;
  backoffMs: number;
  maxBackoffMs: number;
  on: ReadonlySet<RetryOn>;
  budgetRatio: number;
  budgetMinPerSecond: number;
}

/** One circuit breaker per upstream; see `src/lib/circuit-breaker.ts`. */
export interface CompiledBreaker {
  failureRatio: number;
  minimumRequests: number;
  windowMs: number;
  openMs: number;
  halfOpenRequests: number;
}

/** Start another attempt when none has response headers after `after`. */
export interface CompiledHedge {
  /** A fixed delay in ms, or a percentile of the upstream's recent time to headers. */
  after: { ms: number } | { percentile: 90 | 95 | 99 };
  maxExtra: number;
}

/** A call's cache after the call's fields are merged over its upstream's. */
export interface CompiledCache {
  ttlMs: number;
  staleWhileRevalidateMs: number;
  staleIfErrorMs: number;
  /** Lower-cased client header names, sorted: their values are part of the key. */
  vary: readonly string[];
  respectCacheControl: boolean;
}

export interface CompiledUpstream {
  name: string;
  /** Origin plus base path, without a trailing slash: `http://127.0.0.1:4001/api`. */
  base: string;
  origin: string;
  /** Host and port of the origin (`server.address`, `server.port` in telemetry). */
  address: string;
  port: number;
  timeoutMs: number;
  /** The most calls in flight: the fixed limit, or an adaptive limit's `max`. */
  maxConcurrency: number;
  /** Set when the limit is adaptive: it starts at `initial` and moves between `min` and `max`. */
  adaptive: { min: number; max: number; initial: number } | undefined;
  maxQueue: number;
  maxQueueWaitMs: number | undefined;
  /** Lower-cased names, environment already substituted. */
  headers: Record<string, string>;
  forwardHeaders: ReadonlySet<string>;
  maxBodyBytes: number;
  /** Deepest nesting of arrays and objects accepted in a response body. */
  maxJsonDepth: number;
  /** The upstream's breaker; undefined when it has none. Shared by every call to it. */
  circuitBreaker: CompiledBreaker | undefined;
  /** Budget shared by the retries and hedges of every call to this upstream, when any call retries or hedges. */
  retryBudget: { ratio: number; minPerSecond: number } | undefined;
}

export interface CompiledCall {
  name: string;
  upstream: CompiledUpstream;
  method: CallConfig['method'];
  path: Template;
  /**
   * The CLIENT span's `url.template`: the upstream's base path, then the call's path template as
   * written (`/api/users/{params.userId}`). One string for every request, made at compile time.
   */
  urlTemplate: string;
  query: [string, Template][];
  /**
   * The call's URL is `upstream.base` and the rendered path, already as the URL parser would
   * write it, whatever the values (each is percent-encoded, and `.`/`..` refused): no query, and
   * no fixed part the parser would rewrite. Its requests are then built without parsing a URL.
   */
  plainUrl?: boolean;
  body: BodyTemplate | undefined;
  required: boolean;
  fallback: { value: unknown } | undefined;
  timeoutMs: number;
  each: Ref | undefined;
  maxItems: number;
  /** False: an empty 2xx body is `null`; true (default): only a 204 or 205 may be empty. */
  expectBody: boolean;
  /** Calls whose results this call's templates use. */
  dependsOn: string[];
  /** Safe to send twice: GET, HEAD, OPTIONS, PUT, DELETE, or `"idempotent": true`. */
  idempotent: boolean;
  /** Effective retry policy (upstream's, call's fields over it); undefined: one attempt. Never with `hedge`. */
  retry: CompiledRetry | undefined;
  /** Effective hedge policy; undefined: none. Never with `retry`. */
  hedge: CompiledHedge | undefined;
  /** Whether this call goes through its upstream's breaker (false when the upstream has none or the call opts out). */
  useBreaker: boolean;
  /** The declared shape of an answer, and its compiled check; undefined: any JSON is accepted. */
  schema?: { config: ResponseSchemaConfig; check: ResponseCheck } | undefined;
  /** The paths of the answer kept in `data` (and in stream lines); undefined: the whole answer. */
  pick?: PickTree | undefined;
  /** Upstream status -> the gateway's answer, when this required call fails with it. */
  statusMap?: ReadonlyMap<number, number> | undefined;
  /** Calls with the same key in flight at once share one request (GET only). */
  coalesce?: boolean;
  /** The call's cache (GET only); undefined: none. */
  cache?: CompiledCache | undefined;
}

export interface CompiledEndpoint {
  /** `GET /v1/dashboard/:userId`, used in messages and span names. */
  id: string;
  method: EndpointConfig['method'];
  path: string;
  deadlineMs: number;
  maxConcurrency: number;
  input: { params: ZodType; query: ZodType; body: ZodType | undefined; arrayQuery: ReadonlySet<string> };
  description?: string | undefined;
  /** The input fields as declared (path params with their defaults): what `/openapi.json` describes. */
  fields?: { params: Record<string, FieldConfig>; query: Record<string, FieldConfig>; body: Record<string, FieldConfig> | undefined };
  /** In declaration order: response keys follow it. */
  calls: CompiledCall[];
  /** The `response` template: what `data` becomes; undefined: one key per call. */
  response?: BodyTemplate | undefined;
  /** `Cache-Control` of complete 200 answers (with a weak ETag); undefined: `no-store`. */
  cacheControl?: string | undefined;
}

export interface Plan {
  upstreams: Map<string, CompiledUpstream>;
  endpoints: CompiledEndpoint[];
  cors: TributaryConfig['cors'];
  /** `GET /openapi.json` and `GET /docs` are served. Default true. */
  docs?: boolean;
}

export type Env = Record<string, string | undefined>;
