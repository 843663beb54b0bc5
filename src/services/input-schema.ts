import { z, type input, type output, type ZodError, type ZodType } from './zod.ts';
import type { FieldConfig } from './config-schema.ts';

type Fields = Record<string, FieldConfig>;
type Scalar = Exclude<FieldConfig, { type: 'array' }>;

/**
 * Compiles an endpoint's declared input fields to a zod schema, once at start-up.
 * `fromText` is for path params and query strings: numbers and booleans arrive as text.
 */
export function compileFields(fields: Fields, options: { fromText: boolean; allRequired?: boolean }): ZodType {
  const shape: Record<string, ZodType> = {};
  for (const [name, field] of Object.entries(fields)) {
    const schema = field.type === 'array' ? arrayField(field, options.fromText) : scalarField(field, options.fromText);
    shape[name] = options.allRequired || field.required ? schema : schema.optional();
  }
  return z.object(shape);
}

function scalarField(field: Omit<Scalar, 'required'>, fromText: boolean): ZodType {
  let schema: ZodType;
  switch (field.type) {
    case 'string': {
      let s = z.string();
      if (field.minLength !== undefined) s = s.min(field.minLength);
      if (field.maxLength !== undefined) s = s.max(field.maxLength);
      if (field.pattern !== undefined) s = s.regex(new RegExp(field.pattern), `must match ${field.pattern}`);
      schema = s;
      break;
    }
    case 'integer':
    case 'number': {
      let n = z.number();
      if (field.type === 'integer') n = n.int();
      if (field.minimum !== undefined) n = n.min(field.minimum);
      if (field.maximum !== undefined) n = n.max(field.maximum);
      // An empty query value must not coerce to 0.
      schema = fromText ? z.string().trim().min(1, 'must be a number').transform(Number).pipe(n) : n;
      break;
    }
    case 'boolean':
      schema = fromText ? z.enum(['true', 'false']).transform((v) => v === 'true') : z.boolean();
      break;
  }
  if (field.enum !== undefined) {
    const allowed = field.enum;
    schema = schema.refine((v) => allowed.includes(v as string | number | boolean), {
      message: `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`,
    });
  }
  return schema;
}

function arrayField(field: Extract<FieldConfig, { type: 'array' }>, fromText: boolean): ZodType {
  let schema = z.array(scalarField(field.items, fromText));
  if (field.minItems !== undefined) schema = schema.min(field.minItems);
  if (field.maxItems !== undefined) schema = schema.max(field.maxItems);
  return schema;
}

/** One problem with a request's input, for the 400 body. */
export interface InputIssue {
  /** Where: `params.userId`, `query.ids.3`, `body.name`. */
  field: string;
  message: string;
}

export function zodIssues(error: ZodError, prefix: string): InputIssue[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      return { field: [prefix, ...path].join('.'), message: `unknown field(s): ${issue.keys.join(', ')}` };
    }
    return { field: [prefix, ...path].join('.'), message: issue.message };
  });
}
