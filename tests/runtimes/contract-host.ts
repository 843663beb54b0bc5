/**
 * Runs under Deno or Bun (never Node): the response-contract suite's gateways, served by the
 * runtime's own server (the entries' `listen`) over the runtime's global fetch, so the same
 * tests/contract files drive the gateway in that runtime over HTTP (harness.ts, remote mode).
 *
 *   POST /__host/gateways  { config, env }  -> 201 { id }, or 400 { message } when it does not compile
 *   GET  /__host/stats     { gateways, requests }: how much of the suite reached this runtime
 *   any other request with `x-contract-gateway: <id>` goes to that gateway, without the header
 *
 * Prints `contract host listening on <port>` once it listens; stops on SIGTERM.
 */
import { createApp } from '../../src/app.ts';
import { compilePlan, ConfigError } from '../../src/services/plan/index.ts';
import type { Fetcher } from '../../src/services/upstream/index.ts';
import type { FetchHandler, Listen } from '../../src/serve/listen.ts';

export const GATEWAY_HEADER = 'x-contract-gateway';

const inDeno = 'Deno' in globalThis;
const { listen } = inDeno
  ? { listen: (await import('../../src/deno/listen.ts')).listenDeno as Listen }
  : { listen: (await import('../../src/bun/listen.ts')).listenBun as Listen };

// The same transport as src/serve/run-gateway.ts: the runtime's own fetch.
const fetcher: Fetcher = (url, init) => fetch(url, init);
const gateways = new Map<string, FetchHandler>();
let requests = 0;

const handler: FetchHandler = async (request) => {
  const id = request.headers.get(GATEWAY_HEADER);
  if (id === null) {
    if (new URL(request.url).pathname === '/__host/stats') return Response.json({ gateways: gateways.size, requests });
    if (request.method !== 'POST' || new URL(request.url).pathname !== '/__host/gateways') return Response.json({ message: 'no gateway named' }, { status: 404 });
    const { config, env } = (await request.json()) as { config: unknown; env: Record<string, string> };
    try {
      const { app } = createApp({ plan: compilePlan(config, env), fetcher, log: () => {} });
      const created = crypto.randomUUID();
      gateways.set(created, (r) => app.fetch(r));
      return Response.json({ id: created }, { status: 201 });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return Response.json({ message: error.message }, { status: 400 });
    }
  }
  const gateway = gateways.get(id);
  if (!gateway) return Response.json({ message: `no gateway ${id}` }, { status: 404 });
  requests++;
  const headers = new Headers(request.headers);
  headers.delete(GATEWAY_HEADER);
  return gateway(new Request(request, { headers }));
};

const server = await listen(handler, { port: 0, hostname: '127.0.0.1' });
console.log(`contract host listening on ${server.port}`);
const stopped = (): Promise<void> => {
  server.closeAll();
  return server.stop();
};
if (inDeno) {
  const { deno } = await import('../../src/deno/deno-api.ts');
  deno().addSignalListener('SIGTERM', () => void stopped().finally(() => deno().exit(0)));
} else {
  process.on('SIGTERM', () => void stopped().finally(() => process.exit(0)));
}
