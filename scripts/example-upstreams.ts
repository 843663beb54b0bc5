/**
 * `npm run example-upstreams`: the upstreams the examples expect (examples/dashboard.config.*,
 * examples/code-first.ts), on the fixed loopback ports they name, until Ctrl-C:
 *
 *   users    127.0.0.1:4001  /users/:id (1–1000; managerId is id / 2)
 *   orders   127.0.0.1:4002  any path, e.g. /api/orders?user=42 (30 ms)
 *   recs     127.0.0.1:4003  any path, 2 s: slower than the examples' 300 ms timeout, so they fall back
 *   catalog  127.0.0.1:4004  /items/:id (25 ms, 20 at a time, the rest queued)
 *
 * Each answers GET /healthz. They are the built-in demo's upstreams (src/node/demo.ts). A port
 * that is taken stops the script with exit code 1 and names the port.
 */
import { startDemoUpstreams, type DemoUpstreams } from '../src/node/demo.ts';

export const EXAMPLE_PORTS = { users: 4001, orders: 4002, recs: 4003, catalog: 4004 } as const;

let demo: DemoUpstreams;
try {
  demo = await startDemoUpstreams({ ports: EXAMPLE_PORTS });
} catch (error) {
  const { code, port } = error as NodeJS.ErrnoException & { port?: number };
  const name = Object.entries(EXAMPLE_PORTS).find(([, p]) => p === port)?.[0];
  if (code === 'EADDRINUSE') {
    console.error(`port ${port} (${name}) is already in use on 127.0.0.1: another program listens there (example upstreams started earlier?); stop it and run this again`);
  } else {
    console.error(`cannot start the example upstreams: ${code ?? (error as Error).message}`);
  }
  process.exit(1);
}

for (const [name, url] of Object.entries(demo.urls)) console.log(`${name.padEnd(8)} ${url}`);
console.log('example upstreams are running; Ctrl-C stops them');

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void demo.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
