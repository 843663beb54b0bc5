/**
 * What OpenTelemetry does on Deno and on Bun, checked against an OTLP/HTTP receiver on loopback:
 * Deno exports the gateway's spans with its own exporter (OTEL_DENO=true); Bun with the SDK's
 * (OTEL_EXPORTER_OTLP_ENDPOINT) and prints the waterfall (TRIBUTARY_TRACE_CONSOLE=1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitWithin, type NodeProcess } from '../integration/node-process.ts';
import { startOtlpReceiver, waitFor } from '../tracing/service-process.ts';
import { startUpstream, type Upstream } from '../support/upstream-server.ts';
import { RUNTIMES, startUnder, type Runtime } from './runtimes.ts';

let upstream: Upstream;
let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
const started: NodeProcess[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
  receiver = await startOtlpReceiver();
});
afterAll(async () => {
  for (const proc of started) proc.kill();
  await receiver.close();
  await upstream.close();
});

async function startEntry(runtime: Runtime, env: Record<string, string>): Promise<{ proc: NodeProcess; url: string }> {
  const proc = startUnder(runtime, `src/${runtime.name}.ts`, {
    PORT: '0',
    TRIBUTARY_ACCESS_LOG: '0',
    TRIBUTARY_CONFIG: 'tests/runtimes/fixtures/echo.config.json',
    UPSTREAM_URL: `${upstream.url}/s/${runtime.name}-otel`,
    ...env,
  });
  started.push(proc);
  await proc.printed(/tributary listening on http:\/\/127\.0\.0\.1:\d+/, 30_000);
  return { proc, url: /tributary listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(proc.stdout())?.[1] as string };
}

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const TRACEPARENT = `00-${TRACE_ID}-b7ad6b7169203331-01`;

interface JsonSpan {
  traceId: string;
  name: string;
  kind: number;
}
interface JsonTraces {
  resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { scope: { name: string }; spans: JsonSpan[] }[] }[];
}

/** Every span the receiver got (OTLP JSON), with its scope and service name. */
function spansReceived(): (JsonSpan & { scope: string; service: string | undefined })[] {
  return receiver.requests
    .filter((r) => r.path === '/v1/traces' && typeof r.body === 'object' && !Buffer.isBuffer(r.body))
    .flatMap((r) =>
      (r.body as JsonTraces).resourceSpans.flatMap((rs) =>
        rs.scopeSpans.flatMap((ss) =>
          ss.spans.map((span) => ({ ...span, scope: ss.scope.name, service: rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue })),
        ),
      ),
    );
}

/** Starts the entry, makes one traced request, stops it (the final flush), and returns the gateway's spans of that trace. */
async function traceOneRequest(runtime: Runtime, env: Record<string, string>, describeLine: string, whileRunning?: () => Promise<unknown>) {
  const service = `tributary-${runtime.name}-${Date.now()}`;
  const { proc, url } = await startEntry(runtime, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: service, ...env });
  await proc.printed(describeLine);
  const res = await fetch(`${url}/v1/echo/1`, { headers: { traceparent: TRACEPARENT } });
  expect(res.status).toBe(200);
  await whileRunning?.();
  proc.child.kill('SIGTERM');
  expect(await exitWithin(proc, 15_000)).toBe(0);
  const ours = () => spansReceived().filter((s) => s.service === service && s.scope === 'tributary' && s.traceId === TRACE_ID);
  return waitFor("the gateway's spans of the request", () => (ours().some((s) => s.name === 'upstream echo') ? ours() : undefined));
}

describe('OpenTelemetry on Deno', () => {
  it("with OTEL_DENO=true, Deno's own exporter sends the gateway's spans, in the caller's trace, and its metrics over OTLP/HTTP", async () => {
    // Deno exports metrics on its schedule (OTEL_METRIC_EXPORT_INTERVAL), not at exit; traces at exit too.
    const metricNames = () => receiver.requests.filter((r) => r.path === '/v1/metrics').map((r) => JSON.stringify(r.body)).join('\n');
    const spans = await traceOneRequest(
      RUNTIMES.deno,
      { OTEL_DENO: 'true', OTEL_METRIC_EXPORT_INTERVAL: '200' },
      "OpenTelemetry: Deno's built-in exporter (OTEL_DENO=true), OTLP/HTTP to",
      () => waitFor("Tributary's metrics", () => metricNames().includes('"tributary.upstream.duration"')),
    );
    expect(spans.map((s) => s.name)).toEqual(expect.arrayContaining(['GET /v1/echo/:id', 'upstream echo', 'GET']));
    expect(metricNames()).toContain('"http.server.request.duration"');
  });

  it('says that the console waterfall is Node only, and that an OTLP endpoint without OTEL_DENO exports nothing', async () => {
    const { proc } = await startEntry(RUNTIMES.deno, { TRIBUTARY_TRACE_CONSOLE: '1', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    await proc.printed('set OTEL_DENO=true');
    expect(proc.stdout()).toContain('TRIBUTARY_TRACE_CONSOLE is not supported on Deno');
    proc.kill();
  });
});

describe('OpenTelemetry on Bun', () => {
  it("with OTEL_EXPORTER_OTLP_ENDPOINT, the SDK's exporter sends the gateway's spans, in the caller's trace, flushed at shutdown", async () => {
    const spans = await traceOneRequest(RUNTIMES.bun, {}, 'OpenTelemetry on Bun: traces over OTLP/HTTP (http/json)');
    expect(spans.map((s) => s.name)).toEqual(expect.arrayContaining(['GET /v1/echo/:id', 'upstream echo', 'GET']));
  });

  it('with TRIBUTARY_TRACE_CONSOLE=1, prints each trace as a waterfall on stderr', async () => {
    const { proc, url } = await startEntry(RUNTIMES.bun, { TRIBUTARY_TRACE_CONSOLE: '1' });
    expect((await fetch(`${url}/v1/echo/1`)).status).toBe(200);
    await waitFor('a waterfall on stderr', () => proc.stderr().includes('upstream echo'));
    expect(proc.stderr()).toMatch(/^trace [0-9a-f]{32} {2}GET \/v1\/echo\/:id/m);
    proc.kill();
  });
});
