import type { EndpointConfig } from '../config-schema.ts';
import { leftOutBy } from '../pick.ts';
import { bodyRefs, parseBody, type BodyTemplate } from '../template.ts';
import { checkRef, type InputFields } from './call.ts';
import type { CompiledCall } from './types.ts';

/**
 * Compiles an endpoint's `response` template: every ref must name a declared input field or a
 * call of the endpoint (`{item}` has no meaning here), and a ref into a call with `pick` must
 * stay inside what the pick keeps, since the template sees calls as `data` holds them.
 *
 * @example
 * compileResponse({ user: '{calls.profile}', id: '{params.id}' }, 'endpoint GET /x', fields, calls, issues);
 */
export function compileResponse(
  response: EndpointConfig['response'],
  where: string,
  fields: InputFields,
  calls: readonly CompiledCall[],
  callNames: string[],
  issues: string[],
): BodyTemplate | undefined {
  if (response === undefined) return undefined;
  const at = `${where}, field "response"`;
  let template: BodyTemplate;
  try {
    template = parseBody(response);
  } catch (error) {
    issues.push(`${at}: ${(error as Error).message}`);
    return undefined;
  }
  const before = issues.length;
  const byName = new Map(calls.map((c) => [c.name, c]));
  for (const ref of bodyRefs(template)) {
    if (ref.source === 'item') {
      issues.push(`${at}: {${ref.text}} is only available in a call with "each"`);
      continue;
    }
    checkRef(ref, { at, inPath: false, self: '', hasEach: false, fields, callNames, dependsOn: new Set() }, issues);
    const call = ref.source === 'calls' ? byName.get(ref.path[0] as string) : undefined;
    const outside = call?.pick ? leftOutBy(call.pick, ref.path.slice(1)) : undefined;
    if (outside !== undefined) {
      issues.push(`${at}: {${ref.text}} asks for "${outside}", which the "pick" of call "${call?.name}" leaves out`);
    }
  }
  return issues.length > before ? undefined : template;
}
