/**
 * Templates in call paths, queries and bodies: `{params.userId}`, `{query.ids}`, `{body.x}`,
 * `{calls.profile.managerId}`, and `{item}` inside an `each` call. Parsed once at start-up.
 */
export type Source = 'params' | 'query' | 'body' | 'calls' | 'item';

export interface Ref {
  source: Source;
  /** Field path after the source: `calls.profile.managerId` -> ['profile', 'managerId']. */
  path: string[];
  /** As written, without braces, for messages. */
  text: string;
}

export type Template = ReadonlyArray<string | Ref>;

export interface TemplateContext {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body: Record<string, unknown>;
  calls: Record<string, unknown>;
  item?: unknown;
}

const SOURCES: ReadonlySet<string> = new Set(['params', 'query', 'body', 'calls', 'item']);
const SEGMENT = /^[A-Za-z0-9_-]+$/;

/** Parses `text`; throws an Error with a human message when a placeholder is malformed. */
export function parseTemplate(text: string): Template {
  const parts: (string | Ref)[] = [];
  let rest = text;
  while (rest.length > 0) {
    const open = rest.indexOf('{');
    const close = rest.indexOf('}');
    if (open === -1) {
      if (close !== -1) throw new Error(`unmatched "}" in "${text}"`);
      parts.push(rest);
      break;
    }
    if (close !== -1 && close < open) throw new Error(`unmatched "}" in "${text}"`);
    if (open > 0) parts.push(rest.slice(0, open));
    const end = rest.indexOf('}', open);
    if (end === -1) throw new Error(`unclosed "{" in "${text}"`);
    parts.push(parseRef(rest.slice(open + 1, end), text));
    rest = rest.slice(end + 1);
  }
  return parts;
}

function parseRef(inner: string, text: string): Ref {
  const [source, ...path] = inner.split('.');
  if (source === undefined || !SOURCES.has(source)) {
    throw new Error(`"{${inner}}" in "${text}" must start with params., query., body., calls. or be {item}`);
  }
  for (const segment of path) {
    if (!SEGMENT.test(segment)) throw new Error(`"{${inner}}" in "${text}" has an invalid field name "${segment}"`);
  }
  if (source !== 'item' && path.length === 0) throw new Error(`"{${inner}}" in "${text}" names no field`);
  if (source === 'calls' && path.length < 1) throw new Error(`"{${inner}}" in "${text}" names no call`);
  return { source: source as Source, path, text: inner };
}

/** The refs a template (or a JSON body template) uses. */
export function refsOf(template: Template): Ref[] {
  return template.filter((p): p is Ref => typeof p !== 'string');
}

/** The one ref a template consists of, if it is exactly `{ref}`. */
export function soleRef(template: Template): Ref | undefined {
  return template.length === 1 && typeof template[0] !== 'string' ? template[0] : undefined;
}

/** Looks a ref up in the context; `undefined` when any step is missing. */
export function resolveRef(ref: Ref, ctx: TemplateContext): unknown {
  let value: unknown = ref.source === 'item' ? ctx.item : ctx[ref.source];
  for (const key of ref.path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** A value that cannot go into a URL. */
export class UnsafeValueError extends Error {
  override readonly name = 'UnsafeValueError';
  readonly ref: Ref;
  constructor(ref: Ref, message: string) {
    super(message);
    this.ref = ref;
  }
}

/**
 * Renders a path template. Every substituted value is percent-encoded as one path segment,
 * so no value can add a segment, a query, a host or a line break; values that the URL parser
 * would treat as `.` or `..` are refused.
 */
export function renderPath(template: Template, ctx: TemplateContext): string {
  let out = '';
  for (const part of template) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    const value = resolveRef(part, ctx);
    if (!isScalar(value)) {
      throw new UnsafeValueError(part, `{${part.text}} is ${describe(value)}, not a string or number`);
    }
    const text = String(value);
    if (text === '' || text === '.' || text === '..') {
      throw new UnsafeValueError(part, `{${part.text}} is ${JSON.stringify(text)}, which is not a usable path segment`);
    }
    if (!text.isWellFormed()) {
      throw new UnsafeValueError(part, `{${part.text}} is not well-formed Unicode text`);
    }
    out += encodeURIComponent(text);
  }
  return out;
}

/** Renders a query template: a string, a list (for an array value), or undefined to leave it out. */
export function renderQueryValue(template: Template, ctx: TemplateContext): string | string[] | undefined {
  const sole = soleRef(template);
  if (sole) {
    const value = resolveRef(sole, ctx);
    if (value === undefined || value === null) return undefined;
    if (Array.isArray(value)) return value.filter(isScalar).map(String);
    if (!isScalar(value)) throw new UnsafeValueError(sole, `{${sole.text}} is ${describe(value)}, not a string or number`);
    return String(value);
  }
  let out = '';
  for (const part of template) {
    if (typeof part === 'string') out += part;
    else {
      const value = resolveRef(part, ctx);
      if (value === undefined || value === null) return undefined;
      if (!isScalar(value)) throw new UnsafeValueError(part, `{${part.text}} is ${describe(value)}, not a string or number`);
      out += String(value);
    }
  }
  return out;
}

/** A JSON body template, parsed: strings become templates, the rest is kept. */
export type BodyTemplate =
  | { kind: 'template'; template: Template }
  | { kind: 'literal'; value: unknown }
  | { kind: 'array'; items: BodyTemplate[] }
  | { kind: 'object'; entries: [string, BodyTemplate][] };

export function parseBody(value: unknown): BodyTemplate {
  if (typeof value === 'string') return { kind: 'template', template: parseTemplate(value) };
  if (Array.isArray(value)) return { kind: 'array', items: value.map(parseBody) };
  if (value !== null && typeof value === 'object') {
    return { kind: 'object', entries: Object.entries(value).map(([k, v]) => [k, parseBody(v)]) };
  }
  return { kind: 'literal', value };
}

export function bodyRefs(body: BodyTemplate): Ref[] {
  switch (body.kind) {
    case 'template':
      return refsOf(body.template);
    case 'literal':
      return [];
    case 'array':
      return body.items.flatMap(bodyRefs);
    case 'object':
      return body.entries.flatMap(([, v]) => bodyRefs(v));
  }
}

/** Renders a body template; `"{ref}"` alone keeps the value's type, mixed text becomes a string. */
export function renderBody(body: BodyTemplate, ctx: TemplateContext): unknown {
  switch (body.kind) {
    case 'literal':
      return body.value;
    case 'array':
      return body.items.map((b) => renderBody(b, ctx));
    case 'object':
      return Object.fromEntries(body.entries.map(([k, v]) => [k, renderBody(v, ctx)]));
    case 'template': {
      const sole = soleRef(body.template);
      if (sole) return resolveRef(sole, ctx) ?? null;
      return body.template
        .map((p) => (typeof p === 'string' ? p : textOf(resolveRef(p, ctx))))
        .join('');
    }
  }
}

/** A value inside mixed text: scalars as themselves, objects and arrays as JSON. */
function textOf(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean';
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}
