import type { InputIssue } from '../input-schema.ts';
import type { CompiledCall, CompiledEndpoint } from '../plan/types.ts';
import { refsOf, renderPath, resolveRef, UnsafeValueError, type Ref, type TemplateContext } from '../template.ts';

/** The request's input would make an unsafe or impossible upstream call. Maps to 400. */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';
  readonly issues: InputIssue[];
  constructor(issues: InputIssue[]) {
    super(`invalid request: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
    this.issues = issues;
  }
}

/**
 * Before anything starts: every value the input puts into a URL must be usable, and every
 * `each` over the input must fit its limit. Problems are the client's: 400, all of them at once.
 */
export function checkInput(endpoint: CompiledEndpoint, ctx: TemplateContext): void {
  const issues: InputIssue[] = [];
  const fieldOf = (ref: Ref): string => `${ref.source}.${ref.path.join('.')}`;
  const tryPath = (call: CompiledCall, pathCtx: TemplateContext, index: number): void => {
    try {
      renderPath(call.path, pathCtx);
    } catch (error) {
      if (!(error instanceof UnsafeValueError)) throw error;
      const field = error.ref.source === 'item' && call.each ? `${fieldOf(call.each)}.${index}` : fieldOf(error.ref);
      issues.push({ field, message: error.message });
    }
  };
  for (const call of endpoint.calls) {
    if (call.dependsOn.length > 0) continue;
    if (!call.each) {
      tryPath(call, ctx, 0);
      continue;
    }
    const value = resolveRef(call.each, ctx);
    const items = Array.isArray(value) ? value : [];
    if (items.length > call.maxItems) {
      issues.push({ field: fieldOf(call.each), message: `at most ${call.maxItems} elements, got ${items.length}` });
      continue;
    }
    // A path without {item} renders the same for every element: once is enough.
    const usesItem = refsOf(call.path).some((r) => r.source === 'item');
    const checked = usesItem ? items.length : Math.min(items.length, 1);
    for (let index = 0; index < checked; index++) tryPath(call, { ...ctx, item: items[index] }, index);
  }
  if (issues.length > 0) throw new InvalidInputError(dedupe(issues));
}

function dedupe(issues: InputIssue[]): InputIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => !seen.has(i.field + i.message) && seen.add(i.field + i.message));
}
