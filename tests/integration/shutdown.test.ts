/**
 * Graceful shutdown of the real Node process, as a load balancer sees it: after SIGTERM the
 * readiness probe fails at once (on new connections) while in-flight requests finish; repeated
 * signals do not cut the drain; responses during the drain close their connection.
 */
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../support/upstream-server.ts';
import { freePort } from './gateway-server.ts';
import { logLines } from './log-lines.ts';
import { exitWithin, startNode, type NodeProcess } from './node-process.ts';

let dir: string;
let upstream: Upstream;
const running: NodeProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-shutdown-'));
  upstream = await startUpstream();
});
afterAll(async () => {
  for (const p of running) p.kill();
  await upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * GET on a connection of its own, so "a new connection" means one. `keepAlive`: the client asks
 * to keep the connection (as a load balancer's pool does), so the server's `connection` header is its own choice.
 */
function getFresh(url: string, keepAlive = false): Promise<Answer> {
  const agent = keepAlive ? new Agent({ keepAlive: true, maxSockets: 1 }) : false;
  return new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  }).finally(() => {
    if (agent) agent.destroy();
  });
}

/** Polls `/readyz` on new connections until it answers 503 (bounded); the last answer. */
async function readyzUntilDraining(base: string): Promise<Answer> {
  let last: Answer | undefined;
  for (let i = 0; i < 100; i++) {
    last = await getFresh(`${base}/readyz`);
    if (last.status === 503) return last;
    await new Promise((r) => setTimeout(r, 20));
  }
  return last as Answer;
}

/** A gateway whose one endpoint waits `ms` on the test upstream. */
async function startSlowGateway(scope: string, ms: number, env: Record<string, string> = {}) {
  const file = join(dir, `${scope}.json`);
  await writeFile(
    file,
    JSON.stringify({
      upstreams: { u: { baseUrl: `${upstream.url}/s/${scope}`, timeoutMs: 8000 } },
      endpoints: [{ path: '/v1/slow', deadlineMs: 9000, calls: { slow: { upstream: 'u', path: `/delay/${ms}/x`, required: true } } }],
    }),
  );
  const port = await freePort();
  const proc = startNode({ TRIBUTARY_CONFIG: file, PORT: String(port), ...env });
  running.push(proc);
  await proc.printed('listening on');
  return { proc, base: `http://127.0.0.1:${port}` };
}

/** Starts a slow request and waits until the upstream has it; `answer` settles when the client has the response. */
async function slowRequestInFlight(base: string, scope: string): Promise<{ answer: Promise<Answer> }> {
  const answer = getFresh(`${base}/v1/slow`, true);
  answer.catch(() => {});
  for (let i = 0; i < 200 && upstream.stats(scope).inFlight < 1; i++) await new Promise((r) => setTimeout(r, 10));
  expect(upstream.stats(scope).inFlight).toBe(1);
  // Wrapped: an async function returning the promise itself would wait for the answer.
  return { answer };
}

describe('graceful shutdown with a load balancer in front', () => {
  it('after SIGTERM /readyz answers 503 on a new connection while a slow request still completes with 200', async () => {
    const { proc, base } = await startSlowGateway('readyz', 1500);
    expect((await getFresh(`${base}/readyz`)).status).toBe(200);
    const { answer: slow } = await slowRequestInFlight(base, 'readyz');

    proc.child.kill('SIGTERM');
    const readyz = await readyzUntilDraining(base);
    expect(readyz.status).toBe(503);
    expect(JSON.parse(readyz.body)).toEqual({ status: 'draining' });
    // Liveness is not readiness: nothing should restart a process that is finishing its work.
    expect((await getFresh(`${base}/healthz`)).status).toBe(200);

    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).meta.complete).toBe(true);
    expect(await exitWithin(proc, 10_000)).toBe(0);
    expect(logLines(proc.stdout())).toContainEqual(expect.objectContaining({ level: 'info', msg: expect.stringContaining('SIGTERM: draining') }));
  });

  it('responses sent while draining say Connection: close, so kept-alive clients reconnect elsewhere', async () => {
    const { proc, base } = await startSlowGateway('connection-close', 800);
    expect((await getFresh(`${base}/readyz`, true)).headers.connection).toBe('keep-alive');
    const { answer: slow } = await slowRequestInFlight(base, 'connection-close');
    proc.child.kill('SIGTERM');
    expect((await readyzUntilDraining(base)).status).toBe(503);
    expect((await getFresh(`${base}/healthz`, true)).headers.connection).toBe('close');
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(answer.headers.connection).toBe('close');
    expect(await exitWithin(proc, 10_000)).toBe(0);
  });

  it('a second SIGTERM and a SIGINT during the drain are harmless: the slow request still completes, exit 0', async () => {
    const { proc, base } = await startSlowGateway('repeat', 1200);
    const { answer: slow } = await slowRequestInFlight(base, 'repeat');
    proc.child.kill('SIGTERM');
    expect((await readyzUntilDraining(base)).status).toBe(503);
    proc.child.kill('SIGTERM');
    proc.child.kill('SIGINT');
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(await exitWithin(proc, 10_000)).toBe(0);
    expect(logLines(proc.stdout()).filter((l) => String(l.msg).includes('already draining'))).toHaveLength(2);
    expect(upstream.stats('repeat').aborted).toBe(0);
  });

  it('TRIBUTARY_SHUTDOWN_DELAY_MS keeps accepting (with /readyz 503) after the signal even when nothing is in flight', async () => {
    const { proc, base } = await startSlowGateway('delay', 10, { TRIBUTARY_SHUTDOWN_DELAY_MS: '1500' });
    proc.child.kill('SIGTERM');
    expect((await readyzUntilDraining(base)).status).toBe(503);
    expect((await getFresh(`${base}/v1/slow`)).status).toBe(200);
    expect(await exitWithin(proc, 10_000)).toBe(0);
  });

  it.each([
    ['TRIBUTARY_SHUTDOWN_DELAY_MS', 'soon'],
    ['TRIBUTARY_GRACE_MS', '-5'],
  ])('%s=%s is refused at start-up, naming the variable', async (name, value) => {
    const proc = startNode({ PORT: String(await freePort()), [name]: value });
    running.push(proc);
    expect(await exitWithin(proc, 10_000)).toBe(1);
    expect(proc.stderr()).toContain(name);
    expect(proc.stdout()).not.toContain('listening');
  });
});
