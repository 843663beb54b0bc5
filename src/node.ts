/**
 * The Node entry: config, undici transport, HTTP server, graceful shutdown.
 *
 *   TRIBUTARY_CONFIG  a .json file, or a .ts/.js module exporting defineConfig(...); unset: the demo
 *   PORT              default 8787
 *   HOST              default 127.0.0.1
 *   TRIBUTARY_GRACE_MS  how long in-flight requests may finish on SIGTERM/SIGINT, default 10000
 *   TRIBUTARY_DEBUG_TOKEN  callers sending it in `x-tributary-debug` get per-call Server-Timing
 *   TRIBUTARY_TRACE_CONSOLE=1  print each request's trace as a waterfall on stderr
 *   OTEL_*            the standard OpenTelemetry variables (exporter endpoint, service name, sampler)
 */
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { compilePlan, ConfigError, type Plan } from './services/plan/index.ts';
import { startDemoUpstreams, type DemoUpstreams } from './node/demo.ts';
import { demoConfig } from './services/demo-config.ts';
import { loadConfigFile } from './node/load-config.ts';
import { connectionsByOrigin, createNodeTransport } from './node/transport.ts';
import { startNodeTelemetry } from './node/telemetry.ts';
import { metrics } from '@opentelemetry/api';
import { INSTRUMENTATION_SCOPE, observeBulkheads } from './services/telemetry.ts';

async function main(): Promise<void> {
  const env = process.env;
  let demo: DemoUpstreams | undefined;
  let plan: Plan;
  try {
    if (env.TRIBUTARY_CONFIG) {
      plan = compilePlan(await loadConfigFile(env.TRIBUTARY_CONFIG), env);
    } else {
      demo = await startDemoUpstreams();
      plan = compilePlan(demoConfig(demo.urls), env);
    }
  } catch (error) {
    await demo?.close();
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exitCode = 1;
      return;
    }
    throw error;
  }

  const port = env.PORT === undefined ? 8787 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`PORT must be a port number, got "${env.PORT}"`);
    await demo?.close();
    process.exitCode = 1;
    return;
  }
  const host = env.HOST ?? '127.0.0.1';
  const graceMs = Number(env.TRIBUTARY_GRACE_MS ?? 10_000);
  // Before the app is built, so its tracer and instruments come from the SDK.
  const telemetry = await startNodeTelemetry(env);
  const transport = createNodeTransport({ connectionsFor: connectionsByOrigin(plan) });
  const { app, engine } = createApp({
    plan,
    fetcher: transport.fetcher,
    ...(env.TRIBUTARY_DEBUG_TOKEN ? { debugToken: env.TRIBUTARY_DEBUG_TOKEN } : {}),
  });
  if (telemetry.enabled) observeBulkheads(engine.upstreams.values(), metrics.getMeter(INSTRUMENTATION_SCOPE));

  const server = serve({ fetch: app.fetch, port, hostname: host });
  server.once('error', (error: NodeJS.ErrnoException) => {
    console.error(`cannot listen on ${host}:${port}: ${error.code ?? error.message}`);
    process.exit(1);
  });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const base = `http://${host}:${(server.address() as AddressInfo).port}`;
  console.log(`tributary listening on ${base} (${plan.endpoints.length} endpoints)`);
  if (demo) {
    console.log('demo upstreams are running in this process; try:');
    console.log(`  curl -i ${base}/v1/dashboard/42`);
    console.log(`  curl -i '${base}/v1/items?ids=1,2,3'`);
    console.log(`  curl -i ${base}/v1/users/42/with-manager`);
  }

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: no new connections; letting in-flight requests finish (up to ${graceMs} ms)`);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Keep-alive connections with no request in flight would hold close() open.
    const idle = setInterval(() => (server as { closeIdleConnections?: () => void }).closeIdleConnections?.(), 50);
    const grace = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
    void Promise.race([closed, grace]).then(async (result) => {
      clearInterval(idle);
      if (result === 'timeout') {
        console.error('grace period over: closing the remaining connections');
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }
      await transport.close();
      await telemetry.shutdown().catch((error: unknown) => console.error('could not flush telemetry:', error));
      await demo?.close();
      process.exit(0);
    });
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

await main();
