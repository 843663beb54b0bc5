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
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => fetch(`${up.url}/s/lim/limited/${i}?ms=30`).then((r) => r.json())));
    expect(answers.map((a) => (a as { id: string }).id)).toEqual(['0', '1', '2', '3', '4', '5']);
    const stats = up.stats('lim');
    expect(stats.limited.peakActive).toBe(2);
    expect(stats.peakInFlight).toBe(6);
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
});
