/**
 * The service as a real process (`node src/node.ts`, as the README says), a loopback upstream
 * that records the traceparent it receives, and a small OTLP/HTTP receiver. Every wait is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { TributaryConfigInput } from '../../src/services/config-schema.ts';
import { freePort } from '../support/free-port.ts';

export const ROOT = resolve(import.meta.dirname, '../..');

/** Polls `check` every 20 ms until it returns a value, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

export { freePort };

export interface ReceivedRequest {
  path: string;
  traceparent: string | undefined;
}

/**
 * `/fast/...` answers JSON at once; `/slow/...` answers only after 3 s (or never, when the
 * caller leaves first). Records each request's path and traceparent.
 */
export async function startRecordingUpstream(): Promise<{ url: string; received: ReceivedRequest[]; close(): Promise<void> }> {
  const received: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    received.push({ path, traceparent: req.headers.traceparent as string | undefined });
    const answer = (): void => {
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ path, managerId: '7' }));
    };
    if (!path.startsWith('/slow')) return answer();
    const timer = setTimeout(answer, 3000);
    res.once('close', () => clearTimeout(timer));
  });
  const url = await listen(server);
  return { url, received, close: () => close(server) };
}

export interface OtlpRequest {
  path: string;
  contentType: string | undefined;
  /** Parsed JSON, or the raw (gunzipped) bytes of a protobuf body. */
  body: unknown;
}

/** How the receiver answers; the test may change it while the service runs. */
export interface ReceiverBehaviour {
  /** The status of every answer (default 200). */
  status: number;
  /** Hold each answer this long, ms (default 0): a slow collector. */
  holdMs: number;
}

/**
 * Accepts OTLP/HTTP (JSON or protobuf, gzip or not) on POST /v1/traces and /v1/metrics and
 * keeps the requests, answering as `behaviour` says at the time.
 */
export async function startOtlpReceiver(
  initial: Partial<ReceiverBehaviour> = {},
): Promise<{ url: string; requests: OtlpRequest[]; behaviour: ReceiverBehaviour; close(): Promise<void> }> {
  const requests: OtlpRequest[] = [];
  const behaviour: ReceiverBehaviour = { status: 200, holdMs: 0, ...initial };
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // The query is the exporter's business (a collector URL may carry a key): matched without it.
      const path = (req.url ?? '/').split('?')[0] as string;
      const known = req.method === 'POST' && (path === '/v1/traces' || path === '/v1/metrics');
      if (!known) {
        res.writeHead(404).end();
        return;
      }
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
      const contentType = req.headers['content-type'];
      let body: unknown = raw;
      if (contentType?.startsWith('application/json')) body = JSON.parse(raw.toString('utf8')) as unknown;
      requests.push({ path, contentType, body });
      const { status, holdMs } = behaviour;
      const answer = (): void => {
        if (!res.destroyed) res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
      };
      if (holdMs <= 0) return answer();
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, holdMs);
      timers.add(timer);
    });
  });
  const url = await listen(server);
  return {
    url,
    requests,
    behaviour,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      await close(server);
    },
  };
}

export interface ServiceProcess {
  url: string;
  stdout(): string;
  stderr(): string;
  /** Sends a signal and resolves with the exit code (fails after `timeoutMs`). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

/**
 * Starts `node src/node.ts` with the config written to a temp file and a clean environment
 * (no OTEL_* or TRIBUTARY_* inherited from the test runner), and waits until it listens.
 */
export async function startService(config: TributaryConfigInput, env: Record<string, string>): Promise<ServiceProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-tracing-'));
  const file = join(dir, 'tributary.json');
  await writeFile(file, JSON.stringify(config));
  const port = await freePort();
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(OTEL_|TRIBUTARY_|NODE_OPTIONS$|PORT$|HOST$)/.test(k)),
  );
  // The vitest worker runs on the project's Node 24 (npx puts it first on PATH); if it did
  // not, go through npx the way the README does.
  const [command, args] = process.version.startsWith('v24')
    ? [process.execPath, ['src/node.ts']]
    : ['npx', ['node', 'src/node.ts']];
  const child: ChildProcess = spawn(command, args, {
    cwd: ROOT,
    env: { ...inherited, TRIBUTARY_CONFIG: file, PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let done = false;
  void exited.then(() => (done = true));
  const cleanup = async (): Promise<void> => {
    if (!done) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('the service to listen', () => {
      if (done) throw new Error(`the service exited early:\n${out}\n${err}`);
      return out.includes('tributary listening on');
    });
  } catch (error) {
    await cleanup();
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    stdout: () => out,
    stderr: () => err,
    stop: async (signal = 'SIGTERM', timeoutMs = 10_000) => {
      if (!done) child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
      const result = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      await cleanup();
      if (result === 'timeout') throw new Error(`the service did not exit within ${timeoutMs} ms of ${signal}:\n${out}\n${err}`);
      return result;
    },
  };
}

/** A config with one fast call and one that times out (100 ms) on the recording upstream. */
export function fastAndSlowConfig(upstreamUrl: string): TributaryConfigInput {
  return {
    upstreams: {
      fast: { baseUrl: `${upstreamUrl}/fast`, timeoutMs: 1000 },
      slow: { baseUrl: `${upstreamUrl}/slow`, timeoutMs: 100 },
    },
    endpoints: [
      {
        path: '/v1/page/:id',
        deadlineMs: 2000,
        calls: {
          main: { upstream: 'fast', path: '/main/{params.id}', required: true },
          extra: { upstream: 'slow', path: '/extra/{params.id}', fallback: null },
        },
      },
    ],
  };
}
