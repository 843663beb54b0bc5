import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** A port nobody uses right now: listen on 0, read it, close. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Prometheus metrics (OTEL_METRICS_EXPORTER=prometheus)', () => {
  let child: ChildProcess;
  let base: string;
  let metricsUrl: string;
  let stderr = '';

  beforeAll(async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    base = `http://127.0.0.1:${port}`;
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    child = spawn(process.execPath, ['src/node.ts'], {
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        OTEL_METRICS_EXPORTER: 'prometheus',
        OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
        OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
        OTEL_TRACES_EXPORTER: 'none',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor('the demo to listen', async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined));
  });

  afterAll(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('serves upstream durations by outcome, bulkhead gauges, partial responses and event-loop delay', async () => {
    const res = await fetch(`${base}/v1/dashboard/42`);
    expect(res.headers.get('x-aggregate-complete')).toBe('false');
    await res.arrayBuffer();
    const text = await waitFor('metrics with the timeout', async () => {
      const body = await (await fetch(metricsUrl)).text();
      return body.includes('tributary_outcome="timeout"') ? body : undefined;
    });
    expect(text).toMatch(/tributary_upstream_duration_count\{[^}]*upstream_name="recs"[^}]*tributary_outcome="timeout"/);
    expect(text).toMatch(/tributary_upstream_duration_count\{[^}]*upstream_name="users"[^}]*tributary_outcome="ok"/);
    expect(text).toMatch(/tributary_upstream_timeouts(_total)?\{[^}]*upstream_name="recs"/);
    expect(text).toMatch(/tributary_responses_partial(_total)?\{[^}]*tributary_endpoint="\/v1\/dashboard\/:userId"/);
    expect(text).toMatch(/tributary_upstream_in_flight\{[^}]*upstream_name="catalog"[^}]*\} 0/);
    expect(text).toMatch(/tributary_upstream_queued\{/);
    expect(text).toMatch(/nodejs_eventloop_delay_p99\{/);
    // Seconds, with buckets that fit upstream calls.
    expect(text).toMatch(/tributary_upstream_duration_bucket\{[^}]*le="0.25"/);
    // No raw paths or ids as label values.
    const labels = [...text.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]).join(',');
    expect(labels).not.toMatch(/"\/v1\/dashboard\/42"|"\/users\/42"|127\.0\.0\.1:\d+\/users/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
