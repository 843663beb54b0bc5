/**
 * Node hashes cache keys and ETags with `node:crypto` instead of WebCrypto (which goes through a
 * worker thread). The digests are the same, so a cache shared in Redis with processes of an
 * older release, and the ETags clients hold, stay valid; and the app uses the hash it is given.
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { webSha256, type Sha256 } from '../../src/lib/sha256.ts';
import { nodeSha256 } from '../../src/node/sha256.ts';
import { weakEtag } from '../../src/routes/etag.ts';
import { cacheKey } from '../../src/services/cache/key.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { fakeFetcher, json } from '../services/fake-fetcher.ts';

const utf8 = new TextEncoder();

describe('nodeSha256', () => {
  it('gives the bytes WebCrypto gives: empty, ASCII, UTF-8 and 1 MiB inputs', async () => {
    const big = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
    for (const data of [new Uint8Array(0), utf8.encode('{"a":1}'), utf8.encode('Grüße, 東京 🌊'), big]) {
      expect(Buffer.from(await nodeSha256(data)).toString('hex')).toBe(Buffer.from(await webSha256(data)).toString('hex'));
    }
  });

  it('keeps cache keys and ETags as they were with WebCrypto', async () => {
    const request = { method: 'GET', url: 'http://config.test/settings', headers: { authorization: 'Bearer alice', 'x-api-key': 'k' }, vary: { 'accept-language': 'de' } };
    expect(await cacheKey(request, nodeSha256)).toBe(await cacheKey(request));
    const body = utf8.encode(JSON.stringify({ user: { id: '42', name: 'Ünal' } }));
    expect(await weakEtag(body, nodeSha256)).toBe(await weakEtag(body));
  });
});

describe('the app with an injected sha256', () => {
  it('hashes each cache key and each ETag with it, and answers as with the default', async () => {
    let hashed = 0;
    const counting: Sha256 = (data) => {
      hashed++;
      return nodeSha256(data);
    };
    const plan = compilePlan({
      upstreams: { u: { baseUrl: 'http://u.test' } },
      endpoints: [{ path: '/v1/cached', cacheControl: 'public, max-age=30', calls: { a: { upstream: 'u', path: '/a', cache: { ttlMs: 60_000 } } } }],
    });
    const fake = fakeFetcher(() => json({ n: 1 }));
    const { app } = createApp({ plan, fetcher: fake.fetcher, sha256: counting });
    const first = await app.request('/v1/cached');
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^W\/"[A-Za-z0-9_-]{22}"$/);
    expect(hashed).toBe(2); // the call's cache key, the answer's ETag
    const again = await app.request('/v1/cached', { headers: { 'if-none-match': etag ?? '' } });
    expect(again.status).toBe(304);
    expect(fake.calls).toHaveLength(1); // the second answer came from the cache
    expect(hashed).toBe(4);
    const { app: plain } = createApp({ plan, fetcher: fakeFetcher(() => json({ n: 1 })).fetcher });
    expect((await plain.request('/v1/cached')).headers.get('etag')).toBe(etag);
  });
});
