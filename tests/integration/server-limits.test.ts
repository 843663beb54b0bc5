/**
 * The Node server's limits on its clients, set by environment variables, as a slow, idle or
 * greedy client meets them: real sockets against `node src/node.ts`, with short limits so each
 * test takes a second or two (the defaults are 10 s for headers and request, 5 s keep-alive).
 */
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../support/upstream-server.ts';
import { freePort } from './gateway-server.ts';
import { accessLines, logLines } from './log-lines.ts';
import { exitWithin, startNode, type NodeProcess } from './node-process.ts';
import { guardConnections } from '../../src/node/server-options.ts';

let dir: string;
let upstream: Upstream;
let configFile: string;
const running: NodeProcess[] = [];
const sockets: Socket[] = [];

const LIMITS = {
  TRIBUTARY_HEADERS_TIMEOUT_MS: '300',
  TRIBUTARY_REQUEST_TIMEOUT_MS: '600',
  TRIBUTARY_KEEP_ALIVE_TIMEOUT_MS: '200',
  TRIBUTARY_MAX_REQUEST_BODY_BYTES: '64',
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-limits-'));
  upstream = await startUpstream();
  configFile = join(dir, 'limits.json');
  await writeFile(
    configFile,
    JSON.stringify({
      upstreams: { u: { baseUrl: `${upstream.url}/s/limits`, timeoutMs: 3000 } },
      endpoints: [
        { path: '/v1/slow', deadlineMs: 4000, calls: { slow: { upstream: 'u', path: '/delay/1000/x', required: true } } },
        {
          method: 'POST',
          path: '/v1/echo',
          input: { body: { name: { type: 'string' } } },
          calls: { echo: { upstream: 'u', method: 'POST', path: '/json/echo', body: { name: '{body.name}' } } },
        },
        { method: 'POST', path: '/v1/refresh', calls: { r: { upstream: 'u', path: '/json/refresh' } } },
      ],
    }),
  );
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  for (const p of running) p.kill();
  await upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

async function startGateway(env: Record<string, string>): Promise<{ proc: NodeProcess; port: number }> {
  const port = await freePort();
  const proc = startNode({ TRIBUTARY_CONFIG: configFile, PORT: String(port), ...env });
  running.push(proc);
  await proc.printed('listening on');
  return { proc, port };
}

interface Raw {
  socket: Socket;
  /** Everything the server sent so far. */
  received(): string;
  /** Resolves once the server closed the connection (or it failed); `false` when `ms` passed first. */
  closedWithin(ms: number): Promise<boolean>;
}

/** A plain TCP connection to the gateway, to send a request byte by byte as a slow client would. */
async function rawConnection(port: number): Promise<Raw> {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  let text = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return {
    socket,
    received: () => text,
    closedWithin: async (ms) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
      const result = await Promise.race([closed.then(() => true as const), late]);
      clearTimeout(timer);
      return result;
    },
  };
}

/** Writes `lines` one every `everyMs` while the connection is open (a slowloris), at most `lines.length`. */
async function drip(raw: Raw, lines: string[], everyMs: number): Promise<void> {
  for (const line of lines) {
    if (raw.socket.destroyed || raw.socket.writableEnded) return;
    raw.socket.write(line);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

describe('limits on slow and idle clients (TRIBUTARY_*_TIMEOUT_MS)', () => {
  let gateway: { proc: NodeProcess; port: number };
  beforeAll(async () => {
    gateway = await startGateway(LIMITS);
  });

  it('a client that sends its headers slowly gets 408 and its connection closed after TRIBUTARY_HEADERS_TIMEOUT_MS', async () => {
    const raw = await rawConnection(gateway.port);
    raw.socket.write('GET /healthz HTTP/1.1\r\nHost: gateway\r\n');
    // A header line every 100 ms: each byte is in time, the whole never is. 30 lines = 3 s at most.
    void drip(raw, Array.from({ length: 30 }, (_, i) => `x-slow-${i}: 1\r\n`), 100);
    expect(await raw.closedWithin(3000)).toBe(true);
    expect(raw.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('a client that sends its body slowly gets 408 after TRIBUTARY_REQUEST_TIMEOUT_MS; not a fault in the log', async () => {
    const raw = await rawConnection(gateway.port);
    raw.socket.write('POST /v1/echo HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"na');
    void drip(raw, Array.from({ length: 30 }, () => ' '), 100);
    expect(await raw.closedWithin(3000)).toBe(true);
    expect(raw.received()).toMatch(/^HTTP\/1\.1 408 /);
    // The body never arrived: logged as 499 (the client's side of the exchange failed), not as a fault.
    const echo = (): Record<string, unknown> | undefined => accessLines(gateway.proc.stdout()).find((l) => l.route === '/v1/echo');
    for (let i = 0; i < 100 && !echo(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(echo()).toMatchObject({ status: 499 });
    expect(logLines(gateway.proc.stdout()).filter((l) => l.level === 'error')).toEqual([]);
  });

  it('a request whose answer takes longer than TRIBUTARY_REQUEST_TIMEOUT_MS is still answered: the limit is on receiving it', async () => {
    const res = await fetch(`http://127.0.0.1:${gateway.port}/v1/slow`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { meta: { complete: boolean } }).meta.complete).toBe(true);
  });

  it('an idle kept-alive connection is closed by the server after TRIBUTARY_KEEP_ALIVE_TIMEOUT_MS', async () => {
    const raw = await rawConnection(gateway.port);
    raw.socket.write('GET /healthz HTTP/1.1\r\nHost: gateway\r\nConnection: keep-alive\r\n\r\n');
    // Node adds its keep-alive buffer (1 s) to the advertised timeout; 3 s stays far below the 5 s default.
    expect(await raw.closedWithin(3000)).toBe(true);
    expect(raw.received()).toMatch(/^HTTP\/1\.1 200 /);
  });
});

describe('request bodies', () => {
  let gateway: { proc: NodeProcess; port: number };
  beforeAll(async () => {
    gateway = await startGateway({ TRIBUTARY_MAX_REQUEST_BODY_BYTES: '64' });
  });

  it('TRIBUTARY_MAX_REQUEST_BODY_BYTES: a larger body gets 413 with the JSON error, before the upstream is called', async () => {
    const before = upstream.stats('limits').requests;
    const res = await fetch(`http://127.0.0.1:${gateway.port}/v1/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x'.repeat(100) }),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: { code: 'body_too_large', message: 'the request body is larger than 64 bytes' } });
    expect(upstream.stats('limits').requests).toBe(before);
  });

  it('a 10 MiB POST to an endpoint without a body is refused with 400 before the body is sent, and the connection closed', async () => {
    const raw = await rawConnection(gateway.port);
    // The headers announce 10 MiB; only 16 KiB of it is ever sent. The answer must not wait for the rest.
    raw.socket.write(`POST /v1/refresh HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`);
    raw.socket.write('x'.repeat(16 * 1024));
    expect(await raw.closedWithin(3000)).toBe(true);
    expect(raw.received()).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw.received().toLowerCase()).toContain('connection: close');
    expect(raw.received()).toContain('POST /v1/refresh takes no request body');
  });

  it('a JSON body sent as text/plain gets 415', async () => {
    const res = await fetch(`http://127.0.0.1:${gateway.port}/v1/echo`, { method: 'POST', body: '{"name":"x"}' });
    expect(res.status).toBe(415);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unsupported_media_type');
  });

  it('a client that disconnects mid-upload is no internal error: no error line, the access log says 499', async () => {
    const raw = await rawConnection(gateway.port);
    raw.socket.write('POST /v1/echo HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: 60\r\nx-request-id: gone-mid-upload\r\n\r\n{"name":');
    await new Promise((r) => setTimeout(r, 100));
    raw.socket.destroy();
    const access = async (): Promise<Record<string, unknown> | undefined> =>
      accessLines(gateway.proc.stdout()).find((l) => l.requestId === 'gone-mid-upload');
    for (let i = 0; i < 100 && !(await access()); i++) await new Promise((r) => setTimeout(r, 20));
    expect(await access()).toMatchObject({ route: '/v1/echo', status: 499 });
    expect(logLines(gateway.proc.stdout()).filter((l) => l.level === 'error')).toEqual([]);
    expect(gateway.proc.stderr()).toBe('');
  });
});

describe('TRIBUTARY_MAX_INBOUND_CONNECTIONS', () => {
  it('beyond the cap a new connection is closed at once, unanswered, and a warning says why; a freed slot is usable again', async () => {
    const { proc, port } = await startGateway({ TRIBUTARY_MAX_INBOUND_CONNECTIONS: '2' });
    const held = [await rawConnection(port), await rawConnection(port)];
    // Each one in the middle of its headers, so the server counts it as busy.
    for (const h of held) h.socket.write('GET /healthz HTTP/1.1\r\n');
    const third = await rawConnection(port);
    third.socket.write('GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n');
    expect(await third.closedWithin(2000)).toBe(true);
    expect(third.received()).toBe('');
    await proc.printed('refused 1 client connection');
    expect(logLines(proc.stdout())).toContainEqual(expect.objectContaining({ level: 'warn', refused: 1, limit: 2 }));

    held[0]?.socket.destroy();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => 0);
      if (status !== 200) await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe(200);
  });
});

describe('bad values stop the start with one line naming the variable', () => {
  it.each([
    ['TRIBUTARY_HEADERS_TIMEOUT_MS', '10s'],
    ['TRIBUTARY_KEEP_ALIVE_TIMEOUT_MS', '0'],
    ['TRIBUTARY_MAX_REQUEST_BODY_BYTES', '1.5'],
    ['TRIBUTARY_MAX_INBOUND_CONNECTIONS', '-1'],
  ])('%s=%s', async (name, value) => {
    const proc = startNode({ PORT: String(await freePort()), [name]: value });
    running.push(proc);
    expect(await exitWithin(proc, 10_000)).toBe(1);
    expect(proc.stderr().trim().split('\n')).toEqual([`${name} must be a whole number of ${name.endsWith('_MS') ? 'milliseconds' : name.endsWith('BYTES') ? 'bytes' : 'connections'} above 0, got "${value}"`]);
    expect(proc.stdout()).not.toContain('listening');
  });

  it('a headers timeout above the request timeout is refused, naming both', async () => {
    const proc = startNode({ PORT: String(await freePort()), TRIBUTARY_HEADERS_TIMEOUT_MS: '5000', TRIBUTARY_REQUEST_TIMEOUT_MS: '2000' });
    running.push(proc);
    expect(await exitWithin(proc, 10_000)).toBe(1);
    expect(proc.stderr()).toContain('TRIBUTARY_HEADERS_TIMEOUT_MS (5000) must not be above TRIBUTARY_REQUEST_TIMEOUT_MS (2000)');
  });
});

describe('connection trouble in the log', () => {
  it('refused connections: the first is a warning at once, a flood is one count a minute later, not a line each', () => {
    const server = createServer();
    const warnings: Record<string, unknown>[] = [];
    let now = 0;
    guardConnections(server, { maxInboundConnections: 2 }, (msg, fields) => warnings.push({ msg, ...fields }), () => now);
    expect(server.maxConnections).toBe(2);
    server.emit('drop');
    for (let i = 0; i < 500; i++) server.emit('drop');
    expect(warnings).toEqual([expect.objectContaining({ refused: 1, limit: 2 })]);
    now = 60_000;
    server.emit('drop');
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toMatchObject({ refused: 501, msg: expect.stringContaining('refused 501 client connections') });
  });

  it('a failed accept (out of file descriptors) is a warning, not the end of the process', () => {
    const server = createServer();
    const warnings: Record<string, unknown>[] = [];
    guardConnections(server, { maxInboundConnections: 10 }, (msg, fields) => warnings.push({ msg, ...fields }));
    // Without a listener, an 'error' event throws: that is what would have stopped the process.
    expect(() => server.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }))).not.toThrow();
    expect(warnings).toEqual([expect.objectContaining({ code: 'EMFILE', msg: 'could not accept 1 client connection: EMFILE' })]);
  });
});
