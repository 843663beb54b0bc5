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

/** Input arrays without a declared `maxItems` accept this many elements. */
export const DEFAULT_MAX_INPUT_ITEMS = 100;

/**
 * The length is checked before any element is: a client that sends 250,000 elements gets one
 * issue at once, not 250,000 element checks and an issue for each.
 */
function arrayField(field: Extract<FieldConfig, { type: 'array' }>, fromText: boolean): ZodType {
  const max = field.maxItems ?? DEFAULT_MAX_INPUT_ITEMS;
  let schema = z.array(scalarField(field.items, fromText));
  if (field.minItems !== undefined) schema = schema.min(field.minItems);
  return z
    .unknown()
    .refine((v) => !Array.isArray(v) || v.length <= max, {
      message: `must have at most ${max} elements`,
      abort: true,
    })
    .pipe(schema);
}

/** One problem with a request's input, for the 400 body. */
export interface InputIssue {
  /** Where: `params.userId`, `query.ids.3`, `body.name`. */
  field: string;
  message: string;
}

/** At most this many issues are listed in a 400; the rest are counted in one last entry. */
export const MAX_REPORTED_ISSUES = 20;

/** The first `limit` issues of a zod error, with `prefix` (`params`, `query`, `body`) on each field. */
export function zodIssues(error: ZodError, prefix: string, limit = MAX_REPORTED_ISSUES): InputIssue[] {
  const out: InputIssue[] = [];
  for (const issue of error.issues) {
    if (out.length >= limit) break;
    const field = [prefix, ...issue.path.map(String)].join('.');
    const message = issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message;
    out.push({ field, message });
  }
  return out;
}

/**
 * Caps a list of issues for the response: the first {@link MAX_REPORTED_ISSUES}, then one entry
 * saying how many more there were. `total` is the count before any earlier cut.
 *
 * @example
 * capIssues(issues, 7000); // 20 issues and { field: 'request', message: 'and 6980 more issues' }
 */
export function capIssues(issues: InputIssue[], total = issues.length): InputIssue[] {
  if (total <= MAX_REPORTED_ISSUES) return issues;
  const kept = issues.slice(0, MAX_REPORTED_ISSUES);
  kept.push({ field: 'request', message: `and ${total - kept.length} more issues` });
  return kept;
}
