import type { ResponseSchemaConfig } from './config-schema.ts';

/** Checks one upstream answer: `undefined` when it matches, else where and how it first differs. */
export type ResponseCheck = (value: unknown) => string | undefined;

/**
 * A compiled node: undefined when the value matches, else the first mismatch. The path is built
 * only on a mismatch, innermost segment first, so a matching answer allocates nothing.
 */
type Node = (value: unknown) => Mismatch | undefined;

interface Mismatch {
  /** Path segments (`.name`, `[3]`), innermost first. */
  segments: string[];
  reason: string;
}

const mismatch = (reason: string): Mismatch => ({ segments: [], reason });

/** Adds the segment its parent knows (a property or an index) on the way out. */
function under(segment: string, found: Mismatch): Mismatch {
  found.segments.push(segment);
  return found;
}

/**
 * Compiles a call's `schema` into a checker, once at start-up: regular expressions are built,
 * properties listed, and nothing is looked up per answer. Problems with the schema itself (a bad
 * pattern, `properties` on a string) go to `issues`, each naming `where` and the schema path.
 *
 * @example
 * const issues: string[] = [];
 * const check = compileResponseSchema({ type: 'object', properties: { id: { type: 'integer', required: true } } }, 'call "user"', issues);
 * check?.({ id: 'x' }); // '$.id: expected integer, got string'
 */
export function compileResponseSchema(schema: ResponseSchemaConfig, where: string, issues: string[]): ResponseCheck | undefined {
  const before = issues.length;
  const root = compileNode(schema, { where, field: 'schema' }, issues);
  if (issues.length > before) return undefined;
  return (value) => {
    const found = root(value);
    return found && `$${found.segments.reverse().join('')}: ${found.reason}`;
  };
}

/** Where a schema node sits: the call, and the field path inside its `schema`. */
interface Place {
  where: string;
  field: string;
}

function compileNode(schema: ResponseSchemaConfig, place: Place, issues: string[]): Node {
  const { type } = schema;
  const at = `${place.where}, field "${place.field}"`;
  const misplaced = (field: string, allowed: string): void => {
    issues.push(`${at}: "${field}" applies to ${allowed} only, not to type "${type}"`);
  };
  if (schema.properties && type !== 'object') misplaced('properties', 'objects');
  if (schema.items && type !== 'array') misplaced('items', 'arrays');
  if ((schema.minItems !== undefined || schema.maxItems !== undefined) && type !== 'array') misplaced('minItems/maxItems', 'arrays');
  if ((schema.pattern !== undefined || schema.minLength !== undefined || schema.maxLength !== undefined) && type !== 'string') {
    misplaced('pattern/minLength/maxLength', 'strings');
  }
  if ((schema.minimum !== undefined || schema.maximum !== undefined) && type !== 'integer' && type !== 'number') {
    misplaced('minimum/maximum', 'numbers');
  }
  const checks: Node[] = [typeCheck(type)];
  if (type === 'string') checks.push(...stringChecks(schema, at, issues));
  if (type === 'integer' || type === 'number') checks.push(...numberChecks(schema));
  if (schema.enum) checks.push(enumCheck(schema.enum));
  if (type === 'array') checks.push(...arrayChecks(schema, place, issues));
  if (type === 'object' && schema.properties) checks.push(objectCheck(schema.properties, place, issues));
  const all: Node = checks.length === 1 ? (checks[0] as Node) : (value) => {
    for (const check of checks) {
      const found = check(value);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return schema.nullable ? (value) => (value === null ? undefined : all(value)) : all;
}

/** `string`, `integer`, `array`, `null`, ... : how a JSON value is described in a mismatch. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeCheck(type: ResponseSchemaConfig['type']): Node {
  const matches: (value: unknown) => boolean = {
    string: (v: unknown) => typeof v === 'string',
    integer: (v: unknown) => Number.isInteger(v),
    number: (v: unknown) => typeof v === 'number',
    boolean: (v: unknown) => typeof v === 'boolean',
    null: (v: unknown) => v === null,
    object: (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v),
    array: (v: unknown) => Array.isArray(v),
  }[type];
  return (value) => (matches(value) ? undefined : mismatch(`expected ${type}, got ${kindOf(value)}`));
}

function stringChecks(schema: ResponseSchemaConfig, at: string, issues: string[]): Node[] {
  const checks: Node[] = [];
  const { minLength, maxLength, pattern } = schema;
  if (minLength !== undefined) checks.push((v) => ((v as string).length < minLength ? mismatch(`shorter than ${minLength} characters`) : undefined));
  if (maxLength !== undefined) checks.push((v) => ((v as string).length > maxLength ? mismatch(`longer than ${maxLength} characters`) : undefined));
  if (pattern !== undefined) {
    try {
      const re = new RegExp(pattern);
      checks.push((v) => (re.test(v as string) ? undefined : mismatch(`does not match ${pattern}`)));
    } catch (error) {
      issues.push(`${at}: "pattern" is not a valid regular expression (${(error as Error).message})`);
    }
  }
  return checks;
}

function numberChecks({ minimum, maximum }: ResponseSchemaConfig): Node[] {
  const checks: Node[] = [];
  if (minimum !== undefined) checks.push((v) => ((v as number) < minimum ? mismatch(`less than ${minimum}`) : undefined));
  if (maximum !== undefined) checks.push((v) => ((v as number) > maximum ? mismatch(`greater than ${maximum}`) : undefined));
  return checks;
}

function enumCheck(allowed: readonly (string | number | boolean)[]): Node {
  const set = new Set<unknown>(allowed);
  const list = allowed.map((v) => JSON.stringify(v)).join(', ');
  return (v) => (set.has(v) ? undefined : mismatch(`expected one of ${list}`));
}

function arrayChecks(schema: ResponseSchemaConfig, place: Place, issues: string[]): Node[] {
  const checks: Node[] = [];
  const { minItems, maxItems } = schema;
  if (minItems !== undefined) checks.push((v) => ((v as unknown[]).length < minItems ? mismatch(`fewer than ${minItems} elements`) : undefined));
  if (maxItems !== undefined) checks.push((v) => ((v as unknown[]).length > maxItems ? mismatch(`more than ${maxItems} elements`) : undefined));
  if (schema.items) {
    const item = compileNode(schema.items, { ...place, field: `${place.field}.items` }, issues);
    checks.push((v) => {
      const list = v as unknown[];
      for (let i = 0; i < list.length; i++) {
        const found = item(list[i]);
        if (found !== undefined) return under(`[${i}]`, found);
      }
      return undefined;
    });
  }
  return checks;
}

function objectCheck(properties: Record<string, ResponseSchemaConfig>, place: Place, issues: string[]): Node {
  const entries = Object.entries(properties).map(([name, schema]) => ({
    name,
    required: schema.required === true,
    check: compileNode(schema, { ...place, field: `${place.field}.properties.${name}` }, issues),
    // A name that is not a plain identifier is quoted, so the path stays readable and unambiguous.
    suffix: /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`,
  }));
  return (v) => {
    const record = v as Record<string, unknown>;
    for (const { name, required, check, suffix } of entries) {
      // Own properties only: an answer's "constructor" is not its prototype's.
      if (!Object.hasOwn(record, name)) {
        if (required) return under(suffix, mismatch('is required but missing'));
        continue;
      }
      const found = check(record[name]);
      if (found !== undefined) return under(suffix, found);
    }
    return undefined;
  };
}
