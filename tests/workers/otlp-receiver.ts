/**
 * An OTLP/HTTP receiver on loopback, run in Node by the workerd project's globalSetup, so a
 * Worker under test exports to a real HTTP endpoint and the test (inside workerd) reads back
 * what arrived over plain HTTP.
 *
 * Scopes keep parallel tests apart: export to `${url}/s/<scope>` (the Worker appends
 * `/v1/traces`), read `GET ${url}/s/<scope>/__received`.
 * A POST may ask for a behaviour in its query (via OTEL_EXPORTER_OTLP_TRACES_ENDPOINT):
 *   ?status=500   answer that status (the request is still recorded)
 *   ?hold=300     hold the answer that many ms (recorded at once, marked `answered` later)
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One POST as the receiver saw it. */
export interface ReceivedExport {
  path: string;
  contentType: string | undefined;
  /** Request headers, lower-case, without hop-by-hop ones. */
  headers: Record<string, string>;
  /** The parsed JSON body, or the raw text when it is not JSON. */
  body: unknown;
  /** False while a `hold` keeps the answer back. */
  answered: boolean;
}

export interface OtlpReceiver {
  url: string;
  close(): Promise<void>;
}

const KEEP = 100;
const MAX_BODY = 8 * 1024 * 1024;

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) break;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const scopes = new Map<string, ReceivedExport[]>();
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://receiver');
    const match = /^\/s\/([^/]+)(\/.*)$/.exec(url.pathname);
    const scope = match?.[1] ?? 'default';
    const path = match?.[2] ?? url.pathname;
    if (req.method === 'GET' && path === '/__received') {
      const text = JSON.stringify(scopes.get(scope) ?? []);
      res.writeHead(200, { 'content-type': 'application/json' }).end(text);
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(404).end();
      return;
    }
    void readText(req).then((text) => {
      let body: unknown = text;
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        // kept as text: the test will say it is not JSON
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string' && !/^(host|connection|content-length|transfer-encoding)$/.test(name)) headers[name] = value;
      }
      const entry: ReceivedExport = { path, contentType: req.headers['content-type'], headers, body, answered: false };
      const list = scopes.get(scope) ?? [];
      list.push(entry);
      if (list.length > KEEP) list.shift();
      scopes.set(scope, list);
      const status = Number(url.searchParams.get('status') ?? 200);
      const hold = Math.min(Number(url.searchParams.get('hold') ?? 0), 5000);
      const answer = (): void => {
        entry.answered = true;
        if (!res.destroyed) res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
      };
      if (hold <= 0) return answer();
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, hold);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback URL where nothing listens: a port that was bound and released. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
