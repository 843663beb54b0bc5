import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from './upstream-server.ts';

let up: Upstream;
beforeAll(async () => {
  up = await startUpstream({ limitedCapacity: 2 });
});
afterAll(() => up.close());

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, ms = 2000): Promise<void> {
  for (let waited = 0; waited < ms && !check(); waited += 10) await sleep(10);
  expect(check()).toBe(true);
}

describe('the test upstream', () => {
  it('echoes the raw path, the query and selected headers, per scope', async () => {
    const res = await fetch(`${up.url}/s/echo/json/a%2Fb?x=1&x=2&y=3`, { headers: { 'x-test': 'yes', cookie: 'no' } });
    const body = (await res.json()) as { id: string; path: string; query: unknown; headers: Record<string, string> };
    expect(body).toMatchObject({ id: 'a/b', path: '/s/echo/json/a%2Fb?x=1&x=2&y=3', query: { x: ['1', '2'], y: '3' } });
    expect(body.headers['x-test']).toBe('yes');
    expect(body.headers.cookie).toBeUndefined();
    const stats = up.stats('echo');
    expect(stats).toMatchObject({ requests: 1, completed: 1, aborted: 0, byRoute: { json: 1 }, byPath: { '/json/a%2Fb': 1 } });
    const overHttp = (await (await fetch(`${up.url}/s/echo/__stats`)).json()) as { requests: number };
    expect(overHttp.requests).toBe(1);
    expect(up.stats('other').requests).toBe(0);
  });

  it('counts peak in-flight and client aborts', async () => {
    const controller = new AbortController();
    const hung = fetch(`${up.url}/s/abort/hang`, { signal: controller.signal }).catch(() => 'aborted');
    const slow = [1, 2].map((i) => fetch(`${up.url}/s/abort/delay/60/${i}`).then((r) => r.json()));
    await until(() => up.stats('abort').inFlight === 3);
    controller.abort();
    expect(await hung).toBe('aborted');
    await Promise.all(slow);
    await until(() => up.stats('abort').inFlight === 0);
    expect(up.stats('abort')).toMatchObject({ requests: 3, peakInFlight: 3, aborted: 1, completed: 2 });
  });

  it('serves /huge with the exact size, with and without content-length', async () => {
    for (const query of ['', '?chunked=1']) {
      const res = await fetch(`${up.url}/s/huge/huge/100000${query}`);
      expect(res.headers.get('content-length')).toBe(query ? null : '100000');
      const text = await res.text();
      expect(text.length).toBe(100000);
      expect((JSON.parse(text) as { pad: string }).pad.length).toBe(100000 - 10);
    }
  });

  it('/limited serves at most its capacity at once and queues the rest', async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => fetch(`${up.url}/s/lim/limited/${i}?ms=150`).then((r) => r.json())));
    expect(answers.map((a) => (a as { id: string }).id)).toEqual(['0', '1', '2', '3', '4', '5']);
    const stats = up.stats('lim');
    expect(stats.limited.peakActive).toBe(2);
    // More were in flight than served at once: the rest queued. (Each takes 150 ms, so even on a
    // busy machine several arrive while the first two are served.)
    expect(stats.peakInFlight).toBeGreaterThan(2);
  });

  it('/reset breaks the connection mid-body; /status and /badjson answer as named', async () => {
    await expect(fetch(`${up.url}/s/misc/reset`).then((r) => r.text())).rejects.toThrow();
    expect((await fetch(`${up.url}/s/misc/status/503`)).status).toBe(503);
    await expect(fetch(`${up.url}/s/misc/badjson`).then((r) => r.json())).rejects.toThrow();
    expect(up.stats('misc').aborted).toBe(0);
  });

  it('POST /__reset zeroes a scope, or every scope', async () => {
    await fetch(`${up.url}/s/r1/json/a`).then((r) => r.text());
    await fetch(`${up.url}/s/r2/json/a`).then((r) => r.text());
    await fetch(`${up.url}/s/r1/__reset`, { method: 'POST' }).then((r) => r.text());
    expect(up.stats('r1').requests).toBe(0);
    expect(up.stats('r2').requests).toBe(1);
    await fetch(`${up.url}/__reset`, { method: 'POST' }).then((r) => r.text());
    expect(up.stats('r2').requests).toBe(0);
    expect(up.stats().requests).toBe(0);
  });

  it('/flaky fails the first `fails` requests of each key with `status`, then echoes with the attempt number', async () => {
    const get = async (path: string) => {
      const res = await fetch(`${up.url}/s/flaky${path}`);
      return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { attempt: number; id?: string } };
    };
    expect(await get('/flaky/a?fails=2&status=500')).toMatchObject({ status: 500, retryAfter: null, body: { attempt: 1 } });
    expect(await get('/flaky/b?fails=2')).toMatchObject({ status: 503, body: { attempt: 1 } });
    expect(await get('/flaky/a?fails=2&status=500')).toMatchObject({ status: 500, body: { attempt: 2 } });
    expect(await get('/flaky/a?fails=2&status=500')).toMatchObject({ status: 200, body: { attempt: 3, id: 'a' } });
    expect(await get('/flaky/a?fails=2&status=500')).toMatchObject({ status: 200, body: { attempt: 4 } });
    expect(await get('/flaky/c?fails=1&retryAfter=2')).toMatchObject({ status: 503, retryAfter: '2' });
    expect(up.stats('flaky').byPath).toEqual({ '/flaky/a': 4, '/flaky/b': 1, '/flaky/c': 1 });
    // A reset starts every key over.
    up.reset('flaky');
    expect(await get('/flaky/a?fails=1')).toMatchObject({ status: 503, body: { attempt: 1 } });
  });

  it('/down always fails, with 503 or `?status=`, and counts every request', async () => {
    for (let i = 0; i < 3; i++) expect((await fetch(`${up.url}/s/down/down`).then((r) => r.json())) as unknown).toEqual({ status: 503, attempt: i + 1 });
    const res = await fetch(`${up.url}/s/down/down/x?status=500&retryAfter=1`);
    expect(res.status).toBe(500);
    expect(res.headers.get('retry-after')).toBe('1');
    await res.text();
    expect(up.stats('down')).toMatchObject({ requests: 4, completed: 4, byRoute: { down: 4 }, byPath: { '/down': 3, '/down/x': 1 } });
  });

  it('/ratelimited answers 429 with Retry-After for the first `fails` requests of each key, then 200', async () => {
    const first = await fetch(`${up.url}/s/rl/ratelimited/k?fails=2&retryAfter=3`);
    expect([first.status, first.headers.get('retry-after')]).toEqual([429, '3']);
    expect(await first.json()).toEqual({ status: 429, attempt: 1 });
    const second = await fetch(`${up.url}/s/rl/ratelimited/k?fails=2&retryAfter=3`);
    expect(second.status).toBe(429);
    await second.text();
    const third = await fetch(`${up.url}/s/rl/ratelimited/k?fails=2&retryAfter=3`);
    expect(third.status).toBe(200);
    expect(await third.json()).toMatchObject({ id: 'k', attempt: 3 });
    const other = await fetch(`${up.url}/s/rl/ratelimited/other`);
    expect([other.status, other.headers.get('retry-after')]).toEqual([429, '1']);
    await other.text();
    expect(up.stats('rl').byPath).toEqual({ '/ratelimited/k': 3, '/ratelimited/other': 1 });
  });

  it('/slowtail makes every `every`-th request of a key slow, the first included, by a counter', async () => {
    const answers: { attempt: number; slow: boolean }[] = [];
    for (let i = 0; i < 7; i++) answers.push((await fetch(`${up.url}/s/tail/slowtail/k?every=3&ms=60`).then((r) => r.json())) as never);
    expect(answers.map((a) => [a.attempt, a.slow])).toEqual([
      [1, true], [2, false], [3, false], [4, true], [5, false], [6, false], [7, true],
    ]);
    const log = up.stats('tail').log;
    const took = log.map((e) => (e.endedAt as number) - e.startedAt);
    for (const i of [0, 3, 6]) expect(took[i]).toBeGreaterThanOrEqual(50);
    // `offset` moves the slow one: here the second of every two.
    const shifted = (await fetch(`${up.url}/s/tail/slowtail/o?every=2&offset=1&ms=1`).then((r) => r.json())) as { slow: boolean };
    expect(shifted.slow).toBe(false);
  });

  it('/slowtail: a client that leaves during the slow answer is counted as aborted', async () => {
    const controller = new AbortController();
    const slow = fetch(`${up.url}/s/tail-abort/slowtail/k?every=100&ms=5000`, { signal: controller.signal }).catch(() => 'aborted');
    await until(() => up.stats('tail-abort').inFlight === 1);
    const fast = (await fetch(`${up.url}/s/tail-abort/slowtail/k?every=100&ms=5000`).then((r) => r.json())) as { attempt: number; slow: boolean };
    expect(fast).toMatchObject({ attempt: 2, slow: false });
    controller.abort();
    expect(await slow).toBe('aborted');
    await until(() => up.stats('tail-abort').inFlight === 0);
    expect(up.stats('tail-abort')).toMatchObject({ requests: 2, aborted: 1, completed: 1 });
  });
});
