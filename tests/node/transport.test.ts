import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkListeners, linkSignal } from '../../src/lib/abort.ts';
import { connectionsByOrigin, createNodeTransport } from '../../src/node/transport.ts';
import { compilePlan } from '../../src/services/plan/index.ts';

describe('Node transport: sockets per origin', () => {
  it('an origin shared by several upstreams gets the sum of their bulkheads, so none queues inside the pool', () => {
    const plan = compilePlan({
      upstreams: {
        users: { baseUrl: 'http://api.test/users', maxConcurrency: 40 },
        orders: { baseUrl: 'http://api.test/orders', maxConcurrency: 24 },
        recs: { baseUrl: 'http://recs.test', maxConcurrency: 8 },
      },
      endpoints: [{ path: '/x', calls: { a: { upstream: 'users', path: '/a' } } }],
    });
    const connections = connectionsByOrigin(plan);
    expect(connections('http://api.test')).toBe(64);
    expect(connections('http://recs.test:80')).toBe(8);
    expect(connections('http://elsewhere.test')).toBe(128);
  });
});

describe('Node transport: one exchange on the wire', () => {
  let server: Server;
  let base: string;
  const seen: string[] = [];
  /** Resolves when the socket of the latest /hang request closes. */
  let hangClosed: Promise<void> = Promise.resolve();
  let transport: ReturnType<typeof createNodeTransport>;

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/big') {
        // 1 MiB in 16 KiB writes: more than the transport buffers before it pauses the socket.
        const chunk = 'x'.repeat(16 * 1024);
        res.writeHead(200, { 'content-type': 'application/json' });
        let left = 64;
        const more = (): void => {
          while (left > 0) {
            left--;
            if (!res.write(chunk)) return void res.once('drain', more);
          }
          res.end();
        };
        more();
      } else if (url.pathname === '/reset') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"partial":');
        setTimeout(() => req.socket.destroy(), 20);
      } else if (url.pathname === '/bighang') {
        // 200 KiB, then nothing more: only a reader that stops the exchange frees the socket.
        hangClosed = new Promise((resolve) => req.socket.once('close', () => resolve()));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('x'.repeat(200 * 1024));
      } else if (url.pathname === '/silent') {
        // Headers never come.
        hangClosed = new Promise((resolve) => req.socket.once('close', () => resolve()));
      } else if (url.pathname === '/hang') {
        hangClosed = new Promise((resolve) => req.socket.once('close', () => resolve()));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('[');
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'x-two': ['a', 'b'] });
        res.end(JSON.stringify({ path: url.pathname, query: url.search, method: req.method }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    transport = createNodeTransport();
  });
  afterAll(async () => {
    await transport.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const init = (signal = new AbortController().signal) => ({ method: 'GET', headers: { accept: 'application/json' }, signal });
  async function text(body: AsyncIterable<Uint8Array> | null): Promise<string> {
    const parts: Buffer[] = [];
    for await (const chunk of body ?? []) parts.push(Buffer.from(chunk));
    return Buffer.concat(parts).toString('utf8');
  }

  it('sends the path and query string as given, and reads status, headers and body', async () => {
    const response = await transport.fetcher(`${base}/a/b?x=1&y=%20`, init());
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toBe('application/json');
    expect(response.headers.get('x-two')).toBe('a, b');
    expect(response.headers.get('x-missing')).toBeNull();
    expect(JSON.parse(await text(response.body))).toEqual({ path: '/a/b', query: '?x=1&y=%20', method: 'GET' });
  });

  it('reads a body much larger than it buffers, whole, when the reader is slower than the socket', async () => {
    const response = await transport.fetcher(`${base}/big`, init());
    let size = 0;
    for await (const chunk of response.body ?? []) {
      size += chunk.byteLength;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(size).toBe(64 * 16 * 1024);
  });

  it('a signal aborted before the call sends nothing and rejects with its reason', async () => {
    const before = seen.length;
    const controller = new AbortController();
    const reason = new Error('client left');
    controller.abort(reason);
    await expect(transport.fetcher(`${base}/a`, init(controller.signal))).rejects.toBe(reason);
    expect(seen.length).toBe(before);
  });

  it('a call aborted while it waits for a socket is never sent, and does not hold the connection', async () => {
    // One connection per origin: the aborted call's socket is the one the next call needs.
    const single = createNodeTransport({ connectionsFor: () => 1 });
    try {
      const controller = new AbortController();
      const reason = new Error('deadline');
      const pending = single.fetcher(`${base}/big?never-sent`, init(controller.signal));
      controller.abort(reason);
      await expect(pending).rejects.toBe(reason);
      const next = await single.fetcher(`${base}/after-early-abort`, init());
      expect(JSON.parse(await text(next.body)).path).toBe('/after-early-abort');
      expect(seen).not.toContain('GET /big?never-sent');
    } finally {
      await single.close();
    }
  });

  it('never sends the fragment of a URL', async () => {
    const response = await transport.fetcher(`${base}/frag?x=1#part`, init());
    expect(JSON.parse(await text(response.body))).toMatchObject({ path: '/frag', query: '?x=1' });
    expect(seen).toContain('GET /frag?x=1');
  });

  it('an abort while the body is awaited fails the reader with the reason, and the next call still works', async () => {
    const controller = new AbortController();
    const response = await transport.fetcher(`${base}/hang`, init(controller.signal));
    const reason = new Error('deadline');
    setTimeout(() => controller.abort(reason), 20);
    await expect(text(response.body)).rejects.toBe(reason);
    await hangClosed;
    const next = await transport.fetcher(`${base}/after-abort`, init());
    expect(JSON.parse(await text(next.body)).path).toBe('/after-abort');
  });

  it('a connection reset mid-body fails the reader with the socket error', async () => {
    const response = await transport.fetcher(`${base}/reset`, init());
    const failure = await text(response.body).then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as { code?: string }).code).toMatch(/^UND_ERR_|^ECONNRESET$/);
  });

  it('reads a body whole in one run of bytes, also one that arrived before the read and paused the socket', async () => {
    const small = await transport.fetcher(`${base}/whole?x=1`, init());
    const bytes = await small.body?.readAll?.(1024);
    expect(JSON.parse(Buffer.from(bytes ?? []).toString())).toMatchObject({ path: '/whole', query: '?x=1' });
    const big = await transport.fetcher(`${base}/big`, init());
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await big.body?.readAll?.(2 * 1024 * 1024))?.byteLength).toBe(64 * 16 * 1024);
  });

  it('a body larger than the whole read takes gives nothing, closes the socket, and the next call still works', async () => {
    const response = await transport.fetcher(`${base}/bighang`, init());
    expect(await response.body?.readAll?.(100 * 1024)).toBeUndefined();
    // The upstream would otherwise hold the socket open for ever; a leak would time this test out.
    await hangClosed;
    const next = await transport.fetcher(`${base}/after-too-large`, init());
    expect(JSON.parse(await text(next.body)).path).toBe('/after-too-large');
  });

  it('a whole read fails with the abort reason, or with the socket error of a reset', async () => {
    const controller = new AbortController();
    const hung = await transport.fetcher(`${base}/hang`, init(controller.signal));
    const reason = new Error('deadline');
    setTimeout(() => controller.abort(reason), 20);
    await expect(hung.body?.readAll?.(1024)).rejects.toBe(reason);
    await hangClosed;
    const reset = await transport.fetcher(`${base}/reset`, init());
    const failure = await reset.body?.readAll?.(1024).then(() => undefined, (error: unknown) => error);
    expect((failure as { code?: string }).code).toMatch(/^UND_ERR_|^ECONNRESET$/);
  });

  it("on a linked signal (the gateway's per-try link), an exchange leaves no listener behind, whichever way it ends", async () => {
    const call = linkSignal();
    const whole = await transport.fetcher(`${base}/linked`, init(call.signal));
    expect(JSON.parse(new TextDecoder().decode(await whole.body?.readAll?.(1024)))).toMatchObject({ path: '/linked' });
    expect(linkListeners(call.signal)).toBe(0);
    const tooLarge = await transport.fetcher(`${base}/bighang`, init(call.signal));
    expect(await tooLarge.body?.readAll?.(1024)).toBeUndefined();
    await hangClosed;
    expect(linkListeners(call.signal)).toBe(0);
    const reset = await transport.fetcher(`${base}/reset`, init(call.signal));
    await reset.body?.readAll?.(1024).catch(() => undefined);
    expect(linkListeners(call.signal)).toBe(0);
    // Aborted through its parent while the body is awaited: the reason reaches the reader.
    const child = linkSignal(call.signal);
    const hung = await transport.fetcher(`${base}/hang`, init(child.signal));
    expect(linkListeners(child.signal)).toBe(1);
    const reason = new Error('deadline');
    call.abort(reason);
    await expect(hung.body?.readAll?.(1024)).rejects.toBe(reason);
    expect(linkListeners(child.signal)).toBe(0);
    child.dispose();
    await hangClosed;
  });

  it('keeps a timeout itself: no headers in time fails the response with its reason and frees the socket', async () => {
    expect(transport.fetcher.keepsTimeouts).toBe(true);
    const reason = new Error('users did not answer within 50 ms');
    const started = performance.now();
    await expect(transport.fetcher(`${base}/silent`, { ...init(), timeout: { ms: 50, reason: () => reason } })).rejects.toBe(reason);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    await hangClosed;
    const next = await transport.fetcher(`${base}/after-timeout`, init());
    expect(JSON.parse(await text(next.body)).path).toBe('/after-timeout');
  });

  it('a timeout that runs out mid-body fails the reader with its reason; one met in time is never fired', async () => {
    const reason = new Error('timed out');
    const hung = await transport.fetcher(`${base}/hang`, { ...init(), timeout: { ms: 50, reason: () => reason } });
    expect(hung.status).toBe(200);
    await expect(hung.body?.readAll?.(1024)).rejects.toBe(reason);
    await hangClosed;

    // Whole before its time: the timer is cleared with the exchange, so its reason is never made.
    let made = 0;
    const timeout = { ms: 40, reason: () => (made++, new Error('late')) };
    const whole = await transport.fetcher(`${base}/in-time`, { ...init(), timeout });
    expect(JSON.parse(new TextDecoder().decode(await whole.body?.readAll?.(1024)))).toMatchObject({ path: '/in-time' });
    const reset = await transport.fetcher(`${base}/reset`, { ...init(), timeout });
    await expect(reset.body?.readAll?.(1024)).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(made).toBe(0);
  });

  it('stopping early (cancel, or leaving the loop) frees the exchange: the server sees the socket closed', async () => {
    const response = await transport.fetcher(`${base}/hang`, init());
    for await (const chunk of response.body ?? []) {
      expect(chunk.byteLength).toBeGreaterThan(0);
      break;
    }
    // The upstream would otherwise hold the socket open for ever; a leak would time this test out.
    await hangClosed;
    const next = await transport.fetcher(`${base}/after-cancel`, init());
    expect(JSON.parse(await text(next.body)).path).toBe('/after-cancel');
  });
});
