/**
 * A call's `pick`: the paths of its answer that reach `data`, compiled once into a tree of
 * field names (`null`: keep the whole value under that name).
 */
export type PickTree = ReadonlyMap<string, PickTree | null>;

const SEGMENT = /^[A-Za-z0-9_$-]+$/;

/**
 * Compiles `pick` paths into a tree. A path that names a field whole wins over a longer path
 * under it (`["address", "address.city"]` keeps all of `address`). Throws an Error naming the
 * first malformed path.
 *
 * @example
 * const tree = compilePick(['id', 'address.city']);
 * applyPick({ id: 1, name: 'Ada', address: { city: 'Paris', zip: '75001' } }, tree);
 * // { id: 1, address: { city: 'Paris' } }
 */
export function compilePick(paths: readonly string[]): PickTree {
  const root = new Map<string, Map<string, unknown> | null>();
  for (const path of paths) {
    const segments = path.split('.');
    const bad = segments.find((s) => !SEGMENT.test(s));
    if (bad !== undefined) throw new Error(`"${path}" is not a path of field names separated by "."${bad === '' ? ' (empty segment)' : ` ("${bad}")`}`);
    let node = root;
    for (const [i, segment] of segments.entries()) {
      const last = i === segments.length - 1;
      const existing = node.get(segment);
      // Already kept whole: nothing under it narrows it.
      if (node.has(segment) && existing === null) break;
      if (last) {
        node.set(segment, null);
        break;
      }
      const child = (existing as Map<string, Map<string, unknown> | null> | undefined) ?? new Map();
      node.set(segment, child);
      node = child;
    }
  }
  return root as PickTree;
}

/**
 * Keeps only the tree's paths of `value`. Arrays are picked element by element; a field that
 * is missing, or that is not an object where the path goes deeper, is left out. A value with
 * no fields to pick from (null, a string, a number) is returned as it is.
 *
 * @example
 * applyPick([{ id: 1, x: 2 }, { id: 3 }], compilePick(['id'])); // [{ id: 1 }, { id: 3 }]
 */
export function applyPick(value: unknown, tree: PickTree): unknown {
  if (Array.isArray(value)) return value.map((element) => applyPick(element, tree));
  if (value === null || typeof value !== 'object') return value;
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, sub] of tree) {
    if (!Object.hasOwn(source, key)) continue;
    const field = source[key];
    if (sub === null) out[key] = field;
    else if (field !== null && typeof field === 'object') out[key] = applyPick(field, sub);
  }
  return out;
}

/**
 * Whether a path into a picked value can find anything: every field name must be in the tree
 * until a field kept whole; a number (an array index) may stand anywhere, since arrays are
 * picked element by element. Returns the first segment the pick leaves out, or undefined.
 *
 * @example
 * leftOutBy(compilePick(['items.id']), ['items', '0', 'id']); // undefined
 * leftOutBy(compilePick(['items.id']), ['items', '0', 'name']); // 'name'
 */
export function leftOutBy(tree: PickTree, path: readonly string[]): string | undefined {
  let node: PickTree | null = tree;
  for (const segment of path) {
    if (node === null) return undefined;
    if (node.has(segment)) node = node.get(segment) ?? null;
    else if (!/^[0-9]+$/.test(segment)) return segment;
  }
  return undefined;
}
