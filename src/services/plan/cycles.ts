import type { CompiledCall } from './types.ts';

/**
 * A dependency cycle among an endpoint's calls, as a list of call names with the first repeated
 * at the end, or undefined when there is none. The engine could never start a call in a cycle.
 *
 * @example
 * findCycle(calls); // ['a', 'c', 'b', 'a']
 */
export function findCycle(calls: readonly Pick<CompiledCall, 'name' | 'dependsOn'>[]): string[] | undefined {
  const byName = new Map(calls.map((c) => [c.name, c]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'visiting') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'visiting');
    stack.push(name);
    for (const dep of byName.get(name)?.dependsOn ?? []) {
      const found = visit(dep);
      if (found) return found;
    }
    stack.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const call of calls) {
    const found = visit(call.name);
    if (found) return found;
  }
  return undefined;
}
