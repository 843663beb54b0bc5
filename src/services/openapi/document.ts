import { ERROR_CODES } from '../../lib/errors.ts';
import { DEFAULT_MAX_INPUT_ITEMS } from '../input-schema.ts';
import type { FieldConfig } from '../config-schema.ts';
import type { CompiledCall, CompiledEndpoint, Plan } from '../plan/index.ts';
import { fieldJsonSchema, responseJsonSchema, type JsonSchema } from './json-schema.ts';

export interface OpenApiOptions {
  /** `info.title`. Default "Tributary gateway". */
  title?: string;
  /** `info.version`, the version of this API (not of Tributary). Default "1". */
  version?: string;
}

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonSchema) => ({ 'application/json': { schema } });

/**
 * The OpenAPI 3.1 document of a compiled plan: every endpoint with its path parameters, query
 * and body fields, its answers (200, 400, 502, 504 and the others the gateway gives) with the
 * response envelope, the streaming media types, and `data.<call>` typed by each call's `schema`.
 * Pure data, built once at start-up.
 *
 * @example
 * const doc = openApiDocument(compilePlan(config));
 * doc.paths['/v1/dashboard/{userId}'].get.parameters[0].name; // 'userId'
 */
export function openApiDocument(plan: Plan, options: OpenApiOptions = {}): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const endpoint of plan.endpoints) {
    const path = openApiPath(endpoint.path);
    (paths[path] ??= {})[endpoint.method.toLowerCase()] = operation(endpoint, path);
  }
  return {
    openapi: '3.1.0',
    info: { title: options.title ?? 'Tributary gateway', version: options.version ?? '1' },
    paths,
    components: { schemas: COMPONENTS },
  };
}

/** `/v1/users/:userId` -> `/v1/users/{userId}`. */
const openApiPath = (path: string): string => path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');

function operation(endpoint: CompiledEndpoint, path: string): JsonSchema {
  const fields = endpoint.fields ?? { params: {}, query: {}, body: undefined };
  const parameters = [
    ...Object.entries(fields.params).map(([name, field]) => parameter(name, 'path', field, true)),
    ...Object.entries(fields.query).map(([name, field]) => parameter(name, 'query', field, field.required === true)),
  ];
  const envelope = (failed: boolean): JsonSchema => ({
    type: 'object',
    required: ['data', 'errors', 'meta'],
    properties: { data: endpoint.response ? RENDERED_DATA : dataSchema(endpoint.calls, failed), errors: { type: 'array', items: ref('CallError') }, meta: ref('Meta') },
  });
  const complete = { 'x-aggregate-complete': { description: 'false when a call failed', schema: { type: 'string', enum: ['true', 'false'] } } };
  const responses: Record<string, JsonSchema> = {
    200: {
      description: 'Every required call succeeded; failed optional calls are listed in `errors`.',
      headers: complete,
      content: {
        ...json(envelope(false)),
        // One line per call as it settles, then a last line with meta (Accept: application/x-ndjson).
        'application/x-ndjson': { schema: ref('StreamLine') },
        // The same lines as events: `event: call` per call, `event: done` last (Accept: text/event-stream).
        'text/event-stream': { schema: { type: 'string' } },
      },
    },
    400: { description: 'Invalid input: every offending field is named.', content: json(ref('InvalidRequest')) },
    422: { description: 'Valid input that needs more upstream requests than this deployment allows.', content: json(ref('Error')) },
    502: { description: 'A required call failed; the body still carries what the other calls gave.', headers: complete, content: json(envelope(true)) },
    503: { description: 'The gateway is overloaded or draining; retry after `Retry-After`.', content: json(ref('Error')) },
    504: { description: "A required call timed out or the request's deadline passed.", headers: complete, content: json(envelope(true)) },
  };
  if (fields.body) {
    responses[413] = { description: 'The request body is too large.', content: json(ref('Error')) };
    responses[415] = { description: 'The request body is not application/json.', content: json(ref('Error')) };
  }
  return {
    operationId: operationId(endpoint),
    // The path is what a frontend developer looks for in a list of endpoints; the description says the rest.
    summary: path,
    ...(endpoint.description ? { description: endpoint.description } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(fields.body ? { requestBody: { required: true, content: json(objectOf(fields.body)) } } : {}),
    responses,
  };
}

/** `GET /v1/users/:userId/with-manager` -> `getV1UsersUserIdWithManager`. */
function operationId(endpoint: CompiledEndpoint): string {
  const words = `${endpoint.method.toLowerCase()} ${endpoint.path}`.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return words.map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1))).join('');
}

function parameter(name: string, where: 'path' | 'query', field: FieldConfig, required: boolean): JsonSchema {
  return {
    name,
    in: where,
    required,
    ...(field.description ? { description: field.description } : {}),
    schema: fieldJsonSchema(field, DEFAULT_MAX_INPUT_ITEMS),
    // `?ids=1&ids=2`; the gateway also accepts `?ids=1,2`.
    ...(field.type === 'array' ? { style: 'form', explode: true } : {}),
  };
}

function objectOf(fields: Record<string, FieldConfig>): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [name, field] of Object.entries(fields)) properties[name] = fieldJsonSchema(field, DEFAULT_MAX_INPUT_ITEMS);
  const required = Object.keys(fields).filter((name) => fields[name]?.required);
  return { type: 'object', properties, ...(required.length > 0 ? { required } : {}) };
}

/** An endpoint with a `response` template: `data` is that template rendered, not one key per call. */
const RENDERED_DATA: JsonSchema = { type: 'object', description: "The endpoint's `response` template, rendered from its calls and input." };
const PICKED: JsonSchema = { description: "The paths of the upstream's answer the call's `pick` keeps." };

/**
 * `data`: one key per call, in declaration order. A call may be `null` (or its fallback) when it
 * failed; in a 200 that can only be an optional call. `each` gives an array, one value per element.
 */
function dataSchema(calls: readonly CompiledCall[], failed: boolean): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const call of calls) {
    // A picked answer keeps only some of the declared fields (required ones included): any JSON.
    const value = call.pick ? PICKED : call.schema ? responseJsonSchema(call.schema.config) : {};
    const orFailed = failed || !call.required ? withFailure(value, call) : value;
    properties[call.name] = call.each ? { type: 'array', items: orFailed } : orFailed;
  }
  return { type: 'object', required: calls.map((c) => c.name), properties };
}

/** What a failed call leaves in `data`: its fallback, or `null`. An untyped call is any JSON already. */
function withFailure(value: JsonSchema, call: CompiledCall): JsonSchema {
  if (Object.keys(value).length === 0) return value;
  const failure: JsonSchema = call.fallback ? { const: call.fallback.value } : { type: 'null' };
  return { anyOf: [value, failure] };
}

const errorBody: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
};

const COMPONENTS: Record<string, JsonSchema> = {
  CallError: {
    type: 'object',
    required: ['call', 'upstream', 'code', 'message', 'attempts'],
    properties: {
      call: { type: 'string' },
      upstream: { type: 'string' },
      code: { type: 'string', enum: [...ERROR_CODES] },
      message: { type: 'string' },
      attempts: { type: 'integer' },
      status: { type: 'integer', description: 'The upstream HTTP status, for `http_status`.' },
      item: { type: 'integer', description: 'The element index, for a call with `each`.' },
    },
  },
  Meta: {
    type: 'object',
    required: ['complete', 'durationMs'],
    properties: { complete: { type: 'boolean' }, durationMs: { type: 'integer' } },
  },
  StreamLine: {
    description: 'One NDJSON line: a call as it settles, or the last line with meta.',
    oneOf: [
      {
        type: 'object',
        required: ['call', 'ok'],
        properties: { call: { type: 'string' }, ok: { type: 'boolean' }, item: { type: 'integer' }, data: {}, error: ref('CallError') },
      },
      { type: 'object', required: ['meta', 'complete'], properties: { meta: ref('Meta'), complete: { type: 'boolean' }, status: { type: 'integer' } } },
    ],
  },
  Error: errorBody,
  InvalidRequest: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message', 'issues'],
        properties: {
          code: { type: 'string', const: 'invalid_request' },
          message: { type: 'string' },
          issues: { type: 'array', items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } } },
        },
      },
    },
  },
};
