/**
 * A small seeded PRNG (mulberry32), uniform in [0, 1): the same seed gives the same sequence,
 * so the bench's faulty upstreams and the soak's request mix are reproducible.
 *
 * @example
 * const random = prng(42); random(); // 0.6011037519...
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
