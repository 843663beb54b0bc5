/**
 * The Node process's logs as an operator reads them: JSON lines on stdout (pino), one access
 * line per request, faults as one JSON line, nothing secret, and the switches that turn them off.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { createNodeLogger } from '../../src/node/logger.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { fakeFetcher, json } from '../services/fake-fetcher.ts';
import { startUpstream, type Upstream } from '../support/upstream-server.ts';
import { freePort } from './gateway-server.ts';
import { accessLines, logLines } from './log-lines.ts';
import { exitWithin, startNode, type NodeProcess } from './node-process.ts';

const SECRET = 'upstream-secret-5d2a9c';
const CLIENT_SECRET = 'client-token-0b7e';

let dir: string;
let upstream: Upstream;
let configFile: string;
const running: NodeProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-logs-'));
  upstream = await startUpstream();
  configFile = join(dir, 'logs.json');
  const base = `${upstream.url}/s/logs`;
  await writeFile(
    configFile,
    JSON.stringify({
      upstreams: {
        users: { baseUrl: base, headers: { 'x-api-key': '${LOG_TEST_KEY}', authorization: 'Bearer ${LOG_TEST_KEY}' } },
        recs: { baseUrl: base, timeoutMs: 100 },
      },
      endpoints: [
        {
          path: '/v1/users/:id',
          input: { params: { id: { type: 'string', pattern: '^[0-9]+$' } } },
          calls: { user: { upstream: 'users', path: '/json/{params.id}', required: true } },
        },
        {
          path: '/v1/partial/:id',
          calls: {
            user: { upstream: 'users', path: '/json/{params.id}', required: true },
            recs: { upstream: 'recs', path: '/hang/{params.id}', fallback: [] },
          },
        },
        { path: '/v1/broken/:id', calls: { user: { upstream: 'users', path: '/status/500', required: true } } },
      ],
    }),
  );
});
afterAll(async () => {
  for (const p of running) p.kill();
  await upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

async function gateway(env: Record<string, string> = {}): Promise<{ proc: NodeProcess; base: string }> {
  const port = await freePort();
  const proc = startNode({ TRIBUTARY_CONFIG: configFile, PORT: String(port), LOG_TEST_KEY: SECRET, ...env });
  running.push(proc);
  return { proc, base: `http://127.0.0.1:${port}` };
}

/** Stops the process and returns what it printed, once it has exited (pino flushes on exit). */
async function stop(proc: NodeProcess): Promise<{ stdout: string; stderr: string }> {
  proc.child.kill('SIGTERM');
  expect(await exitWithin(proc, 10_000)).toBe(0);
  return { stdout: proc.stdout(), stderr: proc.stderr() };
}

describe('the Node process logs JSON lines on stdout', () => {
  it('one access line per request: 200, partial 200, 502, 400, 404, each with the route pattern and outcome', async () => {
    const { proc, base } = await gateway();
    await proc.printed('listening on');
    const headers = { 'x-request-id': 'req-ok', authorization: `Bearer ${CLIENT_SECRET}`, cookie: `s=${CLIENT_SECRET}` };
    expect((await fetch(`${base}/v1/users/4242?token=${CLIENT_SECRET}`, { headers })).status).toBe(200);
    expect((await fetch(`${base}/v1/partial/4343`, { headers: { 'x-request-id': 'req-partial' } })).status).toBe(200);
    expect((await fetch(`${base}/v1/broken/4444`, { headers: { 'x-request-id': 'req-502' } })).status).toBe(502);
    expect((await fetch(`${base}/v1/users/abc`, { headers: { 'x-request-id': 'req-400' } })).status).toBe(400);
    expect((await fetch(`${base}/v2/nothing/4545?token=${CLIENT_SECRET}`, { headers: { 'x-request-id': 'req-404' } })).status).toBe(404);
    const { stdout, stderr } = await stop(proc);

    // Every line is JSON (logLines throws otherwise), with a level name and an ISO time.
    for (const line of logLines(stdout)) {
      expect(line).toMatchObject({ level: expect.stringMatching(/^(info|warn|error)$/), time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    }
    const byId = new Map(accessLines(stdout).map((line) => [line.requestId, line]));
    expect(byId.size).toBe(5);
    const common = { level: 'info', msg: 'request', method: 'GET', durationMs: expect.any(Number), time: expect.any(String) };
    expect(byId.get('req-ok')).toEqual({ ...common, requestId: 'req-ok', route: '/v1/users/:id', status: 200, complete: true });
    expect(byId.get('req-partial')).toEqual({
      ...common,
      requestId: 'req-partial',
      route: '/v1/partial/:id',
      status: 200,
      complete: false,
      failed: [{ call: 'recs', code: 'timeout' }],
    });
    expect(byId.get('req-502')).toEqual({
      ...common,
      requestId: 'req-502',
      route: '/v1/broken/:id',
      status: 502,
      complete: false,
      failed: [{ call: 'user', code: 'http_status' }],
    });
    expect(byId.get('req-400')).toEqual({ ...common, requestId: 'req-400', route: '/v1/users/:id', status: 400 });
    expect(byId.get('req-404')).toEqual({ ...common, requestId: 'req-404', route: '(unmatched)', status: 404 });

    // Nothing secret, no raw path ids, no query string, anywhere in what the process printed.
    for (const needle of [SECRET, CLIENT_SECRET, 'Bearer', '4242', '4545', 'token=']) {
      expect(stdout).not.toContain(needle);
      expect(stderr).not.toContain(needle);
    }
  });

  it('TRIBUTARY_ACCESS_LOG=0: no access line, the other lines stay', async () => {
    const { proc, base } = await gateway({ TRIBUTARY_ACCESS_LOG: '0' });
    await proc.printed('listening on');
    expect((await fetch(`${base}/v1/users/1`)).status).toBe(200);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    const { stdout } = await stop(proc);
    expect(accessLines(stdout)).toEqual([]);
    expect(logLines(stdout)).toContainEqual(expect.objectContaining({ msg: expect.stringContaining('listening on') }));
  });

  it('TRIBUTARY_LOG_LEVEL=silent: nothing on stdout', async () => {
    const { proc, base } = await gateway({ TRIBUTARY_LOG_LEVEL: 'silent' });
    // Nothing to wait for on stdout: poll the port instead (bounded).
    let status = 0;
    for (let i = 0; i < 200 && status === 0; i++) {
      status = await fetch(`${base}/healthz`).then((r) => r.status, () => 0);
      if (status === 0) await new Promise((r) => setTimeout(r, 25));
    }
    expect(status).toBe(200);
    expect((await fetch(`${base}/v1/users/1`)).status).toBe(200);
    const { stdout } = await stop(proc);
    expect(stdout).toBe('');
  });

  it('TRIBUTARY_LOG_LEVEL=warn: no access lines (they are info)', async () => {
    const { proc, base } = await gateway({ TRIBUTARY_LOG_LEVEL: 'warn' });
    let status = 0;
    for (let i = 0; i < 200 && status === 0; i++) {
      status = await fetch(`${base}/v1/users/1`).then((r) => r.status, () => 0);
      if (status === 0) await new Promise((r) => setTimeout(r, 25));
    }
    expect(status).toBe(200);
    const { stdout } = await stop(proc);
    expect(accessLines(stdout)).toEqual([]);
  });

  it('an unknown TRIBUTARY_LOG_LEVEL is refused at start-up, naming the values it takes', async () => {
    const { proc } = await gateway({ TRIBUTARY_LOG_LEVEL: 'verbose' });
    expect(await exitWithin(proc, 10_000)).toBe(1);
    expect(proc.stderr()).toContain('TRIBUTARY_LOG_LEVEL must be one of debug, info, warn, error, silent, got "verbose"');
    expect(proc.stdout()).not.toContain('listening');
  });
});

describe('the Node logger in-process', () => {
  it('an internal fault is one JSON error line with the request id and route (its stack escaped inside), plus the 500 access line', async () => {
    const written: string[] = [];
    const logger = createNodeLogger({ level: 'info', accessLog: true }, { write: (chunk: string) => void written.push(chunk) });
    const clock = (): number => {
      throw new Error('clock exploded');
    };
    const { app } = createApp({
      plan: compilePlan({
        upstreams: { u: { baseUrl: 'http://u.test', headers: { 'x-api-key': SECRET } } },
        endpoints: [{ path: '/v1/a/:id', calls: { a: { upstream: 'u', path: '/a/{params.id}' } } }],
      }),
      fetcher: fakeFetcher(() => json({})).fetcher,
      engine: { clock },
      log: logger.fault,
      ...(logger.access ? { accessLog: logger.access } : {}),
    });
    const res = await app.request('/v1/a/777', { headers: { 'x-request-id': 'req-fault' } });
    expect(res.status).toBe(500);

    const text = written.join('');
    const lines = logLines(text);
    expect(lines).toHaveLength(2);
    const [fault, access] = lines;
    expect(fault).toMatchObject({
      level: 'error',
      requestId: 'req-fault',
      method: 'GET',
      route: '/v1/a/:id',
      error: { type: 'Error', message: 'clock exploded', stack: expect.stringContaining('clock exploded') },
      msg: 'request req-fault (GET /v1/a/:id) failed',
    });
    expect(access).toMatchObject({ msg: 'request', requestId: 'req-fault', status: 500 });
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('777');
  });
});
