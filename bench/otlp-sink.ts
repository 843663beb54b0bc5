/**
 * A loopback OTLP/HTTP sink: accepts POST /v1/traces (and /v1/metrics, /v1/logs), answers 200 with
 * an empty body, and counts requests and bytes. GET /stats returns the counts as JSON.
 * Prints its base URL once listening.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const counts = { posts: 0, bytes: 0, byPath: {} as Record<string, number> };

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(counts));
    return;
  }
  if (req.method !== 'POST' || !req.url?.startsWith('/v1/')) {
    res.writeHead(404).end();
    return;
  }
  let bytes = 0;
  req.on('data', (chunk: Buffer) => (bytes += chunk.length));
  req.on('end', () => {
    counts.posts++;
    counts.bytes += bytes;
    const path = req.url ?? '';
    counts.byPath[path] = (counts.byPath[path] ?? 0) + bytes;
    // An empty ExportTraceServiceResponse is valid for both protobuf and JSON.
    const type = req.headers['content-type']?.includes('json') ? 'application/json' : 'application/x-protobuf';
    res.writeHead(200, { 'content-type': type });
    res.end(type === 'application/json' ? '{}' : '');
  });
});
server.listen(0, '127.0.0.1', () => console.log(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
const stop = (): void => {
  server.closeAllConnections();
  server.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
