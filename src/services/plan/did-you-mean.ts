/**
 * The known name closest to a mistyped one, or undefined when none is close enough to be a
 * likely typo. Close means: the same but for case (`timeoutMS`), one name inside the other
 * (`after` for `afterMs`), or few edits apart for the name's length (`atempts`, `maxConcurency`).
 *
 * @example
 * didYouMean('timeoutMS', ['baseUrl', 'timeoutMs']); // 'timeoutMs'
 * didYouMean('colour', ['baseUrl', 'timeoutMs']);    // undefined
 */
export function didYouMean(typed: string, known: Iterable<string>): string | undefined {
  const lower = typed.toLowerCase();
  let best: { name: string; score: number } | undefined;
  for (const name of known) {
    const candidate = name.toLowerCase();
    let score: number;
    if (candidate === lower) score = 0;
    // Short names would be inside too many others ("on", "ms").
    else if (lower.length >= 4 && (candidate.includes(lower) || lower.includes(candidate))) score = 1 + Math.abs(candidate.length - lower.length) / 100;
    else {
      const distance = editDistance(lower, candidate);
      if (distance > Math.max(1, Math.floor(Math.max(lower.length, candidate.length) / 4))) continue;
      score = 1 + distance;
    }
    if (!best || score < best.score) best = { name, score };
  }
  return best?.name;
}

/**
 * Levenshtein distance with adjacent transpositions counted as one edit (`teh` -> `the`).
 *
 * @example
 * editDistance('atempts', 'attempts'); // 1
 */
export function editDistance(a: string, b: string): number {
  // Three rows of the dynamic-programming table: two back for a transposition.
  let before = new Array<number>(b.length + 1).fill(0);
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (before[j - 2] as number) + 1);
      current.push(d);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length] as number;
}
