/**
 * The Bun entry: `Bun.serve` with the app's fetch, the global `fetch` as the transport, the
 * config from TRIBUTARY_CONFIG (JSON or TS) or the demo, a graceful shutdown on SIGTERM/SIGINT.
 * Everything but the runtime's own calls is shared with the Deno entry (src/serve/run-gateway.ts).
 *
 *   npm run start:bun      bun src/bun.ts, with the bun from node_modules
 *
 * The variables are the Node entry's (src/node.ts): PORT, HOST, TRIBUTARY_CONFIG, TRIBUTARY_GRACE_MS,
 * TRIBUTARY_SHUTDOWN_DELAY_MS, TRIBUTARY_LOG_LEVEL, TRIBUTARY_ACCESS_LOG, TRIBUTARY_MAX_IN_FLIGHT,
 * TRIBUTARY_MAX_REQUEST_BODY_BYTES, TRIBUTARY_DEBUG_TOKEN, and for traces the OTEL_* variables and
 * TRIBUTARY_TRACE_CONSOLE (src/bun/telemetry.ts says what works).
 */
import { createHash } from 'node:crypto';
import { runGateway } from './serve/run-gateway.ts';
import { bun } from './bun/bun-api.ts';
import { listenBun } from './bun/listen.ts';
import { startBunTelemetry } from './bun/telemetry.ts';

const Bun = bun();

await runGateway({
  name: 'Bun',
  env: { ...Bun.env },
  cwd: process.cwd(),
  readText: (url) => Bun.file(url).text(),
  listen: listenBun,
  // `on`, not `once`: a repeated signal must reach the drain, not the default (exit at once).
  onSignal: (signal, handler) => void process.on(signal, handler),
  exit: (code) => process.exit(code),
  startTelemetry: startBunTelemetry,
  // Bun's WebCrypto digest measured 11–44 µs of CPU per cache key, this 2.
  sha256: (data) => createHash('sha256').update(data).digest(),
});
