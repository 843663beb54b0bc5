/**
 * Several gateway processes sharing one real Redis: what one stored, the other answers from;
 * and a Redis that dies mid-run costs cache hits, never answers, with one warning per outage.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { startRedis, type RedisServer } from '../support/redis-server.ts';
import { startUpstream, type Upstream } from '../support/upstream-server.ts';
import { logLines } from './log-lines.ts';
import { exitWithin, startNode, type NodeProcess } from './node-process.ts';

let dir: string;
let upstream: Upstream;
let configFile: string;
let scope: string;
const running: NodeProcess[] = [];
const redisServers: RedisServer[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-redis-'));
  upstream = await startUpstream();
  scope = `redis-${crypto.randomUUID()}`;
  configFile = join(dir, 'cache.json');
  await writeFile(
    configFile,
    JSON.stringify({
      upstreams: { config: { baseUrl: `${upstream.url}/s/${scope}`, cache: { ttlMs: 60_000 } } },
      endpoints: [{ path: '/v1/settings/:id', calls: { settings: { upstream: 'config', path: '/json/{params.id}' } } }],
    }),
  );
}, 30_000);
afterAll(async () => {
  for (const p of running) p.kill();
  for (const r of redisServers) await r.kill();
  await upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

async function redis(): Promise<RedisServer> {
  const server = await startRedis();
  redisServers.push(server);
  return server;
}

async function gateway(redisUrl: string, env: Record<string, string> = {}): Promise<{ proc: NodeProcess; get: (path: string) => Promise<{ status: number; body: any }> }> {
  const port = await freePort();
  const proc = startNode({ TRIBUTARY_CONFIG: configFile, PORT: String(port), TRIBUTARY_CACHE: redisUrl, TRIBUTARY_ACCESS_LOG: '0', ...env });
  running.push(proc);
  await proc.printed('listening on', 20_000);
  const get = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: response.status, body: (await response.json()) as any };
  };
  return { proc, get };
}

async function upstreamRequests(): Promise<number> {
  const response = await fetch(`${upstream.url}/s/${scope}/__stats`);
  return ((await response.json()) as { requests: number }).requests;
}

/** Polls Redis until it holds `n` keys (the gateway writes after answering), bounded. */
async function keysIn(url: string, n: number): Promise<void> {
  const client = createClient({ url });
  await client.connect();
  try {
    for (let i = 0; i < 100; i++) {
      if ((await client.dbSize()) >= n) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`Redis did not hold ${n} keys within 2 s`);
  } finally {
    client.destroy();
  }
}

async function stop(proc: NodeProcess): Promise<string> {
  proc.child.kill('SIGTERM');
  expect(await exitWithin(proc, 10_000)).toBe(0);
  return proc.stdout();
}

describe('a cache shared through Redis', () => {
  it('a second gateway process answers from what the first one stored', async () => {
    const server = await redis();
    const [a, b] = await Promise.all([gateway(server.url), gateway(server.url)]);
    const before = await upstreamRequests();
    const first = await a.get('/v1/settings/shared-1');
    expect(first.status).toBe(200);
    expect(first.body.meta.cache).toBeUndefined();
    await keysIn(server.url, 1);
    const second = await b.get('/v1/settings/shared-1');
    expect(second.status).toBe(200);
    expect(second.body.meta.cache).toEqual({ settings: 'hit' });
    expect(second.body.data).toEqual(first.body.data);
    expect((await upstreamRequests()) - before).toBe(1);
    await Promise.all([stop(a.proc), stop(b.proc)]);
  }, 60_000);

  it('Redis killed mid-run: requests still answer from the upstream, and one warning is logged', async () => {
    const server = await redis();
    // A patient read timeout: on a loaded machine a live Redis may take more than the default
    // 20 ms to answer, which is a slow-Redis episode of its own (another test), not this outage.
    const a = await gateway(server.url, { TRIBUTARY_CACHE_TIMEOUT_MS: '2000' });
    expect((await a.get('/v1/settings/outage-0')).status).toBe(200);
    await keysIn(server.url, 1);
    expect((await a.get('/v1/settings/outage-0')).body.meta.cache).toEqual({ settings: 'hit' });
    await server.kill();
    for (let i = 1; i <= 10; i++) {
      const answer = await a.get(`/v1/settings/outage-${i % 3}`);
      expect(answer.status).toBe(200);
      expect(answer.body.meta.complete).toBe(true);
    }
    const stdout = await stop(a.proc);
    const warnings = logLines(stdout).filter((line) => line.level === 'warn');
    expect(warnings, JSON.stringify(warnings)).toHaveLength(1);
    expect(String(warnings[0]?.msg)).toMatch(/^cache: Redis at redis:\/\/127\.0\.0\.1:\d+\/0 is unreachable or slow/);
  }, 60_000);

  it('a slow Redis: the read gives up after TRIBUTARY_CACHE_TIMEOUT_MS and the call goes to its upstream', async () => {
    const server = await redis();
    const a = await gateway(server.url);
    expect((await a.get('/v1/settings/slow-0')).status).toBe(200);
    await keysIn(server.url, 1);
    const before = await upstreamRequests();
    const admin = createClient({ url: server.url });
    await admin.connect();
    // Redis answers nothing for 3 s; the gateway must not wait for it.
    const asleep = admin.sendCommand(['DEBUG', 'SLEEP', '3']);
    await new Promise((r) => setTimeout(r, 100));
    const answer = await a.get('/v1/settings/slow-0');
    await asleep;
    admin.destroy();
    expect(answer.status).toBe(200);
    expect(answer.body.meta.cache).toBeUndefined();
    expect((await upstreamRequests()) - before).toBe(1);
    const warnings = logLines(await stop(a.proc)).filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(1);
  }, 60_000);
});
