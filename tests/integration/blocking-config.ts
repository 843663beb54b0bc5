/**
 * A test config (TRIBUTARY_CONFIG) whose upstream runs inside the gateway's own process and
 * blocks its event loop: GET /block busy-waits BLOCK_MS (default 300) before answering, as a
 * synchronous handler or a huge JSON.parse would. For the TRIBUTARY_SLOW_LOOP_MS test.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defineConfig } from '../../src/services/config-schema.ts';

const blockMs = Number(process.env.BLOCK_MS ?? 300);
const server = createServer((_req, res) => {
  const until = performance.now() + blockMs;
  while (performance.now() < until) {
    // Deliberately blocking: nothing else in the process runs meanwhile.
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"done":true}');
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
// Never keeps the process alive on its own.
server.unref();

export default defineConfig({
  upstreams: { blocker: { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, timeoutMs: 5000 } },
  endpoints: [
    { path: '/v1/blocking', deadlineMs: 10_000, calls: { work: { upstream: 'blocker', path: '/block', required: true } } },
  ],
});
