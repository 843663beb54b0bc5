import { z, type input, type output, type ZodError, type ZodType } from './zod.ts';

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

const fieldsSchema = z.record(z.string().regex(NAME, 'must be a plain field name'), fieldSchema);

export const upstreamSchema = z.strictObject({
  /** http(s) origin, optionally with a base path. `${ENV}` is substituted at start-up. */
  baseUrl: z.string().min(1),
  /** Per-try timeout, ms. */
  timeoutMs: z.number().int().positive().default(1000),
  /** Bulkhead: calls in flight to this upstream from the whole process. */
  maxConcurrency: z.number().int().positive().default(64),
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
});

/** The config as an operator writes it (defaults optional). */
export type TributaryConfigInput = input<typeof configSchema>;
/** The config after validation, defaults filled in. */
export type TributaryConfig = output<typeof configSchema>;
export type UpstreamConfig = output<typeof upstreamSchema>;
export type EndpointConfig = output<typeof endpointSchema>;
export type CallConfig = output<typeof callSchema>;
export type FieldConfig = output<typeof fieldSchema>;

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
