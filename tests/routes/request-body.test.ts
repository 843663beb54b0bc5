/**
 * How the route layer treats a client's request body: JSON only (415 otherwise, so a cross-site
 * form cannot post one without a preflight), at most `maxRequestBodyBytes` (413, without reading
 * past the limit), no body at all where the endpoint declares none (400, without reading it),
 * and a client that leaves mid-upload is not a fault (499, nothing in the fault log).
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import type { AccessLogEntry } from '../../src/routes/access-log.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { fakeFetcher, json } from '../services/fake-fetcher.ts';

function setup(maxRequestBodyBytes = 4096) {
  const fake = fakeFetcher(() => json({ ok: true }));
  const faults: unknown[] = [];
  const entries: AccessLogEntry[] = [];
  const plan = compilePlan({
    upstreams: { u: { baseUrl: 'http://u.test' } },
    endpoints: [
      {
        method: 'POST',
        path: '/v1/search',
        input: { body: { term: { type: 'string', required: true } } },
        calls: { hits: { upstream: 'u', method: 'POST', path: '/search', body: { q: '{body.term}' } } },
      },
      { method: 'POST', path: '/v1/refresh', calls: { r: { upstream: 'u', method: 'POST', path: '/refresh' } } },
    ],
  });
  const { app } = createApp({
    plan,
    fetcher: fake.fetcher,
    maxRequestBodyBytes,
    log: (_message, error) => faults.push(error),
    accessLog: (entry) => entries.push(entry),
  });
  return { app, fake, faults, entries };
}

/** A request body that counts how many chunks were pulled from it; `fail` errors it after that many chunks. */
function countedBody(chunks: number, chunkSize: number, options: { fail?: number } = {}) {
  const counter = { pulls: 0 };
  const chunk = new TextEncoder().encode('x'.repeat(chunkSize));
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (options.fail !== undefined && counter.pulls >= options.fail) {
          controller.error(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
          return;
        }
        if (counter.pulls >= chunks) return controller.close();
        counter.pulls++;
        controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, counter };
}

const post = (body: BodyInit, headers: Record<string, string>): RequestInit => ({ method: 'POST', body, headers, duplex: 'half' }) as RequestInit;

type ErrorBody = { error: { code: string; message: string; issues?: { field: string; message: string }[] } };

describe('a JSON body must say it is JSON', () => {
  it('415 for a JSON body sent as text/plain, naming the type expected and the one sent; no upstream is called', async () => {
    const { app, fake } = setup();
    const res = await app.request('/v1/search', post('{"term":"shoes"}', { 'content-type': 'text/plain' }));
    expect(res.status).toBe(415);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe('unsupported_media_type');
    expect(body.error.message).toContain('application/json');
    expect(body.error.message).toContain('text/plain');
    expect(fake.calls).toHaveLength(0);
  });

  it.each(['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])('415 for a form post (%s), which needs no CORS preflight', async (type) => {
    const { app, fake } = setup();
    const res = await app.request('/v1/search', post('term=shoes', { 'content-type': type }));
    expect(res.status).toBe(415);
    expect(fake.calls).toHaveLength(0);
  });

  it('415 for a body with no content-type, saying that it has none', async () => {
    const { app } = setup();
    const res = await app.request('/v1/search', post(new TextEncoder().encode('{"term":"shoes"}'), {}));
    expect(res.status).toBe(415);
    expect(((await res.json()) as ErrorBody).error.message).toContain('no content-type');
  });

  it.each(['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/merge-patch+json'])('%s is accepted', async (type) => {
    const { app, fake } = setup();
    const res = await app.request('/v1/search', post('{"term":"shoes"}', { 'content-type': type }));
    expect(res.status).toBe(200);
    expect(JSON.parse(fake.calls[0]?.body ?? '')).toEqual({ q: 'shoes' });
  });

  it('400 naming the body when it is not valid JSON, and when it is empty', async () => {
    const { app } = setup();
    const bad = await app.request('/v1/search', post('{"term": ', { 'content-type': 'application/json' }));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ErrorBody).error.issues).toEqual([{ field: 'body', message: 'is not valid JSON' }]);
    const empty = await app.request('/v1/search', post('', { 'content-type': 'application/json', 'content-length': '0' }));
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as ErrorBody).error.issues).toEqual([{ field: 'body', message: 'is required: a JSON object' }]);
  });
});

describe('the body size limit', () => {
  it('413 from the content-length alone: not one chunk of the body is read, and the connection closes', async () => {
    const { app, fake } = setup(4096);
    const { stream, counter } = countedBody(100, 1024);
    const res = await app.request('/v1/search', post(stream, { 'content-type': 'application/json', 'content-length': String(100 * 1024) }));
    expect(res.status).toBe(413);
    const body = (await res.json()) as ErrorBody;
    expect(body.error).toEqual({ code: 'body_too_large', message: 'the request body is larger than 4096 bytes' });
    expect(res.headers.get('connection')).toBe('close');
    expect(counter.pulls).toBe(0);
    expect(fake.calls).toHaveLength(0);
  });

  it('413 for a body of unknown length: reading stops at the limit, not at the end of the body', async () => {
    const { app } = setup(4096);
    const { stream, counter } = countedBody(1000, 1024);
    const res = await app.request('/v1/search', post(stream, { 'content-type': 'application/json' }));
    expect(res.status).toBe(413);
    expect(counter.pulls).toBeLessThanOrEqual(6);
  });

  it('a body of exactly the limit is read; one byte more is 413', async () => {
    const { app } = setup(64);
    const text = JSON.stringify({ term: 'x'.repeat(64 - 11) });
    expect(text.length).toBe(64);
    const exact = await app.request('/v1/search', post(text, { 'content-type': 'application/json', 'content-length': '64' }));
    expect(exact.status).toBe(200);
    const over = await app.request('/v1/search', post(`${text} `, { 'content-type': 'application/json' }));
    expect(over.status).toBe(413);
  });
});

describe('an endpoint that declares no body', () => {
  it('400 for a request that announces a body, without reading a chunk of it, and the connection closes', async () => {
    const { app, fake } = setup();
    const { stream, counter } = countedBody(10_000, 1024);
    const res = await app.request('/v1/refresh', post(stream, { 'content-type': 'application/json', 'content-length': String(10_000 * 1024) }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.issues).toEqual([{ field: 'body', message: 'POST /v1/refresh takes no request body' }]);
    expect(res.headers.get('connection')).toBe('close');
    expect(counter.pulls).toBe(0);
    expect(fake.calls).toHaveLength(0);
  });

  it('400 for a chunked body too (transfer-encoding), whatever its size', async () => {
    const { app } = setup();
    const { stream, counter } = countedBody(10, 1024);
    const res = await app.request('/v1/refresh', post(stream, { 'transfer-encoding': 'chunked' }));
    expect(res.status).toBe(400);
    expect(counter.pulls).toBe(0);
  });

  it('a POST with content-length: 0 is served', async () => {
    const { app } = setup();
    const res = await app.request('/v1/refresh', { method: 'POST', headers: { 'content-length': '0' } });
    expect(res.status).toBe(200);
  });
});

describe('a client that leaves mid-upload', () => {
  it('is answered 499 with no fault logged; the access log says 499', async () => {
    const { app, fake, faults, entries } = setup(1024 * 1024);
    const { stream } = countedBody(100, 1024, { fail: 3 });
    const res = await app.request('/v1/search', post(stream, { 'content-type': 'application/json' }));
    expect(res.status).toBe(499);
    expect(faults).toEqual([]);
    expect(entries).toEqual([expect.objectContaining({ route: '/v1/search', status: 499 })]);
    expect(fake.calls).toHaveLength(0);
  });
});
