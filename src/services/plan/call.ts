import type { CallConfig, EndpointConfig, FieldConfig, UpstreamConfig } from '../config-schema.ts';
import { compilePick, type PickTree } from '../pick.ts';
import { bodyRefs, parseBody, parseTemplate, refsOf, soleRef, type BodyTemplate, type Ref, type Template } from '../template.ts';
import { didYouMean } from './did-you-mean.ts';
import { compileResponseSchema } from '../response-schema.ts';
import { compileCallCache } from './cache.ts';
import { compileCallResilience } from './resilience.ts';
import type { CompiledCall, CompiledUpstream } from './types.ts';

/** An endpoint's declared input fields, by where they come from. */
export type InputFields = { params: Record<string, FieldConfig>; query: Record<string, FieldConfig>; body: Record<string, FieldConfig> };

/** What a call is compiled against: its endpoint, the endpoint's input and calls, and the upstreams. */
export interface CallContext {
  endpoint: EndpointConfig;
  fields: InputFields;
  callNames: string[];
  /** The upstreams as declared and valid by the schema (even those that failed to compile). */
  declared: Record<string, UpstreamConfig>;
  /** Every upstream name declared, those that failed the schema included, so they are not "unknown". */
  upstreamNames: ReadonlySet<string>;
  upstreams: Map<string, CompiledUpstream>;
  /** Filled with each call's dependencies, also for a call that fails to compile: cycles are still found. */
  dependencies?: Map<string, string[]>;
}

/**
 * Compiles one call: parses its templates, checks that every reference names a declared input
 * field, another call or `{item}` where `each` provides it, and merges its resilience settings
 * over its upstream's. Problems go to `issues`, each naming `where` and the field.
 *
 * @example
 * compileCall('profile', call, 'endpoint GET /x, call "profile"', context, issues)?.dependsOn; // []
 */
export function compileCall(name: string, call: CallConfig, where: string, context: CallContext, issues: string[]): CompiledCall | undefined {
  const { endpoint, fields, callNames, declared, upstreamNames, upstreams } = context;
  const before = issues.length;
  const upstream = upstreams.get(call.upstream);
  // Own keys only: an upstream called "toString" is not declared by every object.
  const upstreamConfig = Object.hasOwn(declared, call.upstream) ? declared[call.upstream] : undefined;
  if (!upstream && !upstreamConfig && !upstreamNames.has(call.upstream)) {
    const known = [...upstreamNames].join(', ') || 'none';
    issues.push(`${where}, field "upstream": unknown upstream "${call.upstream}" (known: ${known})${guess(call.upstream, upstreamNames)}`);
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
  const check = (ref: Ref, field: string, inPath: boolean): void =>
    checkRef(ref, { at: `${where}, field "${field}"`, inPath, self: name, hasEach: each !== undefined, fields, callNames, dependsOn }, issues);
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
  const pick = compileCallPick(call, where, issues);
  const statusMap = compileStatusMap(call, where, issues);
  context.dependencies?.set(name, [...dependsOn]);
  const resilience = compileCallResilience(call, upstreamConfig, where, issues);
  const answerCheck = call.schema ? compileResponseSchema(call.schema, where, issues) : undefined;
  const caching = compileCallCache(call, upstreamConfig, where, issues);
  if (issues.length > before || !upstream || !path) return undefined;
  return {
    name,
    upstream,
    method: call.method,
    path,
    urlTemplate: `${upstream.base.slice(upstream.origin.length)}${call.path}`,
    query,
    plainUrl: query.length === 0 && isPlainPath(upstream.base, path),
    body,
    required: call.required,
    fallback: call.fallback === undefined ? undefined : { value: call.fallback },
    timeoutMs: call.timeoutMs ?? upstream.timeoutMs,
    each,
    maxItems: call.maxItems,
    expectBody: call.expectBody,
    dependsOn: [...dependsOn],
    ...resilience,
    ...(call.schema && answerCheck ? { schema: { config: call.schema, check: answerCheck } } : {}),
    ...(pick ? { pick } : {}),
    ...(statusMap ? { statusMap } : {}),
    ...caching,
  };
}

function compileCallPick(call: CallConfig, where: string, issues: string[]): PickTree | undefined {
  if (!call.pick) return undefined;
  const before = issues.length;
  // Path by path, so every malformed one is reported.
  for (const path of call.pick) {
    try {
      compilePick([path]);
    } catch (error) {
      issues.push(`${where}, field "pick": ${(error as Error).message}`);
    }
  }
  return issues.length > before ? undefined : compilePick(call.pick);
}

/** Only a required call decides the request's status; both sides must be 4xx or 5xx statuses. */
function compileStatusMap(call: CallConfig, where: string, issues: string[]): ReadonlyMap<number, number> | undefined {
  if (!call.statusMap) return undefined;
  const at = `${where}, field "statusMap"`;
  if (!call.required) issues.push(`${at}: only a required call decides the request's status (add "required": true)`);
  const map = new Map<number, number>();
  for (const [from, to] of Object.entries(call.statusMap)) {
    if (!/^[45][0-9]{2}$/.test(from)) issues.push(`${at}: "${from}" is not an upstream error status (400-599)`);
    else if (!Number.isInteger(to) || to < 400 || to > 599) issues.push(`${at}.${from}: ${to} is not an error status the gateway can answer (400-599)`);
    else map.set(Number(from), to);
  }
  return map;
}

export interface RefCheck {
  /** `endpoint GET /x, call "a", field "path"`. */
  at: string;
  inPath: boolean;
  /** The call's own name: a call cannot use its own result. */
  self: string;
  hasEach: boolean;
  fields: InputFields;
  callNames: string[];
  /** Collects the calls this one depends on. */
  dependsOn: Set<string>;
}

/** Checks that one template reference names something that will exist when the call runs. */
export function checkRef(ref: Ref, c: RefCheck, issues: string[]): void {
  const { at } = c;
  if (ref.source === 'item') {
    if (!c.hasEach) issues.push(`${at}: {${ref.text}} is only available in a call with "each"`);
    return;
  }
  if (ref.source === 'calls') {
    const target = ref.path[0] as string;
    if (target === c.self) issues.push(`${at}: {${ref.text}} refers to the call itself`);
    else if (!c.callNames.includes(target)) {
      issues.push(`${at}: {${ref.text}} names no call of this endpoint (calls: ${c.callNames.join(', ')})${guess(target, c.callNames)}`);
    }
    else c.dependsOn.add(target);
    return;
  }
  const field = c.fields[ref.source][ref.path[0] as string];
  if (!field) {
    const known = Object.keys(c.fields[ref.source]).join(', ') || 'none';
    issues.push(`${at}: {${ref.text}} names no declared ${ref.source} field (declared: ${known})${guess(ref.path[0] as string, Object.keys(c.fields[ref.source]))}`);
    return;
  }
  if (ref.path.length > 1) issues.push(`${at}: {${ref.text}}: input fields have no sub-fields`);
  if (c.inPath && field.type === 'array') issues.push(`${at}: {${ref.text}} is an array and cannot be part of a path (use "each")`);
  if (c.inPath && ref.source !== 'params' && !field.required) {
    issues.push(`${at}: {${ref.text}} is optional and cannot be part of a path (mark it "required")`);
  }
}

/** `; did you mean "x"?` when a known name is close to the typed one, else nothing. */
function guess(typed: string, known: Iterable<string>): string {
  const near = didYouMean(typed, known);
  return near ? `; did you mean "${near}"?` : '';
}

/**
 * Whether the URL parser leaves `base` + `path` as it is once the values are in: each value is
 * one percent-encoded run of characters the parser never rewrites, so a probe with `x` for every
 * value stands for all of them.
 */
function isPlainPath(base: string, path: Template): boolean {
  const probe = base + path.map((part) => (typeof part === 'string' ? part : 'x')).join('');
  return URL.canParse(probe) && new URL(probe).href === probe;
}
