import { describe, expect, it } from 'vitest';
import {
  parseBody,
  parseTemplate,
  renderBody,
  renderPath,
  renderQueryValue,
  UnsafeValueError,
  type TemplateContext,
} from '../../src/services/template.ts';

const ctx = (over: Partial<TemplateContext> = {}): TemplateContext => ({ params: {}, query: {}, body: {}, calls: {}, ...over });
const BASE = 'https://users.internal:8443/api/v2';

/** What the engine does: base + rendered path, parsed as a URL. */
function urlFor(value: unknown, template = '/users/{params.id}/profile'): URL {
  return new URL(BASE + renderPath(parseTemplate(template), ctx({ params: { id: value } })));
}

describe('renderPath: no input changes the host or escapes the path', () => {
  const hostile = [
    '../',
    '../../admin',
    '..%2F..%2Fadmin',
    '%2F',
    '%2e%2e',
    '/',
    '//evil.com',
    '@evil.com',
    'x@evil.com:80',
    'http://evil',
    'http://evil.com/steal',
    'a\r\nHost: evil.com',
    '\n',
    '?a=b',
    '#x',
    '\\..\\admin',
    'a b',
    '%00',
    ':8080',
    '[::1]',
  ];

  it.each(hostile)('%j stays one segment under the base path', (value) => {
    const url = urlFor(value);
    expect(url.origin).toBe('https://users.internal:8443');
    expect(url.pathname.startsWith('/api/v2/users/')).toBe(true);
    expect(url.pathname.endsWith('/profile')).toBe(true);
    // Exactly one segment between "users" and "profile", which decodes back to the input.
    const segments = url.pathname.split('/');
    expect(segments).toHaveLength(6);
    expect(decodeURIComponent(segments[4] as string)).toBe(value);
    expect(url.search).toBe('');
    expect(url.hash).toBe('');
    expect(url.username).toBe('');
  });

  it.each(['.', '..', ''])('%j is refused: the URL parser would drop or climb the segment', (value) => {
    expect(() => urlFor(value)).toThrow(UnsafeValueError);
    try {
      urlFor(value);
    } catch (error) {
      expect((error as UnsafeValueError).ref.text).toBe('params.id');
      expect((error as Error).message).toContain('{params.id}');
    }
  });

  it('refuses values that are not scalars, or missing', () => {
    for (const value of [undefined, null, { a: 1 }, ['a'], Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => urlFor(value)).toThrow(UnsafeValueError);
    }
  });

  it('numbers and booleans render as text', () => {
    expect(urlFor(42).pathname).toBe('/api/v2/users/42/profile');
    expect(urlFor(true).pathname).toBe('/api/v2/users/true/profile');
  });

  it('two values in one segment stay in that segment', () => {
    const template = parseTemplate('/files/{params.a}.{params.b}');
    const url = new URL(BASE + renderPath(template, ctx({ params: { a: '../x', b: '/../../y' } })));
    expect(url.origin).toBe('https://users.internal:8443');
    expect(url.pathname.split('/')).toHaveLength(5);
    expect(url.pathname.startsWith('/api/v2/files/')).toBe(true);
  });

  it('a lone surrogate is refused as unsafe, not thrown as a URIError', () => {
    // A JSON body or an upstream result can carry "\ud800"; encodeURIComponent throws on it.
    expect(() => urlFor('\ud800')).toThrow(UnsafeValueError);
  });

  it('values from calls and {item} are encoded too', () => {
    const template = parseTemplate('/users/{calls.profile.managerId}/items/{item}');
    const path = renderPath(template, ctx({ calls: { profile: { managerId: '../root' } }, item: '?x=1' }));
    expect(path).toBe('/users/..%2Froot/items/%3Fx%3D1');
  });
});

describe('renderQueryValue', () => {
  it('an array becomes repeated params; a missing value leaves the param out', () => {
    const url = new URL(BASE + '/items');
    const ids = renderQueryValue(parseTemplate('{query.ids}'), ctx({ query: { ids: ['1', '2', 'a&b=c'] } }));
    expect(ids).toEqual(['1', '2', 'a&b=c']);
    for (const v of ids as string[]) url.searchParams.append('id', v);
    expect(url.search).toBe('?id=1&id=2&id=a%26b%3Dc');
    expect(url.searchParams.getAll('id')).toEqual(['1', '2', 'a&b=c']);
    expect(renderQueryValue(parseTemplate('{query.missing}'), ctx())).toBeUndefined();
    expect(renderQueryValue(parseTemplate('{query.n}'), ctx({ query: { n: null } }))).toBeUndefined();
  });

  it('mixed text renders as one string; a missing part leaves the param out', () => {
    const t = parseTemplate('user:{params.id}');
    expect(renderQueryValue(t, ctx({ params: { id: 7 } }))).toBe('user:7');
    expect(renderQueryValue(t, ctx())).toBeUndefined();
  });

  it('an object value is refused', () => {
    expect(() => renderQueryValue(parseTemplate('{calls.a.b}'), ctx({ calls: { a: { b: { c: 1 } } } }))).toThrow(UnsafeValueError);
  });
});

describe('renderBody', () => {
  const context = ctx({
    params: { id: '42' },
    query: { ids: ['1', '2'], limit: 10 },
    body: { flag: true, nested: { a: [1, 2] } },
    calls: { profile: { id: 7, tags: ['x'] } },
  });

  it('a sole {ref} keeps its JSON type; mixed text becomes a string; literals stay', () => {
    const body = parseBody({
      ids: '{query.ids}',
      limit: '{query.limit}',
      flag: '{body.flag}',
      nested: '{body.nested}',
      owner: '{calls.profile.id}',
      label: 'user-{params.id}/{calls.profile.id}',
      missing: '{query.nope}',
      list: ['{calls.profile.tags}', 3, null, false],
      plain: 'no refs',
    });
    expect(renderBody(body, context)).toEqual({
      ids: ['1', '2'],
      limit: 10,
      flag: true,
      nested: { a: [1, 2] },
      owner: 7,
      label: 'user-42/7',
      missing: null,
      list: [['x'], 3, null, false],
      plain: 'no refs',
    });
  });
});

describe('parseTemplate', () => {
  it('splits text and refs', () => {
    expect(parseTemplate('/a/{params.id}/b')).toEqual([
      '/a/',
      { source: 'params', path: ['id'], text: 'params.id' },
      '/b',
    ]);
  });

  it.each(['/a/{params.id', '/a/}x{', '/{nope.x}', '/{params}', '/{params.a b}', '/{calls}'])('refuses %j', (text) => {
    expect(() => parseTemplate(text)).toThrow(Error);
  });
});
