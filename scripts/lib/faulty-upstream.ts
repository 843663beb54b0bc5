/**
 * A lean loopback upstream for the soak and overload scripts, healthy or faulty by path. Run it
 * as its own process (`node scripts/lib/faulty-upstream.ts` prints `{"url":...}`), so its CPU is
 * not the gateway's nor the load driver's.
 *
 *   GET  /ok/<id>            200, a JSON object of ~600 bytes
 *   GET  /delay/<ms>/<id>    the same after <ms> (stops early when the client leaves)
 *   GET  /blob/<kb>/<ms>/<id>  a JSON object of about <kb> KB (at most 1024) after <ms>
 *   GET  /status/<code>/<id> that status, JSON { status }
 *   GET  /reset/<id>         headers and half a body, then the socket is destroyed
 *   GET  /hang/<id>          never answers; the client gives up
 *   GET  /badjson/<id>       200 application/json that is not JSON
 *   GET  /deep/<id>          200 JSON nested 5,000 deep (a hostile body the gateway must refuse)
 *   POST /echo               200, { echo: <the JSON body> }
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const FILLER = Array.from({ length: 8 }, (_, i) => ({ sku: `sku-${i}`, title: `Item number ${i}`, price: 9.99 + i, stock: i * 3 }));
const DEEP = '['.repeat(5000) + ']'.repeat(5000);

function send(res: ServerResponse, status: number, text: string): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const ok = (id: string): string => JSON.stringify({ id, name: `User ${id}`, plan: 'pro', items: FILLER });

/** The items of a blob of about `kb` KB, serialised once per size. */
const blobs = new Map<number, string>();
function blob(kb: number, id: string): string {
  let items = blobs.get(kb);
  if (items === undefined) {
    const one = JSON.stringify(FILLER[1]);
    items = JSON.stringify(Array.from({ length: Math.max(1, Math.round((kb * 1024) / (one.length + 1))) }, (_, i) => ({ ...FILLER[i % FILLER.length] })));
    blobs.set(kb, items);
  }
  return `{"id":${JSON.stringify(id)},"items":${items}}`;
}

function later(ms: number, res: ServerResponse, then: () => void): void {
  const timer = setTimeout(then, ms);
  res.once('close', () => clearTimeout(timer));
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const [, route = '', a = '', b = ''] = (req.url ?? '/').split('?')[0]!.split('/');
  switch (route) {
    case 'ok':
      return send(res, 200, ok(a));
    case 'delay':
      return later(Math.min(Number(a) || 0, 60_000), res, () => send(res, 200, ok(b)));
    case 'blob': {
      const [, , , , id = ''] = (req.url ?? '/').split('?')[0]!.split('/');
      return later(Math.min(Number(b) || 0, 60_000), res, () => send(res, 200, blob(Math.min(Math.max(Number(a) || 1, 1), 1024), id)));
    }
    case 'status': {
      const status = Number(a);
      return send(res, status >= 200 && status <= 599 ? status : 500, JSON.stringify({ status }));
    }
    case 'reset':
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":');
      return void setImmediate(() => res.destroy());
    case 'hang':
      return;
    case 'badjson':
      return send(res, 200, '{"not json');
    case 'deep':
      return send(res, 200, DEEP);
    case 'echo': {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => send(res, 200, `{"echo":${Buffer.concat(chunks).toString('utf8') || 'null'}}`));
      return;
    }
    default:
      return send(res, 404, '{"error":"unknown route"}');
  }
}

export interface FaultyUpstream {
  url: string;
  close(): Promise<void>;
}

/** Starts the upstream on 127.0.0.1, on a port the OS picks. */
export async function startFaultyUpstream(): Promise<FaultyUpstream> {
  const server: Server = createServer(handle);
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (import.meta.main) {
  const upstream = await startFaultyUpstream();
  console.log(JSON.stringify({ url: upstream.url }));
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void upstream.close().then(() => process.exit(0)));
}
