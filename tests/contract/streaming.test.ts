import { describe, expect, it } from 'vitest';
import { eventually, gateway, upstreamScope } from './harness.ts';
import { timedLines } from './lines.ts';

async function ndjson(res: Response): Promise<any[]> {
  const lines: any[] = [];
  for await (const { line } of timedLines(res.body as ReadableStream<Uint8Array>, 0)) lines.push(JSON.parse(line));
  return lines;
}

const NDJSON = { accept: 'application/x-ndjson' };

describe('streaming', () => {
  it('writes a fast call line while a slow call is still running, then the slow one, then the final meta line', async () => {
    const up = upstreamScope('stream-timing');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base, timeoutMs: 5000 } },
      endpoints: [
        {
          path: '/v1/stream',
          deadlineMs: 8000,
          calls: { slow: { upstream: 'u', path: '/delay/1500/slow' }, fast: { upstream: 'u', path: '/json/fast', pick: ['id'] } },
          response: { ignored: '{calls.fast.id}' },
        },
      ],
    });
    const start = performance.now();
    const res = await gw.app.request('/v1/stream', { headers: NDJSON });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const seen: { value: any; at: number }[] = [];
    let slowStillRunning: boolean | undefined;
    for await (const { line, at } of timedLines(res.body as ReadableStream<Uint8Array>, start)) {
      seen.push({ value: JSON.parse(line), at });
      if (seen.length === 1) slowStillRunning = (await up.stats()).log.some((e) => e.path.includes('/delay/1500/slow') && e.endedAt === undefined);
    }
    expect(seen.map((s) => s.value)).toEqual([
      // pick applies to stream lines; the response template does not.
      { call: 'fast', ok: true, data: { id: 'fast' } },
      { call: 'slow', ok: true, data: expect.objectContaining({ id: 'slow', delayedMs: 1500 }) },
      { meta: { complete: true, durationMs: expect.any(Number) }, complete: true, status: 200 },
    ]);
    expect(slowStillRunning).toBe(true);
    const [fast, slow] = seen;
    // On the client's clock: the fast line came well before the slow one (the upstream held it 1500 ms).
    expect((slow?.at ?? 0) - (fast?.at ?? 0)).toBeGreaterThan(700);
    expect(slow?.at).toBeGreaterThanOrEqual(1400);
  });

  it('writes one line per element of an each call, with its index', async () => {
    const up = upstreamScope('stream-each');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base } },
      endpoints: [
        {
          path: '/v1/items',
          input: { query: { ids: { type: 'array', items: { type: 'string' } } } },
          calls: { item: { upstream: 'u', path: '/json/{item}', each: '{query.ids}', pick: ['id'] } },
        },
      ],
    });
    const lines = await ndjson(await gw.app.request('/v1/items?ids=a,b', { headers: NDJSON }));
    const items = lines.filter((l) => l.call === 'item').sort((x, y) => x.item - y.item);
    expect(items).toEqual([
      { call: 'item', item: 0, ok: true, data: { id: 'a' } },
      { call: 'item', item: 1, ok: true, data: { id: 'b' } },
    ]);
    expect(lines.at(-1)).toEqual({ meta: { complete: true, durationMs: expect.any(Number) }, complete: true, status: 200 });
  });

  it('writes a failed optional call as an error line with its fallback', async () => {
    const up = upstreamScope('stream-optional');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base } },
      endpoints: [{ path: '/v1/opt', calls: { recs: { upstream: 'u', path: '/status/503', fallback: [] } } }],
    });
    const lines = await ndjson(await gw.app.request('/v1/opt', { headers: NDJSON }));
    expect(lines).toEqual([
      { call: 'recs', ok: false, error: expect.objectContaining({ call: 'recs', code: 'http_status', status: 503 }), data: [] },
      { meta: { complete: false, durationMs: expect.any(Number) }, complete: false, status: 200 },
    ]);
  });

  it('writes a required failure line, then a final line with status 502, on a 200 stream', async () => {
    const up = upstreamScope('stream-required');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base, timeoutMs: 5000 } },
      endpoints: [
        {
          path: '/v1/req',
          deadlineMs: 8000,
          calls: { profile: { upstream: 'u', path: '/status/500', required: true }, slow: { upstream: 'u', path: '/delay/3000/slow' } },
        },
      ],
    });
    const res = await gw.app.request('/v1/req', { headers: NDJSON });
    expect(res.status).toBe(200);
    const lines = await ndjson(res);
    expect(lines[0]).toEqual({ call: 'profile', ok: false, error: expect.objectContaining({ code: 'http_status', status: 500 }) });
    expect(lines.at(-1)).toEqual({ meta: { complete: false, durationMs: expect.any(Number) }, complete: false, status: 502 });
    // The slow sibling was cancelled, not waited for.
    expect(lines.find((l) => l.call === 'slow')?.error?.code).toBe('cancelled');
    expect(lines.at(-1).meta.durationMs).toBeLessThan(2500);
  });

  it('gives a mapped status in the final line of a stream', async () => {
    const up = upstreamScope('stream-mapped');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base } },
      endpoints: [{ path: '/v1/m', calls: { profile: { upstream: 'u', path: '/status/404', required: true, statusMap: { '404': 404 } } } }],
    });
    const lines = await ndjson(await gw.app.request('/v1/m', { headers: NDJSON }));
    expect(lines.at(-1)?.status).toBe(404);
  });

  it('sends the same outcomes as Server-Sent Events with event: call and event: done', async () => {
    const up = upstreamScope('stream-sse');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base } },
      endpoints: [{ path: '/v1/sse', calls: { a: { upstream: 'u', path: '/json/a', pick: ['id'] } } }],
    });
    const res = await gw.app.request('/v1/sse', { headers: { accept: 'text/event-stream' } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await res.text();
    const events = text.trim().split('\n\n').map((block) => {
      const [event, data] = block.split('\n');
      return { event: event?.replace('event: ', ''), data: JSON.parse(data?.replace('data: ', '') ?? 'null') };
    });
    expect(events).toEqual([
      { event: 'call', data: { call: 'a', ok: true, data: { id: 'a' } } },
      { event: 'done', data: { meta: { complete: true, durationMs: expect.any(Number) }, complete: true, status: 200 } },
    ]);
  });

  it('answers invalid input with a plain 400 before any stream starts', async () => {
    const up = upstreamScope('stream-400');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base } },
      endpoints: [{ path: '/v1/users/:id', input: { params: { id: { type: 'string', pattern: '^[0-9]+$' } } }, calls: { a: { upstream: 'u', path: '/json/{params.id}' } } }],
    });
    const res = await gw.app.request('/v1/users/abc', { headers: NDJSON });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
  });

  it('cancels the calls still running when the client stops reading', async () => {
    const up = upstreamScope('stream-cancel');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base, timeoutMs: 5000 } },
      endpoints: [{ path: '/v1/c', deadlineMs: 8000, calls: { fast: { upstream: 'u', path: '/json/f' }, hung: { upstream: 'u', path: '/hang/h' } } }],
    });
    const res = await gw.app.request('/v1/c', { headers: NDJSON });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await eventually(async () => (await up.stats()).inFlight === 1);
    await reader.cancel();
    await eventually(async () => (await up.stats()).aborted === 1, 3000);
    expect((await up.stats()).inFlight).toBe(0);
  });
});
