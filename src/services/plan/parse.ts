import {
  callSchema,
  configSchema,
  endpointSchema,
  upstreamSchema,
  type EndpointConfig,
  type TributaryConfig,
  type UpstreamConfig,
} from '../config-schema.ts';
import type { ZodType } from '../zod.ts';
import { formatPath } from './config-error.ts';
import { didYouMean } from './did-you-mean.ts';

/** An endpoint that passed the schema, with the names of all the calls it declared. */
export interface ParsedEndpoint {
  config: EndpointConfig;
  /** Every call name declared, those that failed the schema included: naming one is not an error of its own. */
  callNames: string[];
}

/** The parts of a config that passed the schema, and the names of everything it declared. */
export interface ParsedConfig {
  upstreams: Record<string, UpstreamConfig>;
  /** Every upstream declared, those that failed the schema included. */
  upstreamNames: ReadonlySet<string>;
  endpoints: ParsedEndpoint[];
  cors: TributaryConfig['cors'];
  docs: boolean;
}

const CORS_DEFAULT = configSchema.shape.cors.parse(undefined);

/**
 * Validates a config against the schema. When it fails, every schema problem goes to `issues`,
 * and what can still be checked is kept so that the compiler reports everything in one pass:
 * the config without its mistyped fields, or else the parts that are valid on their own (each
 * upstream, each endpoint, each call), with the names of all that were declared.
 *
 * @example
 * const issues: string[] = [];
 * const parsed = parseConfig({ upstreams: { u: { baseUrl: 'http://a', timeoutMS: 5 } }, endpoints: [] }, issues);
 * // issues: ['upstream "u": Unrecognized key: "timeoutMS"; did you mean "timeoutMs"?']
 * // parsed.upstreams.u: checked as if timeoutMS were not there (timeoutMs: 1000, the default)
 */
export function parseConfig(raw: unknown, issues: string[]): ParsedConfig {
  const full = configSchema.safeParse(raw);
  if (full.success) return parsed(full.data);
  for (const issue of full.error.issues) issues.push(...describeSchemaIssue(issue, raw));
  // A mistyped field is reported above; without it, what it sat in can still be checked.
  const unknown = full.error.issues.filter((i) => i.code === 'unrecognized_keys');
  const cleaned = unknown.length > 0 ? withoutKeys(raw, unknown) : raw;
  const again = cleaned === raw ? undefined : configSchema.safeParse(cleaned);
  return again?.success ? parsed(again.data) : salvage(cleaned);
}

function parsed({ upstreams, endpoints, cors, docs }: TributaryConfig): ParsedConfig {
  return { upstreams, upstreamNames: new Set(Object.keys(upstreams)), endpoints: endpoints.map((config) => ({ config, callNames: Object.keys(config.calls) })), cors, docs };
}

/** A copy of `raw` without the fields these issues name as unknown; `raw` itself if it cannot be copied. */
function withoutKeys(raw: unknown, unknown: { path: PropertyKey[]; keys?: string[] }[]): unknown {
  let copy: unknown;
  try {
    copy = structuredClone(raw);
  } catch {
    return raw; // A TypeScript config may hold values a clone refuses (functions); check it as it is.
  }
  for (const issue of unknown) {
    let node: unknown = copy;
    for (const key of issue.path) node = isRecord(node) || Array.isArray(node) ? (node as Record<PropertyKey, unknown>)[key] : undefined;
    if (isRecord(node)) for (const key of issue.keys ?? []) delete node[key];
  }
  return copy;
}

/** The valid parts of a config that failed the schema as a whole. Issues are already reported. */
function salvage(raw: unknown): ParsedConfig {
  const config = isRecord(raw) ? raw : {};
  const upstreams: Record<string, UpstreamConfig> = {};
  const upstreamNames = new Set<string>();
  if (isRecord(config.upstreams)) {
    for (const [name, value] of Object.entries(config.upstreams)) {
      upstreamNames.add(name);
      const parsed = upstreamSchema.safeParse(value);
      if (parsed.success && configSchema.shape.upstreams.keyType.safeParse(name).success) upstreams[name] = parsed.data;
    }
  }
  const endpoints: ParsedEndpoint[] = [];
  for (const value of Array.isArray(config.endpoints) ? (config.endpoints as unknown[]) : []) {
    const endpoint = salvageEndpoint(value);
    if (endpoint) endpoints.push(endpoint);
  }
  const cors = configSchema.shape.cors.safeParse(config.cors);
  // A config that failed the schema is never served; its docs setting only has to be a boolean.
  return { upstreams, upstreamNames, endpoints, cors: cors.success ? cors.data : CORS_DEFAULT, docs: config.docs !== false };
}

/** An endpoint whose own fields are valid, with those of its calls that are valid on their own. */
function salvageEndpoint(value: unknown): ParsedEndpoint | undefined {
  if (!isRecord(value)) return undefined;
  const callNames = isRecord(value.calls) ? Object.keys(value.calls) : [];
  const whole = endpointSchema.safeParse(value);
  if (whole.success) return { config: whole.data, callNames };
  // Only problems inside calls: the endpoint can still be checked with the calls that are fine.
  if (!isRecord(value.calls) || !whole.error.issues.every((i) => i.path[0] === 'calls' && i.path.length > 1)) return undefined;
  const calls = Object.fromEntries(Object.entries(value.calls).filter(([, call]) => callSchema.safeParse(call).success));
  const some = endpointSchema.safeParse({ ...value, calls });
  return some.success ? { config: some.data, callNames } : undefined;
}

/** A zod issue in the compiler's words; one line per unknown field, each with its likely meaning. */
function describeSchemaIssue(issue: { code: string; path: PropertyKey[]; message: string; keys?: string[] }, raw: unknown): string[] {
  const where = formatPath(issue.path, raw);
  if (issue.code !== 'unrecognized_keys' || !issue.keys) return [`${where}: ${issue.message}`];
  const known = keysAt(configSchema, issue.path);
  return issue.keys.map((key) => {
    const guess = didYouMean(key, known);
    return `${where}: Unrecognized key: "${key}"${guess ? `; did you mean "${guess}"?` : ''}`;
  });
}

/** Minimal view of a zod schema's definition: enough to walk to the object at a path. */
interface Def {
  type: string;
  shape?: Record<string, ZodType>;
  element?: ZodType;
  valueType?: ZodType;
  innerType?: ZodType;
  in?: ZodType;
  options?: ZodType[];
}

const defOf = (schema: ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/**
 * The field names an object in `schema` at `path` accepts (the union of every object it may be).
 *
 * @example
 * keysAt(configSchema, ['upstreams', 'users']); // ['baseUrl', 'timeoutMs', ...]
 */
export function keysAt(schema: ZodType, path: readonly PropertyKey[]): string[] {
  const keys = new Set<string>();
  const walk = (node: ZodType, rest: readonly PropertyKey[]): void => {
    const def = defOf(node);
    const inner = def.innerType ?? def.in;
    if (inner) return walk(inner, rest);
    if (def.type === 'union') return def.options?.forEach((option) => walk(option, rest));
    if (rest.length === 0) {
      if (def.type === 'object') for (const key of Object.keys(def.shape ?? {})) keys.add(key);
      return;
    }
    const [head, ...tail] = rest;
    if (def.type === 'object') {
      const child = def.shape?.[String(head)];
      if (child) walk(child, tail);
    } else if (def.type === 'record' && def.valueType) walk(def.valueType, tail);
    else if (def.type === 'array' && def.element) walk(def.element, tail);
  };
  walk(schema, path);
  return [...keys];
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
