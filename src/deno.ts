/**
 * The Deno entry: `Deno.serve` with the app's fetch, the global `fetch` as the transport, the
 * config from TRIBUTARY_CONFIG (JSON or TS) or the demo, a graceful shutdown on SIGTERM/SIGINT.
 * Everything but the runtime's own calls is shared with the Bun entry (src/serve/run-gateway.ts).
 *
 *   deno task start        (deno.json: --allow-net --allow-env --allow-read=., never -A)
 *   npm run start:deno     the same, with the deno from node_modules
 *
 * The variables are the Node entry's (src/node.ts): PORT, HOST, TRIBUTARY_CONFIG, TRIBUTARY_GRACE_MS,
 * TRIBUTARY_SHUTDOWN_DELAY_MS, TRIBUTARY_LOG_LEVEL, TRIBUTARY_ACCESS_LOG, TRIBUTARY_MAX_IN_FLIGHT,
 * TRIBUTARY_MAX_REQUEST_BODY_BYTES, TRIBUTARY_DEBUG_TOKEN. Traces: Deno's built-in OpenTelemetry
 * (OTEL_DENO=true and the OTEL_* variables; src/deno/telemetry.ts says what it covers).
 */
import { createHash } from 'node:crypto';
import { runGateway } from './serve/run-gateway.ts';
import { deno } from './deno/deno-api.ts';
import { listenDeno } from './deno/listen.ts';
import { startDenoTelemetry } from './deno/telemetry.ts';

const Deno = deno();

await runGateway({
  name: 'Deno',
  env: Deno.env.toObject(),
  cwd: Deno.cwd(),
  readText: (url) => Deno.readTextFile(url),
  listen: listenDeno,
  onSignal: (signal, handler) => Deno.addSignalListener(signal, handler),
  exit: (code) => Deno.exit(code),
  startTelemetry: startDenoTelemetry,
  // Deno's WebCrypto digest measured 27–39 µs of CPU per cache key, this 5.
  sha256: (data) => createHash('sha256').update(data).digest(),
});
