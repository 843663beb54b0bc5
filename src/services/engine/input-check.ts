import type { InputIssue } from '../input-schema.ts';
import type { CompiledEndpoint } from '../plan/types.ts';
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
  for (const call of endpoint.calls) {
    if (call.dependsOn.length > 0) continue;
    let items: unknown[] = [undefined];
    if (call.each) {
      const value = resolveRef(call.each, ctx);
      items = Array.isArray(value) ? value : [];
      if (items.length > call.maxItems) {
        issues.push({ field: fieldOf(call.each), message: `at most ${call.maxItems} elements, got ${items.length}` });
        continue;
      }
    }
    const usesItem = refsOf(call.path).some((r) => r.source === 'item');
    for (const [index, item] of (usesItem ? items : items.slice(0, 1)).entries()) {
      try {
        renderPath(call.path, { ...ctx, item });
      } catch (error) {
        if (!(error instanceof UnsafeValueError)) throw error;
        const field = error.ref.source === 'item' && call.each ? `${fieldOf(call.each)}.${index}` : fieldOf(error.ref);
        issues.push({ field, message: error.message });
      }
    }
  }
  if (issues.length > 0) throw new InvalidInputError(dedupe(issues));
}

function dedupe(issues: InputIssue[]): InputIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => !seen.has(i.field + i.message) && seen.add(i.field + i.message));
}
