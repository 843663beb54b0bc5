import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../support/upstream-server.ts';
import { freePort } from './gateway-server.ts';
import { logLines } from './log-lines.ts';
import { exitWithin, repoRoot, startNode, type NodeProcess } from './node-process.ts';

let dir: string;
let upstream: Upstream;
const running: NodeProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-startup-'));
  upstream = await startUpstream();
});
afterAll(async () => {
  for (const p of running) p.kill();
  await upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

const STACK_LINE = /^\s+at\s/m;

function run(env: Record<string, string>): NodeProcess {
  const proc = startNode(env);
  running.push(proc);
  return proc;
}

async function writeJson(name: string, config: unknown): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return file;
}

const upstreams = { users: { baseUrl: 'http://127.0.0.1:4001' } };
const endpoint = (calls: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  method: 'GET',
  path: '/v1/dashboard/:userId',
  deadlineMs: 1000,
  ...extra,
  calls,
});

describe('start-up refuses a bad config: exit code != 0, a message naming the place, no stack trace', () => {
  it('runs under Node 24', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
  });

  const cases: [string, unknown, (string | RegExp)[]][] = [
    [
      'unknown upstream',
      { upstreams, endpoints: [endpoint({ orders: { upstream: 'order', path: '/orders' } })] },
      ['endpoint GET /v1/dashboard/:userId', 'call "orders"', 'field "upstream"', 'unknown upstream "order"'],
    ],
    [
      'dependency cycle',
      {
        upstreams,
        endpoints: [
          endpoint({
            a: { upstream: 'users', path: '/a/{calls.b.id}' },
            b: { upstream: 'users', path: '/b/{calls.a.id}' },
          }),
        ],
      },
      ['endpoint GET /v1/dashboard/:userId', 'cycle', /a -> b -> a|b -> a -> b/],
    ],
    [
      'template naming a missing field',
      { upstreams, endpoints: [endpoint({ profile: { upstream: 'users', path: '/users/{params.user}' } })] },
      ['endpoint GET /v1/dashboard/:userId', 'call "profile"', 'field "path"', '{params.user}'],
    ],
    [
      'template naming a missing call',
      { upstreams, endpoints: [endpoint({ manager: { upstream: 'users', path: '/users/{calls.profile.managerId}' } })] },
      ['call "manager"', 'field "path"', 'calls.profile.managerId'],
    ],
    [
      'call timeout longer than the deadline',
      { upstreams, endpoints: [endpoint({ orders: { upstream: 'users', path: '/orders', timeoutMs: 2000 } })] },
      ['endpoint GET /v1/dashboard/:userId', 'call "orders"', 'field "timeoutMs"', '2000', '1000'],
    ],
    [
      'invalid baseUrl',
      { upstreams: { users: { baseUrl: 'not a url' } }, endpoints: [endpoint({ p: { upstream: 'users', path: '/p' } })] },
      ['upstream "users"', 'field "baseUrl"', 'not a url'],
    ],
    [
      'baseUrl that is not http',
      { upstreams: { users: { baseUrl: 'ftp://127.0.0.1/' } }, endpoints: [endpoint({ p: { upstream: 'users', path: '/p' } })] },
      ['upstream "users"', 'field "baseUrl"'],
    ],
    [
      'missing environment variable in a header',
      {
        upstreams: { users: { baseUrl: 'http://127.0.0.1:4001', headers: { 'x-api-key': '${TRIBUTARY_TEST_MISSING_KEY}' } } },
        endpoints: [endpoint({ p: { upstream: 'users', path: '/p' } })],
      },
      ['upstream "users"', 'x-api-key', 'TRIBUTARY_TEST_MISSING_KEY'],
    ],
    [
      'schema error (wrong type)',
      { upstreams, endpoints: [endpoint({ p: { upstream: 'users', path: '/p', timeoutMs: 'fast' } })] },
      ['endpoint GET /v1/dashboard/:userId', 'call "p"', 'timeoutMs'],
    ],
    ['a file that is not JSON', '{ "upstreams": ', ['not valid JSON']],
  ];

  it.concurrent.each(cases)('%s', async (name, config, expected) => {
    const file = await writeJson(`${name.replace(/\W+/g, '-')}.json`, config);
    const proc = run({ TRIBUTARY_CONFIG: file, PORT: String(await freePort()) });
    const code = await exitWithin(proc, 15_000);
    expect(code).not.toBe(0);
    expect(typeof code === 'number' ? code : -1).toBeGreaterThan(0);
    const stderr = proc.stderr();
    for (const part of expected) {
      if (typeof part === 'string') expect(stderr).toContain(part);
      else expect(stderr).toMatch(part);
    }
    expect(stderr).not.toMatch(STACK_LINE);
    expect(proc.stdout()).not.toContain('listening');
  });

  it('a config file that does not exist is refused the same way', async () => {
    const proc = run({ TRIBUTARY_CONFIG: join(dir, 'nope.json'), PORT: String(await freePort()) });
    const code = await exitWithin(proc, 15_000);
    expect(code).not.toBe(0);
    expect(proc.stderr()).toContain('nope.json');
    expect(proc.stderr()).not.toMatch(STACK_LINE);
  });
});

describe('start-up with a good config', () => {
  it('serves a .ts config module written with defineConfig, and exits 0 on SIGTERM', async () => {
    const file = join(dir, 'tributary.config.ts');
    const schema = pathToFileURL(join(repoRoot, 'src/services/config-schema.ts')).href;
    await writeFile(
      file,
      [
        `import { defineConfig } from '${schema}';`,
        `const timeoutMs: number = 500;`,
        `export default defineConfig({`,
        `  upstreams: { u: { baseUrl: '${upstream.url}/s/ts-config', timeoutMs, headers: { 'x-api-key': '\${TRIBUTARY_TEST_KEY}' } } },`,
        `  endpoints: [{ path: '/v1/hello/:name', calls: { hello: { upstream: 'u', path: '/json/{params.name}', required: true } } }],`,
        `});`,
      ].join('\n'),
    );
    const port = await freePort();
    const proc = run({ TRIBUTARY_CONFIG: file, PORT: String(port), TRIBUTARY_TEST_KEY: 'k-123' });
    await proc.printed('listening on');
    const res = await fetch(`http://127.0.0.1:${port}/v1/hello/world`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { hello: { id: string; headers: Record<string, string> } } };
    expect(body.data.hello.id).toBe('world');
    expect(body.data.hello.headers['x-api-key']).toBe('k-123');
    proc.child.kill('SIGTERM');
    expect(await exitWithin(proc, 10_000)).toBe(0);
  });
});

describe('the built-in demo (no TRIBUTARY_CONFIG)', () => {
  let proc: NodeProcess;
  let base: string;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    proc = run({ PORT: String(port) });
    await proc.printed('/with-manager');
  }, 20_000);

  it('prints the three URLs to try', () => {
    expect(proc.stdout()).toContain(`${base}/v1/dashboard/42`);
    expect(proc.stdout()).toContain(`${base}/v1/items?ids=1,2,3`);
    expect(proc.stdout()).toContain(`${base}/v1/users/42/with-manager`);
  });

  it('dashboard: 200, incomplete, recs timed out and fell back to []', async () => {
    const res = await fetch(`${base}/v1/dashboard/42`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-aggregate-complete')).toBe('false');
    expect(res.headers.get('server-timing')).toMatch(/total;dur=[\d.]+, fanout;dur=[\d.]+/);
    const body = (await res.json()) as { data: Record<string, unknown>; errors: { call: string; code: string }[] };
    expect(body.data).toEqual({
      profile: { id: '42', name: 'User 42', managerId: '21' },
      orders: [
        { id: '42-1', total: 42.5 },
        { id: '42-2', total: 9.99 },
      ],
      recs: [],
    });
    expect(body.errors).toEqual([expect.objectContaining({ call: 'recs', upstream: 'recs', code: 'timeout', attempts: 1 })]);
  });

  it('items: one result per id, in order', async () => {
    const res = await fetch(`${base}/v1/items?ids=1,2,3`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-aggregate-complete')).toBe('true');
    const body = (await res.json()) as { data: { items: { id: string; name: string }[] } };
    expect(body.data.items.map((i) => [i.id, i.name])).toEqual([
      ['1', 'Item 1'],
      ['2', 'Item 2'],
      ['3', 'Item 3'],
    ]);
  });

  it('with-manager: the dependent manager call used the user call result', async () => {
    const res = await fetch(`${base}/v1/users/42/with-manager`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: Record<string, unknown> };
    expect(body.data).toEqual({
      user: { id: '42', name: 'User 42', managerId: '21' },
      manager: { id: '21', name: 'User 21', managerId: '10' },
    });
  });

  it('with-manager for an unknown user: 502, manager not started', async () => {
    const res = await fetch(`${base}/v1/users/5000/with-manager`);
    expect(res.status).toBe(502);
    const body = (await res.json()) as { errors: { call: string; code: string; status?: number }[] };
    expect(body.errors).toEqual([
      expect.objectContaining({ call: 'user', code: 'http_status', status: 404 }),
      expect.objectContaining({ call: 'manager', code: 'cancelled', attempts: 0 }),
    ]);
  });

  it('bad ids are refused with 400 naming each one', async () => {
    const res = await fetch(`${base}/v1/items?ids=a/b,..`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { issues: { field: string }[] } };
    expect(body.error.issues.map((i) => i.field)).toEqual(['query.ids.0', 'query.ids.1']);
  });

  it('SIGTERM lets an in-flight request finish, then exits 0', async () => {
    // 300 ids at 10 at a time against a 25 ms catalog: several hundred ms of work.
    const ids = Array.from({ length: 300 }, (_, i) => String(i + 1)).join(',');
    const started = performance.now();
    const inFlight = fetch(`${base}/v1/items?ids=${ids}`).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as { data: { items: unknown[] }; errors: unknown[] },
    }));
    await new Promise((r) => setTimeout(r, 100));
    proc.child.kill('SIGTERM');
    const res = await inFlight;
    expect(performance.now() - started).toBeGreaterThan(150);
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([]);
    expect(res.body.data.items).toHaveLength(300);
    const answered = performance.now();
    expect(await exitWithin(proc, 10_000)).toBe(0);
    // It exits once the request is done, not at the end of the 10 s grace period.
    expect(performance.now() - answered).toBeLessThan(3000);
    expect(proc.stdout()).toContain('SIGTERM');
    // No longer accepting connections.
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});

describe('process edge cases', () => {
  it('SIGTERM with a request stuck past the grace period: it is answered 504 (not reset), the upstream call aborted, exit 0', async () => {
    const scope = 'grace';
    const file = await writeJson('grace.json', {
      upstreams: { u: { baseUrl: `${upstream.url}/s/${scope}`, timeoutMs: 8000 } },
      endpoints: [{ path: '/v1/stuck', deadlineMs: 9000, calls: { stuck: { upstream: 'u', path: '/hang', required: true } } }],
    });
    const port = await freePort();
    const proc = run({ TRIBUTARY_CONFIG: file, PORT: String(port), TRIBUTARY_GRACE_MS: '300' });
    await proc.printed('listening on');
    const client = fetch(`http://127.0.0.1:${port}/v1/stuck`).then(
      (r) => r.status,
      () => 'closed',
    );
    for (let i = 0; i < 200 && upstream.stats(scope).inFlight < 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(upstream.stats(scope).inFlight).toBe(1);
    const signalled = performance.now();
    proc.child.kill('SIGTERM');
    expect(await exitWithin(proc, 8000)).toBe(0);
    expect(performance.now() - signalled).toBeLessThan(3000);
    expect(logLines(proc.stdout())).toContainEqual(
      expect.objectContaining({ level: 'warn', msg: expect.stringContaining('grace period over') }),
    );
    expect(await client).toBe(504);
    for (let i = 0; i < 100 && upstream.stats(scope).aborted < 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(upstream.stats(scope).aborted).toBe(1);
  });

  it('SIGINT exits 0 too, at once when nothing is in flight (idle keep-alive connections do not hold it)', async () => {
    const file = await writeJson('sigint.json', {
      upstreams: { u: { baseUrl: `${upstream.url}/s/sigint` } },
      endpoints: [{ path: '/v1/a', calls: { a: { upstream: 'u', path: '/json/a' } } }],
    });
    const port = await freePort();
    const proc = run({ TRIBUTARY_CONFIG: file, PORT: String(port) });
    await proc.printed('listening on');
    // Leaves an idle keep-alive connection to the gateway open.
    expect((await fetch(`http://127.0.0.1:${port}/v1/a`)).status).toBe(200);
    const signalled = performance.now();
    proc.child.kill('SIGINT');
    expect(await exitWithin(proc, 8000)).toBe(0);
    expect(performance.now() - signalled).toBeLessThan(2000);
  });

  it('a port already in use is refused with a message and no stack trace', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const file = await writeJson('in-use.json', {
        upstreams: { u: { baseUrl: `${upstream.url}/s/in-use` } },
        endpoints: [{ path: '/v1/a', calls: { a: { upstream: 'u', path: '/json/a' } } }],
      });
      const proc = run({ TRIBUTARY_CONFIG: file, PORT: String(port) });
      const code = await exitWithin(proc, 10_000);
      expect(code).not.toBe(0);
      expect(proc.stderr()).toContain(String(port));
      expect(proc.stderr()).not.toMatch(STACK_LINE);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it.each(['abc', '70000', '-1'])('PORT=%s is refused', async (value) => {
    const file = await writeJson('port.json', {
      upstreams: { u: { baseUrl: `${upstream.url}/s/port` } },
      endpoints: [{ path: '/v1/a', calls: { a: { upstream: 'u', path: '/json/a' } } }],
    });
    const proc = run({ TRIBUTARY_CONFIG: file, PORT: value });
    expect(await exitWithin(proc, 10_000)).not.toBe(0);
    expect(proc.stderr()).toContain('PORT');
    expect(proc.stderr()).not.toMatch(STACK_LINE);
  });

  it.each([
    ['throws when loaded', `throw new Error('boom from config');\n`, 'boom from config'],
    ['has no default export', `export const config = {};\n`, 'default export'],
    ['has a syntax error', `export default {{;\n`, 'cannot load'],
  ])('a .ts config that %s is refused without a stack trace', async (name, source, expected) => {
    const file = join(dir, `bad-${name.replace(/\W+/g, '-')}.ts`);
    await writeFile(file, source);
    const proc = run({ TRIBUTARY_CONFIG: file, PORT: String(await freePort()) });
    expect(await exitWithin(proc, 10_000)).not.toBe(0);
    expect(proc.stderr()).toContain(expected);
    expect(proc.stderr()).not.toMatch(STACK_LINE);
  });
});
