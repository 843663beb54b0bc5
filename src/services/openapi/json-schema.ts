import type { FieldConfig, ResponseSchemaConfig } from '../config-schema.ts';

/** A JSON Schema (draft 2020-12, as OpenAPI 3.1 uses it), as plain data. */
export type JsonSchema = Record<string, unknown>;

/** The keywords the field-spec language shares with JSON Schema, copied as they are. */
const SHARED = ['description', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'enum', 'minItems', 'maxItems'] as const;

function shared(spec: Partial<Record<(typeof SHARED)[number], unknown>>): JsonSchema {
  const out: JsonSchema = {};
  for (const key of SHARED) if (spec[key] !== undefined) out[key] = spec[key];
  return out;
}

/**
 * An input field (`input.params`, `input.query`, `input.body`) as JSON Schema. Arrays without a
 * `maxItems` get the limit the gateway applies to them.
 *
 * @example
 * fieldJsonSchema({ type: 'string', pattern: '^[0-9]+$' }, 100); // { type: 'string', pattern: '^[0-9]+$' }
 */
export function fieldJsonSchema(field: FieldConfig, defaultMaxItems: number): JsonSchema {
  if (field.type !== 'array') return { type: field.type, ...shared(field) };
  const { items, ...rest } = field;
  return { type: 'array', items: { type: items.type, ...shared(items) }, ...shared(rest), maxItems: rest.maxItems ?? defaultMaxItems };
}

/**
 * A call's `schema` as JSON Schema: `required` moves from each property to its object, and
 * `nullable` becomes a type list with `"null"`.
 *
 * @example
 * responseJsonSchema({ type: 'object', properties: { id: { type: 'integer', required: true } } });
 * // { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] }
 */
export function responseJsonSchema(schema: ResponseSchemaConfig): JsonSchema {
  const out: JsonSchema = { type: schema.nullable && schema.type !== 'null' ? [schema.type, 'null'] : schema.type, ...shared(schema) };
  if (schema.nullable && schema.enum) out.enum = [...schema.enum, null];
  if (schema.items) out.items = responseJsonSchema(schema.items);
  if (schema.properties) {
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    for (const [name, property] of Object.entries(schema.properties)) {
      properties[name] = responseJsonSchema(property);
      if (property.required) required.push(name);
    }
    out.properties = properties;
    if (required.length > 0) out.required = required;
  }
  return out;
}
