/**
 * A collector that is down or slow: the service says so once when exports start failing and once
 * when they recover, at most one line a minute, with counts and without headers or query strings;
 * and a shutdown with a dead collector is bounded and prints one line, not a stack.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchSpanProcessor, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { droppedSpansListener, ExportHealth, reasonOf, watchSpanExporter } from '../../src/node/export-health.ts';
import { flushWithin } from '../../src/node/telemetry.ts';
import { sleep } from './in-memory-tracing.ts';
import { fastAndSlowConfig, freePort, startOtlpReceiver, startRecordingUpstream, startService, waitFor, type ServiceProcess } from './service-process.ts';

const MINUTE = 60_000;

/** A tracker on a clock the test moves, writing into `lines`. */
function tracker(unit = 'span') {
  let now = 0;
  const lines: string[] = [];
  const health = new ExportHealth({ signal: 'trace', unit, target: 'http://collector.test/v1/traces', warn: (l) => lines.push(l), clock: () => now });
  return { health, lines, advance: (ms: number) => void (now += ms) };
}

describe('ExportHealth: when the warnings are written', () => {
  it('one line when exports start failing, none while they keep failing, one when they recover, with the counts of the whole failure', () => {
    const { health, lines, advance } = tracker();
    health.exported();
    expect(lines).toEqual([]);
    health.failed(512, Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4318'), { code: 'ECONNREFUSED' }));
    expect(lines).toEqual([
      'tributary: trace export to http://collector.test/v1/traces is failing (connect ECONNREFUSED 127.0.0.1:4318): 512 spans not exported, 0 spans dropped (export queue full) so far; the next line says when it recovers (OTEL_LOG_LEVEL=debug shows each failure)',
    ]);
    // 100 failed batches over ten minutes: still one line.
    for (let i = 0; i < 100; i++) {
      advance(6000);
      health.dropped(3);
      health.failed(100, new Error('connect ECONNREFUSED 127.0.0.1:4318'));
    }
    expect(lines).toHaveLength(1);
    health.exported();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe(
      'tributary: trace export to http://collector.test/v1/traces recovered; while it failed (about 600 s): 10512 spans not exported, 300 spans dropped (export queue full)',
    );
    health.exported();
    expect(lines).toHaveLength(2);
  });

  it('at most one line a minute: a recovery and a new failure inside the minute fold into the next line', () => {
    const { health, lines, advance } = tracker();
    health.failed(1, new Error('Request timed out'));
    advance(10_000);
    health.exported(); // recovered, but the last line was 10 s ago: not yet said
    advance(10_000);
    health.failed(2, new Error('Request timed out')); // failing again: what was said still holds
    advance(10_000);
    health.exported();
    expect(lines).toHaveLength(1);
    advance(MINUTE);
    health.exported(); // a minute after the first line: the recovery is said now, with every count since
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/recovered; while it failed \(about 90 s\): 3 spans not exported, 0 spans dropped/);
  });

  it('spans dropped because the queue is full count as failing; a success with drops since the last result is no recovery', () => {
    const { health, lines, advance } = tracker();
    health.dropped(7);
    expect(lines[0]).toMatch(/is failing \(the export queue is full\): 0 spans not exported, 7 spans dropped/);
    advance(2 * MINUTE);
    health.dropped(5);
    health.exported(); // a slow collector: exports succeed while spans are still dropped
    expect(lines).toHaveLength(1);
    health.exported(); // nothing dropped since the previous export
    expect(lines[1]).toMatch(/recovered; while it failed \(about 120 s\): 0 spans not exported, 12 spans dropped/);
    expect(health.totals()).toEqual({ failing: false, failed: 0, dropped: 12, reason: 'the export queue is full' });
  });

  it('metric exports are counted as exports, with no dropped count', () => {
    const { health, lines } = tracker('metric export');
    health.failed(1, { code: 503, message: 'Service Unavailable' });
    expect(lines[0]).toMatch(/is failing \(HTTP 503\): 1 metric export not exported so far/);
  });

  it('after quiet() (shutdown) it writes nothing more, but keeps counting', () => {
    const { health, lines } = tracker();
    health.quiet();
    health.failed(3, new Error('x'));
    expect(lines).toEqual([]);
    expect(health.totals()).toMatchObject({ failing: true, failed: 3 });
  });
});

describe('reasonOf', () => {
  it('gives the HTTP status, or the first line of the message, never a query string', () => {
    expect(reasonOf({ code: 401, message: 'Unauthorized', data: 'token=abc' })).toBe('HTTP 401');
    expect(reasonOf(new Error('POST http://collector.test:4318/v1/traces?api_key=s3cret failed\n    at x (y.js:1:1)'))).toBe(
      'POST http://collector.test:4318/v1/traces failed',
    );
    expect(reasonOf(Object.assign(new AggregateError([], ''), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED');
    expect(reasonOf(undefined)).toBe('unknown error');
    expect(reasonOf(new Error('x'.repeat(500))).length).toBeLessThanOrEqual(160);
  });
});

describe('flushWithin: the final flush at shutdown', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a flush that never ends is given up after the bound, with one line', async () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const done = flushWithin(() => new Promise<void>(() => {}), 2000, [], (l) => lines.push(l));
    await vi.advanceTimersByTimeAsync(1999);
    expect(lines).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await done;
    expect(lines).toEqual(['tributary: telemetry not flushed within 2000 ms (TRIBUTARY_SHUTDOWN_FLUSH_MS): the collector did not answer; exiting without it']);
  });

  it('a flush that fails is one line naming why, never the stack; a failing exporter is named', async () => {
    const lines: string[] = [];
    const { health } = tracker();
    health.failed(4, new Error('connect ECONNREFUSED 127.0.0.1:4318'));
    await flushWithin(() => Promise.reject(new Error('boom\n    at Object.<anonymous> (x.js:1:1)')), 2000, [health], (l) => lines.push(l));
    expect(lines).toEqual(['tributary: telemetry not flushed at shutdown: connect ECONNREFUSED 127.0.0.1:4318']);
  });

  it('a bound of 0 skips the flush: nothing is sent, nothing is said', async () => {
    const lines: string[] = [];
    let flushed = false;
    await flushWithin(async () => void (flushed = true), 0, [], (l) => lines.push(l));
    expect(flushed).toBe(false);
    expect(lines).toEqual([]);
  });

  it('a flush that succeeds says nothing and leaves no timer behind', async () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    await flushWithin(async () => {}, 2000, [], (l) => lines.push(l));
    expect(lines).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('the real OTLP exporter against a loopback collector', () => {
  it('says when a collector answering 500 starts failing and, a minute on, that it recovered, naming neither headers nor query', async () => {
    const receiver = await startOtlpReceiver({ status: 500 });
    let now = 0;
    const lines: string[] = [];
    const health = new ExportHealth({ signal: 'trace', unit: 'span', target: `${receiver.url}/v1/traces`, warn: (l) => lines.push(l), clock: () => now });
    const exporter = new OTLPTraceExporter({ url: `${receiver.url}/v1/traces?api_key=do-not-log-me`, headers: { authorization: 'Bearer do-not-log-either' } });
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: watchSpanExporter(exporter, health) })] });
    const tracer = provider.getTracer('test');
    try {
      for (let i = 0; i < 3; i++) tracer.startSpan(`s${i}`).end();
      await provider.forceFlush().catch(() => {}); // the processor passes the failure on too
      expect(receiver.requests.length).toBeGreaterThanOrEqual(1);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^tributary: trace export to ${receiver.url}/v1/traces is failing \\(HTTP 500\\)`));

      receiver.behaviour.status = 200;
      now += MINUTE;
      tracer.startSpan('back').end();
      await provider.forceFlush();
      expect(lines).toHaveLength(2);
      expect(lines[1]).toMatch(/recovered; while it failed \(about 60 s\): 3 spans not exported/);
      expect(lines.join('\n')).not.toMatch(/do-not-log|api_key/);
    } finally {
      await provider.shutdown();
      await receiver.close();
    }
  });

  it('counts the spans the batch processor drops while a slow collector holds an export', async () => {
    const receiver = await startOtlpReceiver({ holdMs: 200 });
    const lines: string[] = [];
    const health = new ExportHealth({ signal: 'trace', unit: 'span', target: `${receiver.url}/v1/traces`, warn: (l) => lines.push(l) });
    const processor = new BatchSpanProcessor({
      exporter: watchSpanExporter(new OTLPTraceExporter({ url: `${receiver.url}/v1/traces` }), health),
      selfObsMeterProvider: droppedSpansListener(health),
      maxQueueSize: 4,
      maxExportBatchSize: 4,
      scheduledDelayMillis: 60_000,
    });
    const provider = new TracerProvider({ spanProcessors: [processor] });
    const tracer = provider.getTracer('test');
    try {
      // 4 spans fill a batch, which goes out and is held; 4 more fill the queue; 6 are dropped.
      for (let i = 0; i < 14; i++) tracer.startSpan(`s${i}`).end();
      expect(health.totals().dropped).toBe(6);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/is failing \(the export queue is full\): 0 spans not exported, 1 span dropped/);
      await provider.forceFlush();
      expect(health.totals()).toMatchObject({ failed: 0, dropped: 6 });
    } finally {
      await provider.shutdown();
      await receiver.close();
    }
  });
});

describe('the Node process with a collector that is down or slow', () => {
  let service: ServiceProcess | undefined;
  afterEach(async () => {
    await service?.stop('SIGKILL').catch(() => {});
    service = undefined;
  });

  const exportLines = (text: string): string[] => text.split('\n').filter((l) => /^tributary: (trace|metric) export/.test(l));

  it('down: one warning per signal however many exports fail; shutdown is bounded and prints one line, no stack', async () => {
    const upstream = await startRecordingUpstream();
    const dead = `http://127.0.0.1:${await freePort()}`;
    try {
      service = await startService(fastAndSlowConfig(upstream.url), {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${dead}/v1/traces?token=do-not-log-me`,
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${dead}/v1/metrics`,
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20do-not-log-either',
        OTEL_EXPORTER_OTLP_TIMEOUT: '200',
        OTEL_BSP_SCHEDULE_DELAY: '50',
        OTEL_METRIC_EXPORT_INTERVAL: '100',
        TRIBUTARY_SHUTDOWN_FLUSH_MS: '500',
      });
      const running = service;
      const requests = async (n: number): Promise<void> => {
        for (let i = 0; i < n; i++) {
          const res = await fetch(`${running.url}/v1/page/${i}`);
          expect(res.status).toBe(200);
          await res.arrayBuffer();
          await sleep(60); // a batch per request or so
        }
      };
      await requests(5);
      await waitFor(`a warning for each signal in:\n${running.stderr()}`, () => exportLines(running.stderr()).length >= 2, 5000);
      await requests(5);
      await sleep(400); // more failed exports of both signals
      const lines = exportLines(running.stderr());
      expect(lines).toHaveLength(2);
      expect(lines.find((l) => l.startsWith('tributary: trace export'))).toMatch(
        new RegExp(`^tributary: trace export to ${dead}/v1/traces is failing \\(.*ECONNREFUSED.*\\): \\d+ spans? not exported`),
      );
      expect(lines.find((l) => l.startsWith('tributary: metric export'))).toMatch(new RegExp(`^tributary: metric export to ${dead}/v1/metrics is failing`));

      expect(await running.stop('SIGTERM', 5000)).toBe(0);
      service = undefined;
      const stderr = running.stderr();
      expect(stderr.split('\n').filter((l) => l.startsWith('tributary: telemetry not flushed'))).toHaveLength(1);
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(stderr).not.toMatch(/do-not-log|token=/);
    } finally {
      await upstream.close();
    }
  });

  it('slow (answers after 3 s, the exporter waits 200 ms): one warning that exports are failing, then nothing more', async () => {
    const upstream = await startRecordingUpstream();
    const receiver = await startOtlpReceiver({ holdMs: 3000 });
    try {
      service = await startService(fastAndSlowConfig(upstream.url), {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_EXPORTER_OTLP_TIMEOUT: '200',
        OTEL_BSP_SCHEDULE_DELAY: '20',
        OTEL_BSP_MAX_QUEUE_SIZE: '8',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '8',
      });
      const running = service;
      const burst = async (): Promise<void> => {
        const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => fetch(`${running.url}/v1/page/${i}`)));
        await Promise.all(responses.map((r) => r.arrayBuffer()));
      };
      await burst();
      await waitFor('the warning', () => exportLines(running.stderr()).length >= 1, 5000);
      await burst();
      await sleep(500);
      const lines = exportLines(running.stderr());
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^tributary: trace export to ${receiver.url}/v1/traces is failing \\((Request timed out|the export queue is full)\\)`));
      expect(await running.stop('SIGTERM', 5000)).toBe(0);
      service = undefined;
      expect(running.stderr()).not.toMatch(/\n\s+at /);
      expect(running.stderr().split('\n').filter((l) => l.startsWith('tributary: telemetry not flushed')).length).toBeLessThanOrEqual(1);
    } finally {
      await receiver.close();
      await upstream.close();
    }
  });
});
