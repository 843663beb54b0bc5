import { z, type input, type output, type ZodError, type ZodOptional, type ZodRecord, type ZodString, type ZodType } from './zod.ts';

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

const scalarField = {
  required: z.boolean().optional(),
  description: z.string().optional(),
  pattern: z.string().optional(),
  minLength: z.number().int().nonnegative().optional(),
  maxLength: z.number().int().nonnegative().optional(),
  minimum: z.number().optional(),
  maximum: z.number().optional(),
  enum: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1).optional(),
};

export const scalarFieldSchema = z.strictObject({
  type: z.enum(['string', 'integer', 'number', 'boolean']),
  ...scalarField,
});

export const fieldSchema = z.union([
  scalarFieldSchema,
  z.strictObject({
    type: z.literal('array'),
    required: z.boolean().optional(),
    description: z.string().optional(),
    items: scalarFieldSchema.omit({ required: true }).default({ type: 'string' }),
    minItems: z.number().int().nonnegative().optional(),
    maxItems: z.number().int().positive().optional(),
  }),
]);

/**
 * The shape of an upstream's answer: the input field-spec language, extended with `object`
 * (`properties`), `array` of any shape (`items`), `null` and `nullable`. Properties are optional
 * unless `"required": true`; properties not declared are allowed (upstreams add fields).
 */
export const responseSchemaSchema = scalarFieldSchema.extend({
  type: z.enum(['string', 'integer', 'number', 'boolean', 'null', 'object', 'array']),
  /** `true`: `null` is accepted too. */
  nullable: z.boolean().optional(),
  minItems: z.number().int().nonnegative().optional(),
  maxItems: z.number().int().nonnegative().optional(),
  // Getters: the shape refers to itself (zod 4's way to declare a recursive schema).
  get items(): ZodOptional<typeof responseSchemaSchema> {
    return responseSchemaSchema.optional();
  },
  get properties(): ZodOptional<ZodRecord<ZodString, typeof responseSchemaSchema>> {
    return z.record(z.string(), responseSchemaSchema).optional();
  },
});

const fieldsSchema = z.record(z.string().regex(NAME, 'must be a plain field name'), fieldSchema);

/** What a failed attempt may be retried on: a per-try timeout, a transport failure, any 5xx, a 429. */
const retryOnSchema = z.enum(['timeout', 'network', '5xx', '429']);

/**
 * Retry fields, without defaults: a call's `retry` overrides only the fields it names. Ranges are
 * checked by the plan compiler (src/services/plan/resilience.ts), which names each field.
 */
const retryFields = {
  /** Requests on the wire in all, the first included: 3 = one try and two retries. 1..10. */
  attempts: z.number(),
  /** First backoff, ms; each retry doubles it, with full jitter. */
  backoffMs: z.number(),
  /** Longest backoff, ms (also caps a `Retry-After`). */
  maxBackoffMs: z.number(),
  on: z.array(retryOnSchema),
  /** Retries (and hedges) may add at most this share of the upstream's calls... */
  budgetRatio: z.number(),
  /** ...plus this many per second. The budget is per upstream. */
  budgetMinPerSecond: z.number(),
};

/** An upstream's retry policy; every field optional, with these defaults. */
export const retrySchema = z.strictObject({
  attempts: retryFields.attempts.default(3),
  backoffMs: retryFields.backoffMs.default(50),
  maxBackoffMs: retryFields.maxBackoffMs.default(1000),
  on: retryFields.on.default(['timeout', 'network', '5xx', '429']),
  budgetRatio: retryFields.budgetRatio.default(0.2),
  budgetMinPerSecond: retryFields.budgetMinPerSecond.default(5),
});

/** One breaker per upstream: opens when `failureRatio` of at least `minimumRequests` calls in `windowMs` failed. */
export const circuitBreakerSchema = z.strictObject({
  failureRatio: z.number().default(0.5),
  minimumRequests: z.number().default(20),
  windowMs: z.number().default(10_000),
  /** How long it stays open before letting probes through. */
  openMs: z.number().default(5000),
  /** Probes let through while half-open; every other call fails at once with `circuit_open`. */
  halfOpenRequests: z.number().default(1),
});

const hedgeFields = {
  /** Start another attempt when none has response headers after this many ms, or after a percentile of recent latency. */
  afterMs: z.union([z.number(), z.enum(['p90', 'p95', 'p99'])], { error: 'must be a number of ms or "p90", "p95" or "p99"' }),
  /** Extra attempts at most, 1..3. */
  maxExtra: z.number(),
};

/** An upstream's hedging policy; every field optional, with these defaults. */
export const hedgeSchema = z.strictObject({
  afterMs: hedgeFields.afterMs.default(50),
  maxExtra: hedgeFields.maxExtra.default(1),
});

/**
 * `false`, or an object of settings. A union reports a wrong field inside the object as "Invalid
 * input" on the union; this names the field instead (`attempts: expected number, received string`).
 */
function falseOr<T extends ZodType>(settings: T, what: string) {
  return z.union([z.literal(false), settings], {
    error: (issue) => {
      const isObject = typeof issue.input === 'object' && issue.input !== null;
      const inside = issue.code === 'invalid_union' && isObject ? (issue.errors[1] ?? []) : [];
      if (inside.length === 0) return `must be false or an object of ${what} settings`;
      return inside.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
    },
  });
}

/** Bounds of an adaptive bulkhead limit (src/lib/adaptive-limit.ts). */
export const adaptiveConcurrencySchema = z.strictObject({
  /** The limit never goes below this. */
  min: z.number().int().positive().default(4),
  /** Nor above this; also what the connection pool is sized for. */
  max: z.number().int().positive().default(512),
  /** Where it starts (Node: once per process; Workers: on every request). */
  initial: z.number().int().positive().default(32),
});

/**
 * Cache fields, without defaults: a call's `cache` overrides only the fields it names over its
 * upstream's. Ranges are checked by the plan compiler (src/services/plan/cache.ts).
 */
const cacheFields = {
  /** How long a 2xx JSON answer is fresh, ms. */
  ttlMs: z.number(),
  /** After `ttlMs`, this long the stale value is answered at once while one refresh runs, ms. */
  staleWhileRevalidateMs: z.number(),
  /** After `ttlMs`, this long the stale value is answered instead of a failure, ms. */
  staleIfErrorMs: z.number(),
  /** Client request headers whose values are part of the key (forwarded headers always are). */
  vary: z.array(z.string().min(1)),
  /** The upstream's Cache-Control (max-age, s-maxage, no-store, private) and Age win over `ttlMs`. */
  respectCacheControl: z.boolean(),
};

/** An upstream's cache; every field but `ttlMs` optional, with these defaults. */
export const cacheSchema = z.strictObject({
  ttlMs: cacheFields.ttlMs,
  staleWhileRevalidateMs: cacheFields.staleWhileRevalidateMs.default(0),
  staleIfErrorMs: cacheFields.staleIfErrorMs.default(0),
  vary: cacheFields.vary.default([]),
  respectCacheControl: cacheFields.respectCacheControl.default(true),
});

export const upstreamSchema = z.strictObject({
  /** http(s) origin, optionally with a base path. `${ENV}` is substituted at start-up. */
  baseUrl: z.string().min(1),
  /** Per-try timeout, ms. */
  timeoutMs: z.number().int().positive().default(1000),
  /**
   * Bulkhead: calls in flight to this upstream from the whole process (Workers: from one
   * request). Default 64. `"adaptive"`: a limit that follows measured latency and overloads,
   * with the bounds of `adaptiveConcurrency` (or their defaults).
   */
  maxConcurrency: z.union([z.number().int().positive(), z.literal('adaptive')]).optional().meta({ default: 64 }),
  /** Turns on the adaptive limit with these bounds (instead of a number in `maxConcurrency`). */
  adaptiveConcurrency: adaptiveConcurrencySchema.optional(),
  /** Calls allowed to wait for the bulkhead; more are rejected with code `rejected`. */
  maxQueue: z.number().int().nonnegative().default(1000),
  /** Longest wait for a bulkhead slot before `rejected`. Default: bounded by the deadline only. */
  maxQueueWaitMs: z.number().int().positive().optional(),
  /** Headers sent on every call; values may use `${ENV}` and never come from the client. */
  headers: z.record(z.string(), z.string()).default({}),
  /** Client request headers that may be forwarded to this upstream (case-insensitive). */
  forwardHeaders: z.array(z.string().min(1)).default([]),
  /** Largest response body accepted, bytes. */
  maxBodyBytes: z.number().int().positive().default(1024 * 1024),
  /** Deepest nesting of arrays and objects accepted in a response body; deeper fails the call. */
  maxJsonDepth: z.number().int().positive().max(1000).default(64),
  /** Retries for the idempotent calls to this upstream. None by default. */
  retry: retrySchema.optional(),
  /** A breaker shared by every call to this upstream. None by default. */
  circuitBreaker: circuitBreakerSchema.optional(),
  /** Hedging for the idempotent calls to this upstream. None by default. */
  hedge: hedgeSchema.optional(),
  /** GET calls to this upstream with the same key while one is in flight join it. Off by default. */
  coalesce: z.boolean().optional(),
  /** A cache for the GET calls to this upstream. None by default. */
  cache: cacheSchema.optional(),
});

export const callSchema = z.strictObject({
  upstream: z.string(),
  /** Path template under the upstream's baseUrl, e.g. `/users/{params.userId}`. */
  path: z.string().startsWith('/', 'must start with "/"'),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
  /** Query parameter templates. A parameter whose value resolves to nothing is left out. */
  query: z.record(z.string(), z.string()).default({}),
  /** JSON body template: a string that is exactly `{ref}` keeps the value's JSON type. */
  body: z.json().optional(),
  /** A failed required call cancels the others and fails the whole request (502/504). */
  required: z.boolean().default(false),
  /** Put in `data` when the call fails (the error is still listed). */
  fallback: z.json().optional(),
  /** Per-try timeout override, ms. */
  timeoutMs: z.number().int().positive().optional(),
  /** One call per element of this array (`{query.ids}`, `{calls.x.ids}`); `{item}` is the element. */
  each: z.string().optional(),
  /** Most elements `each` accepts from another call's result. */
  maxItems: z.number().int().positive().default(1000),
  /** `false`: an empty 2xx body is the value `null`. By default only a 204 may be empty. */
  expectBody: z.boolean().default(true),
  /** Safe to send twice. Default: true for GET, PUT and DELETE, false for POST and PATCH. */
  idempotent: z.boolean().optional(),
  /** Fields that override the upstream's `retry`, or `false` for none. */
  retry: falseOr(z.strictObject(retryFields).partial(), 'retry').optional(),
  /** Fields that override the upstream's `hedge`, or `false` for none. */
  hedge: falseOr(z.strictObject(hedgeFields).partial(), 'hedge').optional(),
  /** `false`: this call does not go through its upstream's breaker. */
  circuitBreaker: z.literal(false).optional(),
  /**
   * The shape of the upstream's answer (of each element's answer, with `each`): an answer that
   * does not match fails the call with `invalid_response`. Also the type of `data.<call>` in
   * `/openapi.json`.
   */
  schema: responseSchemaSchema.optional(),
  /**
   * Keep only these paths of the answer in `data` (`"address.city"` keeps `{ address: { city } }`);
   * applied to each element of an array, and per element for `each`. Missing paths are left out.
   */
  pick: z.array(z.string()).min(1).optional(),
  /**
   * For a required call: upstream statuses that become the gateway's own (`{ "404": 404 }`)
   * when this call fails with them. Unmapped failures answer 502/504.
   */
  statusMap: z.record(z.string(), z.number()).optional(),
  /** Overrides the upstream's `coalesce` (GET calls only). */
  coalesce: z.boolean().optional(),
  /** Fields that override the upstream's `cache`, or `false` for none (GET calls only). */
  cache: falseOr(z.strictObject(cacheFields).partial(), 'cache').optional(),
});

export const endpointSchema = z.strictObject({
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
  /** Hono-style path: `/v1/dashboard/:userId`. */
  path: z.string().startsWith('/', 'must start with "/"'),
  description: z.string().optional(),
  /** Budget for the whole request, ms. */
  deadlineMs: z.number().int().positive().default(2000),
  /** Calls of one request in flight at once. */
  maxConcurrency: z.number().int().positive().default(16),
  input: z
    .strictObject({
      params: fieldsSchema.default({}),
      query: fieldsSchema.default({}),
      body: fieldsSchema.optional(),
    })
    .default({ params: {}, query: {} }),
  calls: z
    .record(z.string().regex(NAME, 'call names are letters, digits, "_" and "-"'), callSchema)
    .refine((calls) => Object.keys(calls).length > 0, 'an endpoint needs at least one call'),
  /**
   * The shape of `data`: a JSON template over `{params.*}`, `{query.*}`, `{body.*}` and
   * `{calls.*}` (as they appear in `data`: picked, or the fallback or null of a failed call).
   * A string that is exactly one `{ref}` keeps the value's JSON type. Not applied to streams.
   */
  response: z.record(z.string(), z.json()).optional(),
  /** `Cache-Control` of complete 200 answers, with a weak `ETag` (`If-None-Match` gets 304). Default `no-store`. */
  cacheControl: z.string().min(1).optional(),
});

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  upstreams: z.record(z.string().regex(NAME, 'upstream names are letters, digits, "_" and "-"'), upstreamSchema),
  endpoints: z.array(endpointSchema),
  cors: z
    .strictObject({
      /** Frontend origins allowed to call the gateway from a browser. None by default. */
      origins: z.array(z.string()).default([]),
      credentials: z.boolean().default(false),
      maxAgeSeconds: z.number().int().nonnegative().default(600),
    })
    .default({ origins: [], credentials: false, maxAgeSeconds: 600 }),
  /** `false`: no `GET /openapi.json` and no `GET /docs`. */
  docs: z.boolean().default(true),
});

/** The config as an operator writes it (defaults optional). */
export type TributaryConfigInput = input<typeof configSchema>;
/** The config after validation, defaults filled in. */
export type TributaryConfig = output<typeof configSchema>;
export type UpstreamConfig = output<typeof upstreamSchema>;
export type EndpointConfig = output<typeof endpointSchema>;
export type CallConfig = output<typeof callSchema>;
export type FieldConfig = output<typeof fieldSchema>;
export type ResponseSchemaConfig = output<typeof responseSchemaSchema>;
export type RetryConfig = output<typeof retrySchema>;
export type CircuitBreakerConfig = output<typeof circuitBreakerSchema>;
export type HedgeConfig = output<typeof hedgeSchema>;
export type CacheConfig = output<typeof cacheSchema>;

/**
 * Types a config written in TypeScript. Validation happens once, when the plan is compiled.
 *
 * @example
 * export default defineConfig({
 *   upstreams: { users: { baseUrl: 'http://127.0.0.1:4001' } },
 *   endpoints: [{ path: '/v1/users/:id', calls: { user: { upstream: 'users', path: '/users/{params.id}' } } }],
 * });
 */
export function defineConfig(config: TributaryConfigInput): TributaryConfigInput {
  return config;
}
