/**
 * The gateway as a real HTTP server in this process: createApp over the Node transport
 * (the shared undici Agent), served by @hono/node-server on 127.0.0.1, a port the OS picks.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app.ts';
import type { Compressor } from '../../src/routes/compression.ts';
import { connectionsByOrigin, createNodeTransport } from '../../src/node/transport.ts';
import type { TributaryConfigInput } from '../../src/services/config-schema.ts';
import type { Engine } from '../../src/services/engine/index.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { freePort } from '../support/free-port.ts';

export interface RunningGateway {
  url: string;
  engine: Engine;
  /** Internal faults the app logged (500s). */
  faults: unknown[];
  close(): Promise<void>;
}

export interface GatewayOptions {
  /** Size the connection pool per origin from the bulkheads, as src/node.ts does. Default: 128 each. */
  poolFromBulkheads?: boolean;
  /** Sees every incoming request before the app does (its `signal`, for leak checks). */
  onRequest?: (request: Request) => void;
  /** Compresses answers, as src/node.ts does with `nodeCompressor`. Default: none. */
  compressor?: Compressor;
}

export async function startGateway(config: TributaryConfigInput, options: GatewayOptions = {}): Promise<RunningGateway> {
  const plan = compilePlan(config, {});
  const transport = createNodeTransport(options.poolFromBulkheads ? { connectionsFor: connectionsByOrigin(plan) } : {});
  const faults: unknown[] = [];
  const { app, engine } = createApp({
    plan,
    fetcher: transport.fetcher,
    log: (_message, error) => faults.push(error),
    ...(options.compressor ? { compressor: options.compressor } : {}),
  });
  const { onRequest } = options;
  const fetch: typeof app.fetch = onRequest ? (request, ...rest) => (onRequest(request), app.fetch(request, ...rest)) : app.fetch;
  const server: ServerType = serve({ fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    engine,
    faults,
    close: async () => {
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await transport.close();
    },
  };
}

/** Every bulkhead of the engine: nothing running, nothing waiting. */
export function bulkheads(engine: Engine): Record<string, { running: number; waiting: number }> {
  return Object.fromEntries(
    [...engine.upstreams].map(([name, u]) => [name, { running: u.bulkhead.running, waiting: u.bulkhead.waiting }]),
  );
}

/** Polls until `check` holds (bounded in count and time). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const until = performance.now() + timeoutMs;
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    if (performance.now() > until) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

/** Starts a client request that we will abandon; its rejection is expected. */
export function abandon(url: string): { controller: AbortController; done: Promise<unknown> } {
  const controller = new AbortController();
  const done = fetch(url, { signal: controller.signal }).then(
    (res) => res.text(),
    (error: unknown) => error,
  );
  return { controller, done };
}

export { freePort };
