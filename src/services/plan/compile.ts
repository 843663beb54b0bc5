import { configSchema, type EndpointConfig, type FieldConfig, type UpstreamConfig } from '../config-schema.ts';
import { compileFields } from '../input-schema.ts';
import { compileCall } from './call.ts';
import { ConfigError, formatPath } from './config-error.ts';
import { findCycle } from './cycles.ts';
import { retryBudgetOf } from './resilience.ts';
import type { CompiledCall, CompiledEndpoint, CompiledUpstream, Env, Plan } from './types.ts';
import { compileUpstream } from './upstream.ts';

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
    throw new ConfigError(parsed.error.issues.map((i) => `${formatPath(i.path, raw)}: ${i.message}`));
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
  // A budget only where something spends it: an upstream nobody retries or hedges has none.
  for (const call of endpoints.flatMap((e) => e.calls)) {
    if ((call.retry || call.hedge) && !call.upstream.retryBudget) {
      call.upstream.retryBudget = retryBudgetOf(config.upstreams[call.upstream.name] as UpstreamConfig);
    }
  }
  return { upstreams, endpoints, cors: config.cors };
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
  const context = { endpoint, fields, callNames: Object.keys(endpoint.calls), declared, upstreams };
  const calls: CompiledCall[] = [];
  for (const [name, call] of Object.entries(endpoint.calls)) {
    const compiled = compileCall(name, call, `${where}, call "${name}"`, context, issues);
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
