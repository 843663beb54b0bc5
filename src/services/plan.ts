import type { ZodType } from './zod.ts';
import {
  configSchema,
  type CallConfig,
  type EndpointConfig,
  type FieldConfig,
  type TributaryConfig,
  type UpstreamConfig,
} from './config-schema.ts';
import { compileFields } from './input-schema.ts';
import {
  bodyRefs,
  parseBody,
  parseTemplate,
  refsOf,
  soleRef,
  type BodyTemplate,
  type Ref,
  type Template,
} from './template.ts';

/** A config the compiler refused. `issues` has one line per problem, each naming where it is. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`invalid Tributary config:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.issues = issues;
  }
}

export interface CompiledUpstream {
  name: string;
  /** Origin plus base path, without a trailing slash: `http://127.0.0.1:4001/api`. */
  base: string;
  origin: string;
  timeoutMs: number;
  maxConcurrency: number;
  maxQueue: number;
  maxQueueWaitMs: number | undefined;
  /** Lower-cased names, environment already substituted. */
  headers: Record<string, string>;
  forwardHeaders: ReadonlySet<string>;
  maxBodyBytes: number;
}

export interface CompiledCall {
  name: string;
  upstream: CompiledUpstream;
  method: CallConfig['method'];
  path: Template;
  query: [string, Template][];
  body: BodyTemplate | undefined;
  required: boolean;
  fallback: { value: unknown } | undefined;
  timeoutMs: number;
  each: Ref | undefined;
  maxItems: number;
  /** Calls whose results this call's templates use. */
  dependsOn: string[];
}

export interface CompiledEndpoint {
  /** `GET /v1/dashboard/:userId`, used in messages and span names. */
  id: string;
  method: EndpointConfig['method'];
  path: string;
  deadlineMs: number;
  maxConcurrency: number;
  input: { params: ZodType; query: ZodType; body: ZodType | undefined; arrayQuery: ReadonlySet<string> };
  /** In declaration order: response keys follow it. */
  calls: CompiledCall[];
}

export interface Plan {
  upstreams: Map<string, CompiledUpstream>;
  endpoints: CompiledEndpoint[];
  cors: TributaryConfig['cors'];
}

export type Env = Record<string, string | undefined>;

/**
 * Validates a config and compiles it into an executable plan, once, at start-up. Every
 * problem found is reported together, each naming its endpoint, call and field.
 *
 * @example
 * const plan = compilePlan(JSON.parse(readFileSync('tributary.json', 'utf8')), process.env);
 */
export function compilePlan(raw: unknown, env: Env = {}): Plan {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${formatPath(i.path, raw)}: ${i.message}`),
    );
  }
  const config = parsed.data;
  const issues: string[] = [];
  const upstreams = new Map<string, CompiledUpstream>();
  for (const [name, upstream] of Object.entries(config.upstreams)) {
    const compiled = compileUpstream(name, upstream, env, issues);
    if (compiled) upstreams.set(name, compiled);
  }
  const endpoints: CompiledEndpoint[] = [];
  const seen = new Set<string>();
  for (const endpoint of config.endpoints) {
    const id = `${endpoint.method} ${endpoint.path}`;
    // `/y/:a` and `/y/:b` are the same route: the router would only ever reach the first.
    const shape = `${endpoint.method} ${endpoint.path.replace(/:[A-Za-z0-9_]+/g, ':')}`;
    if (seen.has(shape)) issues.push(`endpoint ${id}: declared twice (another endpoint has the same method and path)`);
    seen.add(shape);
    const compiled = compileEndpoint(endpoint, `endpoint ${id}`, config.upstreams, upstreams, issues);
    if (compiled) endpoints.push(compiled);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { upstreams, endpoints, cors: config.cors };
}

function compileUpstream(name: string, upstream: UpstreamConfig, env: Env, issues: string[]): CompiledUpstream | undefined {
  const where = `upstream "${name}"`;
  const baseUrl = substituteEnv(upstream.baseUrl, env, `${where}, field "baseUrl"`, issues);
  const headers: Record<string, string> = {};
  for (const [header, value] of Object.entries(upstream.headers)) {
    const resolved = substituteEnv(value, env, `${where}, header "${header}"`, issues);
    if (resolved !== undefined) headers[header.toLowerCase()] = resolved;
  }
  if (baseUrl === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    issues.push(`${where}, field "baseUrl": "${baseUrl}" is not a valid URL`);
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    issues.push(`${where}, field "baseUrl": must be http or https, got ${url.protocol}`);
    return undefined;
  }
  if (url.username || url.password || url.search || url.hash) {
    issues.push(`${where}, field "baseUrl": must not carry credentials, a query or a fragment (use "headers")`);
    return undefined;
  }
  return {
    name,
    base: `${url.origin}${url.pathname.replace(/\/+$/, '')}`,
    origin: url.origin,
    timeoutMs: upstream.timeoutMs,
    maxConcurrency: upstream.maxConcurrency,
    maxQueue: upstream.maxQueue,
    maxQueueWaitMs: upstream.maxQueueWaitMs,
    headers,
    forwardHeaders: new Set(upstream.forwardHeaders.map((h) => h.toLowerCase())),
    maxBodyBytes: upstream.maxBodyBytes,
  };
}

/** Replaces `${NAME}` with the environment's value; a missing variable is an issue. */
function substituteEnv(value: string, env: Env, where: string, issues: string[]): string | undefined {
  let ok = true;
  const out = value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const found = env[name];
    if (found === undefined) {
      issues.push(`${where}: environment variable ${name} is not set`);
      ok = false;
      return '';
    }
    return found;
  });
  return ok ? out : undefined;
}

function compileEndpoint(
  endpoint: EndpointConfig,
  where: string,
  declared: Record<string, UpstreamConfig>,
  upstreams: Map<string, CompiledUpstream>,
  issues: string[],
): CompiledEndpoint | undefined {
  const before = issues.length;
  const pathParams = [...endpoint.path.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] as string);
  if (/[{}*?]/.test(endpoint.path)) issues.push(`${where}, field "path": use plain ":name" parameters only`);
  const params: Record<string, FieldConfig> = {};
  for (const name of pathParams) params[name] = endpoint.input.params[name] ?? { type: 'string', minLength: 1 };
  for (const name of Object.keys(endpoint.input.params)) {
    if (!pathParams.includes(name)) issues.push(`${where}, input.params.${name}: not a parameter of the path`);
    else if (endpoint.input.params[name]?.type === 'array') issues.push(`${where}, input.params.${name}: a path parameter cannot be an array`);
  }
  if (endpoint.input.body && endpoint.method === 'GET') issues.push(`${where}, input.body: a GET endpoint has no body`);
  const fields = { params, query: endpoint.input.query, body: endpoint.input.body ?? {} };
  const callNames = Object.keys(endpoint.calls);
  const calls: CompiledCall[] = [];
  for (const [name, call] of Object.entries(endpoint.calls)) {
    const compiled = compileCall(name, call, `${where}, call "${name}"`, endpoint, fields, callNames, declared, upstreams, issues);
    if (compiled) calls.push(compiled);
  }
  const cycle = findCycle(calls);
  if (cycle) issues.push(`${where}: calls depend on each other in a cycle: ${cycle.join(' -> ')}`);
  if (issues.length > before) return undefined;
  return {
    id: `${endpoint.method} ${endpoint.path}`,
    method: endpoint.method,
    path: endpoint.path,
    deadlineMs: endpoint.deadlineMs,
    maxConcurrency: endpoint.maxConcurrency,
    input: {
      params: compileFields(params, { fromText: true, allRequired: true }),
      query: compileFields(endpoint.input.query, { fromText: true }),
      body: endpoint.input.body ? compileFields(endpoint.input.body, { fromText: false }) : undefined,
      arrayQuery: new Set(Object.entries(endpoint.input.query).filter(([, f]) => f.type === 'array').map(([n]) => n)),
    },
    calls,
  };
}

type InputFields = { params: Record<string, FieldConfig>; query: Record<string, FieldConfig>; body: Record<string, FieldConfig> };

function compileCall(
  name: string,
  call: CallConfig,
  where: string,
  endpoint: EndpointConfig,
  fields: InputFields,
  callNames: string[],
  declared: Record<string, UpstreamConfig>,
  upstreams: Map<string, CompiledUpstream>,
  issues: string[],
): CompiledCall | undefined {
  const before = issues.length;
  const upstream = upstreams.get(call.upstream);
  if (!upstream && !(call.upstream in declared)) {
    const known = Object.keys(declared).join(', ') || 'none';
    issues.push(`${where}, field "upstream": unknown upstream "${call.upstream}" (known: ${known})`);
  }
  if (call.timeoutMs !== undefined && call.timeoutMs > endpoint.deadlineMs) {
    issues.push(`${where}, field "timeoutMs": ${call.timeoutMs} ms is longer than the endpoint's deadline of ${endpoint.deadlineMs} ms`);
  }
  const parse = (text: string, field: string): Template | undefined => {
    try {
      return parseTemplate(text);
    } catch (error) {
      issues.push(`${where}, field "${field}": ${(error as Error).message}`);
      return undefined;
    }
  };
  const path = parse(call.path, 'path');
  const query: [string, Template][] = [];
  for (const [key, text] of Object.entries(call.query)) {
    const t = parse(text, `query.${key}`);
    if (t) query.push([key, t]);
  }
  let body: BodyTemplate | undefined;
  if (call.body !== undefined) {
    try {
      body = parseBody(call.body);
    } catch (error) {
      issues.push(`${where}, field "body": ${(error as Error).message}`);
    }
  }
  let each: Ref | undefined;
  if (call.each !== undefined) {
    const t = parse(call.each, 'each');
    each = t ? soleRef(t) : undefined;
    if (t && !each) issues.push(`${where}, field "each": must be exactly one reference, like "{query.ids}"`);
  }

  const dependsOn = new Set<string>();
  const check = (ref: Ref, field: string, inPath: boolean): void => {
    const at = `${where}, field "${field}"`;
    if (ref.source === 'item') {
      if (!each) issues.push(`${at}: {${ref.text}} is only available in a call with "each"`);
      return;
    }
    if (ref.source === 'calls') {
      const target = ref.path[0] as string;
      if (target === name) issues.push(`${at}: {${ref.text}} refers to the call itself`);
      else if (!callNames.includes(target)) issues.push(`${at}: {${ref.text}} names no call of this endpoint (calls: ${callNames.join(', ')})`);
      else dependsOn.add(target);
      return;
    }
    const field_ = fields[ref.source][ref.path[0] as string];
    if (!field_) {
      const known = Object.keys(fields[ref.source]).join(', ') || 'none';
      issues.push(`${at}: {${ref.text}} names no declared ${ref.source} field (declared: ${known})`);
      return;
    }
    if (ref.path.length > 1) issues.push(`${at}: {${ref.text}}: input fields have no sub-fields`);
    if (inPath && field_.type === 'array') issues.push(`${at}: {${ref.text}} is an array and cannot be part of a path (use "each")`);
    if (inPath && ref.source !== 'params' && !field_.required) {
      issues.push(`${at}: {${ref.text}} is optional and cannot be part of a path (mark it "required")`);
    }
  };
  for (const ref of path ? refsOf(path) : []) check(ref, 'path', true);
  for (const [key, t] of query) for (const ref of refsOf(t)) check(ref, `query.${key}`, false);
  for (const ref of body ? bodyRefs(body) : []) check(ref, 'body', false);
  if (each) {
    if (each.source === 'item') issues.push(`${where}, field "each": cannot iterate over {item}`);
    else {
      check(each, 'each', false);
      if (each.source !== 'calls') {
        const f = fields[each.source][each.path[0] as string];
        if (f && f.type !== 'array') issues.push(`${where}, field "each": {${each.text}} is not an array field`);
      }
    }
  }
  if (issues.length > before || !upstream || !path) return undefined;
  return {
    name,
    upstream,
    method: call.method,
    path,
    query,
    body,
    required: call.required,
    fallback: call.fallback === undefined ? undefined : { value: call.fallback },
    timeoutMs: call.timeoutMs ?? upstream.timeoutMs,
    each,
    maxItems: call.maxItems,
    dependsOn: [...dependsOn],
  };
}

/** A dependency cycle as a list of call names (first repeated at the end), or undefined. */
function findCycle(calls: CompiledCall[]): string[] | undefined {
  const byName = new Map(calls.map((c) => [c.name, c]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'visiting') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'visiting');
    stack.push(name);
    for (const dep of byName.get(name)?.dependsOn ?? []) {
      const found = visit(dep);
      if (found) return found;
    }
    stack.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const call of calls) {
    const found = visit(call.name);
    if (found) return found;
  }
  return undefined;
}

/** `endpoints.0.calls.orders.timeoutMs` -> `endpoint GET /x, call "orders", field "timeoutMs"`. */
function formatPath(path: PropertyKey[], raw: unknown): string {
  const parts = path.map(String);
  if (parts[0] === 'endpoints' && parts[1] !== undefined) {
    const endpoint = (raw as { endpoints?: { method?: string; path?: string }[] })?.endpoints?.[Number(parts[1])];
    const id = endpoint ? `${endpoint.method ?? 'GET'} ${endpoint.path ?? `#${parts[1]}`}` : `#${parts[1]}`;
    if (parts[2] === 'calls' && parts[3] !== undefined) {
      const rest = parts.slice(4).join('.');
      return `endpoint ${id}, call "${parts[3]}"${rest ? `, field "${rest}"` : ''}`;
    }
    const rest = parts.slice(2).join('.');
    return `endpoint ${id}${rest ? `, field "${rest}"` : ''}`;
  }
  if (parts[0] === 'upstreams' && parts[1] !== undefined) {
    const rest = parts.slice(2).join('.');
    return `upstream "${parts[1]}"${rest ? `, field "${rest}"` : ''}`;
  }
  return parts.length ? `field "${parts.join('.')}"` : 'config';
}
