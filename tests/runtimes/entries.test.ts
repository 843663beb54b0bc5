/**
 * src/deno.ts and src/bun.ts as users run them (Deno with deno.json's permissions): the demo, a
 * config from TRIBUTARY_CONFIG, a refused config, a client that disconnects, and SIGTERM.
 * One process per behaviour group; the upstream is the loopback test upstream.
 */
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitWithin, type NodeProcess } from '../integration/node-process.ts';
import { eventually } from '../integration/gateway-server.ts';
import { startUpstream, type Upstream } from '../support/upstream-server.ts';
import { weakEtag } from '../../src/routes/etag.ts';
import { assertRuntime, RUNTIMES, startUnder, type Runtime } from './runtimes.ts';

let upstream: Upstream;
const started: NodeProcess[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(async () => {
  for (const proc of started) proc.kill();
  await upstream.close();
});

/** Starts the runtime's entry on a free port and waits for its "listening" line. */
async function startEntry(runtime: Runtime, env: Record<string, string>): Promise<{ proc: NodeProcess; url: string }> {
  const proc = startUnder(runtime, `src/${runtime.name}.ts`, { PORT: '0', TRIBUTARY_ACCESS_LOG: '0', ...env });
  started.push(proc);
  await proc.printed(/tributary listening on http:\/\/127\.0\.0\.1:\d+/, 30_000);
  const url = /tributary listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(proc.stdout())?.[1] as string;
  return { proc, url };
}

describe.each([RUNTIMES.deno, RUNTIMES.bun])('the $label entry', (runtime) => {
  it('serves the built-in demo with its own server: a partial dashboard, the catalog, health', async () => {
    const { proc, url } = await startEntry(runtime, {});
    expect(proc.stdout()).toContain(`(3 endpoints, ${runtime.label})`);
    const dashboard = await fetch(`${url}/v1/dashboard/42`);
    const body = (await dashboard.json()) as { data: { profile: { id: string }; recs: unknown[] }; errors: { call: string; code: string }[] };
    expect(dashboard.status).toBe(200);
    expect(dashboard.headers.get('x-aggregate-complete')).toBe('false');
    expect(body.data.profile.id).toBe('42');
    expect(body.data.recs).toEqual([]);
    expect(body.errors).toEqual([expect.objectContaining({ call: 'recs', code: 'timeout' })]);
    const items = (await (await fetch(`${url}/v1/items?ids=1,2,3`)).json()) as { data: { items: { id: string }[] } };
    expect(items.data.items.map((i) => i.id)).toEqual(['1', '2', '3']);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    proc.child.kill('SIGTERM');
    expect(await exitWithin(proc, 15_000)).toBe(0);
  });

  it('reads a TypeScript config named by TRIBUTARY_CONFIG, filling ${NAME} from the environment', async () => {
    const { proc, url } = await startEntry(runtime, { TRIBUTARY_CONFIG: 'tests/runtimes/fixtures/echo.config.ts', UPSTREAM_URL: `${upstream.url}/s/${runtime.name}-ts` });
    const res = await fetch(`${url}/v1/typed/7`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: { typed: { id: string } } }).data.typed.id).toBe('7');
    proc.kill();
  });

  it('refuses a config that does not compile: the problem, naming what is missing, on stderr without a stack; exit 1', async () => {
    const proc = startUnder(runtime, `src/${runtime.name}.ts`, { PORT: '0', TRIBUTARY_CONFIG: 'tests/runtimes/fixtures/echo.config.json' });
    started.push(proc);
    expect(await exitWithin(proc, 30_000)).toBe(1);
    expect(proc.stderr()).toMatch(/^invalid Tributary config:\n.*UPSTREAM_URL/);
    expect(proc.stderr()).not.toMatch(/^\s+at /m);
  });

  it('says which address it cannot listen on, and exits 1, when the port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const proc = startUnder(runtime, `src/${runtime.name}.ts`, { PORT: String(port) });
      started.push(proc);
      expect(await exitWithin(proc, 30_000)).toBe(1);
      expect(proc.stderr().trim()).toMatch(new RegExp(`^cannot listen on 127\\.0\\.0\\.1:${port}: (EADDRINUSE|AddrInUse)$`));
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  describe('with a JSON config', () => {
    let proc: NodeProcess;
    let url: string;
    const scope = `${runtime.name}-json-${Date.now()}`;
    beforeAll(async () => {
      ({ proc, url } = await startEntry(runtime, { TRIBUTARY_CONFIG: 'tests/runtimes/fixtures/echo.config.json', UPSTREAM_URL: `${upstream.url}/s/${scope}`, TRIBUTARY_GRACE_MS: '5000', TRIBUTARY_SHUTDOWN_DELAY_MS: '1000' }));
    }, 40_000);

    it('a client that disconnects aborts its request\'s upstream call', async () => {
      const client = new AbortController();
      const answer = fetch(`${url}/v1/hang`, { signal: client.signal }).catch((error: unknown) => error);
      await eventually(() => upstream.stats(scope).inFlight === 1, 10_000);
      client.abort();
      await answer;
      await eventually(() => upstream.stats(scope).aborted === 1, 5000);
      expect(upstream.stats(scope).inFlight).toBe(0);
    });

    it('caches a call and gives the ETag Node would give, answering 304 to it', async () => {
      const first = await fetch(`${url}/v1/cached/5`);
      expect(first.status).toBe(200);
      const body = (await first.json()) as { data: { cached: { id: string } } };
      expect(body.data.cached.id).toBe('5');
      // The digest is the runtime's node:crypto one; Node (and WebCrypto) give the same bytes.
      expect(first.headers.get('etag')).toBe(await weakEtag(new TextEncoder().encode(JSON.stringify(body.data))));
      const again = await fetch(`${url}/v1/cached/5`, { headers: { 'if-none-match': first.headers.get('etag') ?? '' } });
      expect(again.status).toBe(304);
      const cachedAgain = (await (await fetch(`${url}/v1/cached/5`)).json()) as { meta: { cache?: Record<string, string> } };
      expect(cachedAgain.meta.cache).toEqual({ cached: 'hit' });
      expect(upstream.stats(scope).byPath['/json/5']).toBe(1);
    });

    it('on SIGTERM answers /readyz 503 for TRIBUTARY_SHUTDOWN_DELAY_MS, lets the request in flight finish, then exits 0', async () => {
      const slow = fetch(`${url}/v1/slow/800`).then(async (r) => ({ status: r.status, body: (await r.json()) as { data: { slow: { path: string } } } }));
      await eventually(() => upstream.stats(scope).inFlight === 1, 10_000);
      proc.child.kill('SIGTERM');
      await proc.printed('SIGTERM: draining', 5000);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.headers.get('connection')).toBe('close');
      const answered = await slow;
      expect(answered.status).toBe(200);
      expect(answered.body.data.slow.path).toContain('/delay/800');
      expect(await exitWithin(proc, 15_000)).toBe(0);
    });
  });

  it('when the grace period is over, answers the request still running with 504 and exits 0', async () => {
    const scope = `${runtime.name}-grace-${Date.now()}`;
    const { proc, url } = await startEntry(runtime, { TRIBUTARY_CONFIG: 'tests/runtimes/fixtures/echo.config.json', UPSTREAM_URL: `${upstream.url}/s/${scope}`, TRIBUTARY_GRACE_MS: '300' });
    const slow = fetch(`${url}/v1/slow/4000`).then(async (r) => ({ status: r.status, body: (await r.json()) as { errors: { code: string }[] } }));
    await eventually(() => upstream.stats(scope).inFlight === 1, 10_000);
    proc.child.kill('SIGTERM');
    const answered = await slow;
    expect(answered.status).toBe(504);
    expect(answered.body.errors).toEqual([expect.objectContaining({ code: 'deadline_exceeded' })]);
    expect(await exitWithin(proc, 15_000)).toBe(0);
    expect(proc.stdout()).toContain('grace period over: 1 request still in flight');
  });
});

describe('a runtime that cannot run here', () => {
  it('fails with a message that says what is missing and how to install it, instead of skipping', () => {
    expect(() => assertRuntime({ ...RUNTIMES.deno, bin: '/nonexistent/deno' })).toThrow(
      'Deno is not installed: /nonexistent/deno is missing; run `npm ci` (deno is a devDependency',
    );
  });
});
