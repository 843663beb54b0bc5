import { describe, expect, it } from 'vitest';
import { capIssues, compileFields, DEFAULT_MAX_INPUT_ITEMS, MAX_REPORTED_ISSUES, zodIssues } from '../../src/services/input-schema.ts';

describe('input arrays and the issues a 400 lists', () => {
  const ids = compileFields({ ids: { type: 'array', items: { type: 'integer' } } }, { fromText: true });

  it(`an array without maxItems accepts ${DEFAULT_MAX_INPUT_ITEMS} elements and refuses more`, () => {
    const ok = Array.from({ length: DEFAULT_MAX_INPUT_ITEMS }, (_, i) => String(i));
    expect(ids.safeParse({ ids: ok }).success).toBe(true);
    const result = ids.safeParse({ ids: [...ok, '1'] });
    expect(result.success).toBe(false);
  });

  it('250,000 invalid elements give one issue about the length, without checking each element', () => {
    const hostile = new Array<string>(250_000).fill('not-a-number');
    const result = ids.safeParse({ ids: hostile });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.error.issues).toHaveLength(1);
    expect(zodIssues(result.error, 'query')).toEqual([{ field: 'query.ids', message: `must have at most ${DEFAULT_MAX_INPUT_ITEMS} elements` }]);
  });

  it('a declared maxItems wins over the default', () => {
    const wide = compileFields({ ids: { type: 'array', items: { type: 'string' }, maxItems: 500 } }, { fromText: true });
    expect(wide.safeParse({ ids: new Array(500).fill('x') }).success).toBe(true);
    expect(wide.safeParse({ ids: new Array(501).fill('x') }).success).toBe(false);
  });

  it(`lists at most ${MAX_REPORTED_ISSUES} issues, then says how many more there were`, () => {
    const many = compileFields({ ids: { type: 'array', items: { type: 'integer' }, maxItems: 1000 } }, { fromText: true });
    const result = many.safeParse({ ids: new Array(700).fill('x') });
    if (result.success) throw new Error('expected issues');
    const listed = zodIssues(result.error, 'query');
    expect(listed).toHaveLength(MAX_REPORTED_ISSUES);
    const capped = capIssues(listed, result.error.issues.length);
    expect(capped).toHaveLength(MAX_REPORTED_ISSUES + 1);
    expect(capped.at(-1)).toEqual({ field: 'request', message: `and ${700 - MAX_REPORTED_ISSUES} more issues` });
  });
});
