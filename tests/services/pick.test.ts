import { describe, expect, it } from 'vitest';
import { applyPick, compilePick, leftOutBy } from '../../src/services/pick.ts';

describe('pick', () => {
  it('keeps nested paths and leaves missing ones out', () => {
    const tree = compilePick(['id', 'address.city', 'address.country.code', 'missing.x']);
    const value = { id: 1, name: 'Ada', address: { city: 'Paris', zip: '75001', country: { code: 'FR', name: 'France' } } };
    expect(applyPick(value, tree)).toEqual({ id: 1, address: { city: 'Paris', country: { code: 'FR' } } });
  });

  it('applies to every element of an array, at the top and nested', () => {
    const tree = compilePick(['id', 'lines.sku']);
    const value = [{ id: 1, x: 1, lines: [{ sku: 'a', qty: 1 }, { sku: 'b' }] }, { id: 2 }];
    expect(applyPick(value, tree)).toEqual([{ id: 1, lines: [{ sku: 'a' }, { sku: 'b' }] }, { id: 2 }]);
  });

  it('leaves out a field that is not an object where the path goes deeper, and keeps a whole field over a longer path', () => {
    expect(applyPick({ address: 'Paris' }, compilePick(['address.city']))).toEqual({});
    expect(applyPick({ address: { city: 'P', zip: 'Z' } }, compilePick(['address.city', 'address']))).toEqual({ address: { city: 'P', zip: 'Z' } });
  });

  it('returns null and scalars as they are', () => {
    const tree = compilePick(['id']);
    expect(applyPick(null, tree)).toBeNull();
    expect(applyPick('text', tree)).toBe('text');
  });

  it('does not take inherited properties', () => {
    expect(applyPick({}, compilePick(['constructor', 'toString']))).toEqual({});
  });

  it('tells which field of a path a pick leaves out, letting array indexes through', () => {
    const tree = compilePick(['items.id', 'meta']);
    expect(leftOutBy(tree, ['items', '0', 'id'])).toBeUndefined();
    expect(leftOutBy(tree, ['meta', 'anything', 'deep'])).toBeUndefined();
    expect(leftOutBy(tree, ['items', '0', 'name'])).toBe('name');
    expect(leftOutBy(tree, ['other'])).toBe('other');
  });
});
