/**
 * Graceful shutdown of the real Node process, as a load balancer sees it: after SIGTERM the
 * readiness probe fails at once (on new connections) while in-flight requests finish; repeated
 * signals do not cut the drain; responses during the drain close their connection, so no request
 * on a kept-alive connection is reset; what is still running when the grace period ends is
 * answered with 504, not reset.
 */
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
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

  it('when the grace period ends, a request still waiting on its required call is answered 504 with the contract body instead of reset, then exit 0', async () => {
    const { proc, base } = await startSlowGateway('cutoff', 6000, { TRIBUTARY_GRACE_MS: '500' });
    const { answer: slow } = await slowRequestInFlight(base, 'cutoff');
    proc.child.kill('SIGTERM');
    const answer = await slow;
    expect(answer.status).toBe(504);
    expect(answer.headers.connection).toBe('close');
    expect(answer.headers['x-aggregate-complete']).toBe('false');
    expect(JSON.parse(answer.body)).toEqual({
      data: { slow: null },
      errors: [
        expect.objectContaining({ call: 'slow', upstream: 'u', code: 'deadline_exceeded' }),
      ],
      meta: expect.objectContaining({ complete: false }),
    });
    expect(await exitWithin(proc, 10_000)).toBe(0);
    // The upstream call was cancelled, not left running.
    expect(upstream.stats('cutoff').aborted).toBe(1);
    expect(logLines(proc.stdout())).toContainEqual(
      expect.objectContaining({ level: 'warn', msg: expect.stringContaining('grace period over: 1 request still in flight'), inFlight: 1 }),
    );
  });

  it('a request whose body is still arriving when the grace period ends gets a 504 JSON error too, not a reset', async () => {
    const file = join(dir, 'cutoff-upload.json');
    await writeFile(
      file,
      JSON.stringify({
        upstreams: { u: { baseUrl: `${upstream.url}/s/cutoff-upload` } },
        endpoints: [{ method: 'POST', path: '/v1/orders', input: { body: { sku: { type: 'string' } } }, calls: { o: { upstream: 'u', path: '/json/o' } } }],
      }),
    );
    const port = await freePort();
    const proc = startNode({ TRIBUTARY_CONFIG: file, PORT: String(port), TRIBUTARY_GRACE_MS: '500' });
    running.push(proc);
    await proc.printed('listening on');
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    // Half of the announced body, then nothing: the upload is still under way at the signal.
    socket.write('POST /v1/orders HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"sku":');
    // Let the server parse the headers (the test holds either way: a request still being parsed is in flight too).
    await new Promise((r) => setTimeout(r, 100));
    proc.child.kill('SIGTERM');
    const timer = setTimeout(() => socket.destroy(), 8000);
    await closed;
    clearTimeout(timer);
    expect(received).toMatch(/^HTTP\/1\.1 504 /);
    expect(received.toLowerCase()).toContain('connection: close');
    const body = JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4)) as { error: { code: string; message: string } };
    expect(body.error).toEqual({ code: 'deadline_exceeded', message: 'the server is shutting down and its 500 ms grace period is over' });
    expect(await exitWithin(proc, 10_000)).toBe(0);
    expect(upstream.stats('cutoff-upload').requests).toBe(0);
  });

  it('kept-alive clients that keep sending during the drain are never reset on a kept-alive connection: each is told to close, and served until the port closes', async () => {
    const { proc, base } = await startSlowGateway('keepalive-drain', 5, { TRIBUTARY_SHUTDOWN_DELAY_MS: '400' });
    const clients = Array.from({ length: 4 }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
    const outcomes: { result: string; reused: boolean }[][] = clients.map(() => []);
    const loops = clients.map(async (agent, n) => {
      // Bounded: 400 requests per client at most; a client stops at its first failure.
      for (let i = 0; i < 400; i++) {
        const outcome = await new Promise<{ result: string; reused: boolean }>((resolve) => {
          const req = httpRequest(`${base}/v1/slow`, { agent }, (res) => {
            res.resume();
            res.on('end', () => resolve({ result: String(res.statusCode), reused: req.reusedSocket }));
            res.on('error', (error: NodeJS.ErrnoException) => resolve({ result: error.code ?? error.message, reused: req.reusedSocket }));
          });
          req.on('error', (error: NodeJS.ErrnoException) => resolve({ result: error.code ?? error.message, reused: req.reusedSocket }));
          req.end();
        });
        outcomes[n]?.push(outcome);
        if (outcome.result !== '200') return;
        if (i === 5 && n === 0) proc.child.kill('SIGTERM');
      }
    });
    await Promise.all(loops);
    for (const agent of clients) agent.destroy();
    expect(await exitWithin(proc, 10_000)).toBe(0);
    for (const outcome of outcomes) {
      // Kept-alive connections were used before the signal (and up to the first answer of the drain).
      expect(outcome.filter((o) => o.reused).length).toBeGreaterThan(0);
      // Every request sent on a kept-alive connection was answered 200: none was reset.
      expect(outcome.filter((o) => o.reused && o.result !== '200')).toEqual([]);
      // Each client stopped on a new connection once the port closed (refused; or reset by the
      // kernel when it was still queued for accept as the listener closed: the server never saw it).
      const last = outcome.at(-1);
      expect(last?.reused).toBe(false);
      expect(['ECONNREFUSED', 'ECONNRESET']).toContain(last?.result);
      expect(outcome.slice(0, -1).every((o) => o.result === '200')).toBe(true);
    }
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
