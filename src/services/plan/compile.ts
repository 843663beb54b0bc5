import type { EndpointConfig, FieldConfig, UpstreamConfig } from '../config-schema.ts';
import { compileFields } from '../input-schema.ts';
import { compileCall, type CallContext } from './call.ts';
import { ConfigError } from './config-error.ts';
import { findCycle } from './cycles.ts';
import { parseConfig } from './parse.ts';
import { compileResponse } from './response.ts';
import { retryBudgetOf } from './resilience.ts';
import type { CompiledCall, CompiledEndpoint, CompiledUpstream, Env, Plan } from './types.ts';
import { compileUpstream } from './upstream.ts';

/** Paths the gateway answers itself while `docs` is on: the OpenAPI document, the page, its script and icon. */
const DOCS_PATHS = ['/openapi.json', '/docs', '/docs/scalar.js', '/favicon.ico'];

/**
 * Validates a config and compiles it into an executable plan, once, at start-up. Every
 * problem found is reported together, each naming its endpoint, call and field.
 *
 * @example
 * const plan = compilePlan(JSON.parse(readFileSync('tributary.json', 'utf8')), process.env);
 */
export function compilePlan(raw: unknown, env: Env = {}): Plan {
  const { plan, issues } = compileConfig(raw, env);
  if (issues.length > 0) throw new ConfigError(issues);
  return plan;
}

/**
 * Compiles what can be compiled and lists every problem, schema and plan alike, in one pass:
 * parts that fail the schema are left out and the rest is still checked. The plan holds the
 * upstreams and endpoints that compiled; it is only fit to serve when `issues` is empty.
 *
 * @example
 * const { plan, issues } = compileConfig(raw, process.env);
 * for (const issue of issues) console.error(issue);
 */
export function compileConfig(raw: unknown, env: Env = {}): { plan: Plan; issues: string[] } {
  const issues: string[] = [];
  const config = parseConfig(raw, issues);
  const upstreams = new Map<string, CompiledUpstream>();
  for (const [name, upstream] of Object.entries(config.upstreams)) {
    const compiled = compileUpstream(name, upstream, env, issues);
    if (compiled) upstreams.set(name, compiled);
  }
  const known = { declared: config.upstreams, upstreamNames: config.upstreamNames, upstreams };
  const endpoints: CompiledEndpoint[] = [];
  const seen = new Set<string>();
  for (const { config: endpoint, callNames } of config.endpoints) {
    const id = `${endpoint.method} ${endpoint.path}`;
    // `/y/:a` and `/y/:b` are the same route: the router would only ever reach the first.
    const shape = `${endpoint.method} ${endpoint.path.replace(/:[A-Za-z0-9_]+/g, ':')}`;
    if (seen.has(shape)) issues.push(`endpoint ${id}: declared twice (another endpoint has the same method and path)`);
    seen.add(shape);
    if (config.docs && DOCS_PATHS.includes(endpoint.path)) {
      issues.push(`endpoint ${id}, field "path": ${endpoint.path} is the gateway's own API description (set "docs": false to use it)`);
    }
    const compiled = compileEndpoint(endpoint, `endpoint ${id}`, callNames, known, issues);
    if (compiled) endpoints.push(compiled);
  }
  // A budget only where something spends it: an upstream nobody retries or hedges has none.
  for (const call of endpoints.flatMap((e) => e.calls)) {
    if ((call.retry || call.hedge) && !call.upstream.retryBudget) {
      call.upstream.retryBudget = retryBudgetOf(config.upstreams[call.upstream.name] as UpstreamConfig);
    }
  }
  return { plan: { upstreams, endpoints, cors: config.cors, docs: config.docs }, issues };
}

function compileEndpoint(
  endpoint: EndpointConfig,
  where: string,
  callNames: string[],
  known: Pick<CallContext, 'declared' | 'upstreamNames' | 'upstreams'>,
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
  const dependencies = new Map<string, string[]>();
  const context: CallContext = { endpoint, fields, callNames, ...known, dependencies };
  const calls: CompiledCall[] = [];
  for (const [name, call] of Object.entries(endpoint.calls)) {
    const compiled = compileCall(name, call, `${where}, call "${name}"`, context, issues);
    if (compiled) calls.push(compiled);
  }
  if (endpoint.cacheControl !== undefined && !/^[\x20-\x7e]+$/.test(endpoint.cacheControl)) {
    issues.push(`${where}, field "cacheControl": must be printable ASCII on one line`);
  }
  const response = compileResponse(endpoint.response, where, fields, calls, callNames, issues);
  const cycle = findCycle([...dependencies].map(([name, dependsOn]) => ({ name, dependsOn })));
  if (cycle) issues.push(`${where}: calls depend on each other in a cycle: ${cycle.join(' -> ')}`);
  // A call left out (its upstream or its own fields failed) would make a plan that is not this endpoint.
  if (issues.length > before || calls.length < callNames.length) return undefined;
  return {
    id: `${endpoint.method} ${endpoint.path}`,
    method: endpoint.method,
    path: endpoint.path,
    deadlineMs: endpoint.deadlineMs,
    maxConcurrency: endpoint.maxConcurrency,
    description: endpoint.description,
    fields: { params, query: endpoint.input.query, body: endpoint.input.body },
    input: {
      params: compileFields(params, { fromText: true, allRequired: true }),
      query: compileFields(endpoint.input.query, { fromText: true }),
      body: endpoint.input.body ? compileFields(endpoint.input.body, { fromText: false }) : undefined,
      arrayQuery: new Set(Object.entries(endpoint.input.query).filter(([, f]) => f.type === 'array').map(([n]) => n)),
    },
    calls,
    ...(response ? { response } : {}),
    ...(endpoint.cacheControl ? { cacheControl: endpoint.cacheControl } : {}),
  };
}
