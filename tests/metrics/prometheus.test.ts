import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../support/free-port.ts';
import { eventually } from '../integration/gateway-server.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

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
    await eventually(async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok === true, 10_000);
  });

  afterAll(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('serves the HTTP request durations, upstream durations by outcome, bulkhead gauges, partial responses and event-loop delay', async () => {
    const res = await fetch(`${base}/v1/dashboard/42`);
    expect(res.headers.get('x-aggregate-complete')).toBe('false');
    await res.arrayBuffer();
    let text = '';
    await eventually(async () => {
      text = await (await fetch(metricsUrl)).text();
      return text.includes('tributary_outcome="timeout"');
    }, 10_000);
    expect(text).toMatch(/tributary_upstream_duration_count\{[^}]*upstream_name="recs"[^}]*tributary_outcome="timeout"/);
    expect(text).toMatch(/tributary_upstream_duration_count\{[^}]*upstream_name="users"[^}]*tributary_outcome="ok"/);
    expect(text).toMatch(/tributary_upstream_timeouts(_total)?\{[^}]*upstream_name="recs"/);
    expect(text).toMatch(/tributary_responses_partial(_total)?\{[^}]*tributary_endpoint="\/v1\/dashboard\/:userId"/);
    expect(text).toMatch(/tributary_upstream_in_flight\{[^}]*upstream_name="catalog"[^}]*\} 0/);
    expect(text).toMatch(/tributary_upstream_queued\{/);
    expect(text).toMatch(/nodejs_eventloop_delay_p99\{/);
    // Seconds, with buckets that fit upstream calls.
    expect(text).toMatch(/tributary_upstream_duration_bucket\{[^}]*le="0.25"/);
    // The HTTP semantic-convention histograms: the server's by route, the client's by upstream and server.
    expect(text).toMatch(/http_server_request_duration(_seconds)?_count\{[^}]*http_route="\/v1\/dashboard\/:userId"[^}]*\} 1/);
    expect(text).toMatch(/http_client_request_duration(_seconds)?_count\{[^}]*upstream_name="users"/);
    expect(text).toMatch(/http_client_request_duration(_seconds)?_count\{[^}]*server_address="127\.0\.0\.1"/);
    // No raw paths or ids as label values.
    const labels = [...text.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]).join(',');
    expect(labels).not.toMatch(/"\/v1\/dashboard\/42"|"\/users\/42"|127\.0\.0\.1:\d+\/users/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
