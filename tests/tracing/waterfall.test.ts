/**
 * The backend-free way to look at a trace: TRIBUTARY_TRACE_CONSOLE=1 prints each request's
 * span tree as a waterfall (start offset, duration, a bar on a shared axis, name, notes).
 */
import { propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { renderWaterfall, WaterfallExporter } from '../../src/serve/waterfall-exporter.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { createTelemetry } from '../../src/services/telemetry.ts';
import { fakeFetcher, json, type Handler } from '../services/fake-fetcher.ts';
import { dashboardConfig } from './dashboard-config.ts';
import { durationMs, inMemoryTracing, sleep, SpanTree, startMs, traceOf } from './in-memory-tracing.ts';
import { fastAndSlowConfig, startRecordingUpstream, startService, waitFor } from './service-process.ts';

const WIDTH = 40;
const LINE = /^ *\+(\d+\.\d) +(\d+\.\d) ms \|([ █]{40})\| ( *)(.+?)(?: {2}\((.*)\))?$/;

interface Line {
  offset: number;
  duration: number;
  bar: string;
  depth: number;
  name: string;
  notes: string;
}

function parseLines(text: string): { header: string; lines: Line[] } {
  const [header, ...rest] = text.trimEnd().split('\n');
  const lines = rest.map((line) => {
    const m = LINE.exec(line);
    if (!m) throw new Error(`not a waterfall line: "${line}"`);
    return {
      offset: Number(m[1]),
      duration: Number(m[2]),
      bar: m[3] as string,
      depth: (m[4] as string).length / 2,
      name: m[5] as string,
      notes: m[6] ?? '',
    };
  });
  return { header: header ?? '', lines };
}

const barStart = (bar: string): number => bar.indexOf('█');
const barLength = (bar: string): number => bar.split('').filter((c) => c === '█').length;

beforeAll(() => {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => {
  propagation.disable();
});

/** profile and orders take 20 ms; recs queues behind them (limit 2) and then times out. */
const holdRecs: Handler = (call) => (call.target.startsWith('recs.test') ? 'hold' : sleep(20).then(() => json({ ok: true })));

describe('renderWaterfall', () => {
  async function dashboardSpans(): Promise<ReadableSpan[]> {
    const tracing = inMemoryTracing();
    const fake = fakeFetcher(holdRecs);
    const { app } = createApp({
      plan: compilePlan(dashboardConfig({ maxConcurrency: 2, recsTimeoutMs: 50 })),
      fetcher: fake.fetcher,
      telemetry: tracing.telemetry,
    });
    const res = await app.request('/v1/dashboard/42');
    expect(res.status).toBe(200);
    return tracing.spans();
  }

  it('prints a header and one line per span, in tree order, with offsets, durations, bars and notes', async () => {
    const spans = await dashboardSpans();
    const text = renderWaterfall(spans);
    const { header, lines } = parseLines(text);
    const tree = new SpanTree(spans);
    const server = tree.server();
    expect(header).toMatch(new RegExp(`^trace ${traceOf(server)} {2}GET /v1/dashboard/:userId {2}\\d+\\.\\d ms$`));
    expect(lines).toHaveLength(spans.length);
    expect(spans).toHaveLength(1 + 1 + 3 + 3 + 1);

    // Tree order: each span right under its parent, indented one level deeper.
    expect(lines.map((l) => `${'  '.repeat(l.depth)}${l.name}`)).toEqual([
      'GET /v1/dashboard/:userId',
      '  aggregate GET /v1/dashboard/:userId',
      '    upstream profile',
      '      GET',
      '    upstream orders',
      '      GET',
      '    upstream recs',
      '      semaphore.acquire',
      '      GET',
    ]);

    // Offsets and durations are the spans' own, relative to the earliest start.
    const origin = Math.min(...spans.map(startMs));
    const byName = (name: string, depth: number) => lines.find((l) => l.name === name && l.depth === depth) as Line;
    for (const [name, depth] of [['upstream recs', 2], ['semaphore.acquire', 3]] as const) {
      const span = tree.one(name);
      expect(byName(name, depth).offset).toBeCloseTo(startMs(span) - origin, 0);
      expect(byName(name, depth).duration).toBeCloseTo(durationMs(span), 0);
    }

    // The SERVER span spans the whole axis; the wait bar sits before the recs CLIENT bar.
    expect(lines[0]?.offset).toBe(0);
    expect(barLength(lines[0]?.bar ?? '')).toBeGreaterThanOrEqual(WIDTH - 1);
    const wait = lines[7] as Line;
    const recsClient = lines[8] as Line;
    const profileClient = lines[3] as Line;
    expect(barStart(recsClient.bar)).toBeGreaterThan(barStart(profileClient.bar));
    expect(barStart(recsClient.bar)).toBeGreaterThanOrEqual(barStart(wait.bar) + barLength(wait.bar) - 1);
    // Each bar is about as long as its duration on the shared axis.
    const total = Number(/ (\d+\.\d) ms$/.exec(header)?.[1]);
    for (const line of lines) {
      expect(Math.abs(barLength(line.bar) - Math.max(1, Math.round((line.duration / total) * WIDTH)))).toBeLessThanOrEqual(1);
    }

    // Notes: the timeout, the wait, the status codes.
    expect(byName('upstream recs', 2).notes).toContain('error=timeout');
    expect(recsClient.notes).toContain('error=timeout');
    expect(wait.notes).toMatch(/^waited \d+\.\d ms$/);
    expect(Number(/waited (\d+\.\d)/.exec(wait.notes)?.[1])).toBeGreaterThanOrEqual(15);
    expect(profileClient.notes).toBe('200');
    expect(byName('upstream profile', 2).notes).toBe('');
    expect(lines[0]?.notes).toBe('200');
  });

  it('marks a cancelled call as cancelled, not as an error', async () => {
    const tracing = inMemoryTracing();
    const fake = fakeFetcher((call) => (call.target.startsWith('users.test') ? json({}, 500) : 'hold'));
    const { app } = createApp({ plan: compilePlan(dashboardConfig()), fetcher: fake.fetcher, telemetry: tracing.telemetry });
    await app.request('/v1/dashboard/42');
    const { lines } = parseLines(renderWaterfall(tracing.spans()));
    const orders = lines.find((l) => l.name === 'upstream orders') as Line;
    expect(orders.notes).toBe('cancelled');
    expect(lines.find((l) => l.name === 'upstream profile')?.notes).toBe('error=500');
  });

  it('says which call a dependent call waited for, and its bar starts after that call ends', async () => {
    const tracing = inMemoryTracing();
    const fake = fakeFetcher((call) => (call.target.startsWith('users.test/users/42') ? sleep(30).then(() => json({ managerId: '7' })) : json({ ok: true })));
    const { app } = createApp({ plan: compilePlan(dashboardConfig()), fetcher: fake.fetcher, telemetry: tracing.telemetry });
    await app.request('/v1/users/42/with-manager');
    const { lines } = parseLines(renderWaterfall(tracing.spans()));
    const manager = lines.find((l) => l.name === 'upstream manager') as Line;
    const profile = lines.find((l) => l.name === 'upstream profile') as Line;
    expect(manager.notes).toBe('after profile');
    expect(lines.find((l) => l.name === 'upstream other')?.notes).toBe('');
    expect(barStart(manager.bar)).toBeGreaterThanOrEqual(barStart(profile.bar) + barLength(profile.bar) - 1);
  });
});

describe('WaterfallExporter', () => {
  function setup() {
    const printed: string[] = [];
    const provider = new TracerProvider({
      spanProcessors: [new SimpleSpanProcessor({ exporter: new WaterfallExporter((t) => printed.push(t)) })],
    });
    const fake = fakeFetcher(async () => {
      await sleep(5);
      return json({ ok: true });
    });
    const { app } = createApp({
      plan: compilePlan(dashboardConfig()),
      fetcher: fake.fetcher,
      telemetry: createTelemetry({ tracer: provider.getTracer('test') }),
    });
    return { printed, app };
  }

  it('prints one waterfall per request, when its SERVER span ends, with every span of it', async () => {
    const { printed, app } = setup();
    await Promise.all([app.request('/v1/dashboard/1'), app.request('/v1/dashboard/2')]);
    expect(printed).toHaveLength(2);
    for (const text of printed) {
      const { header, lines } = parseLines(text);
      expect(header).toMatch(/^trace [0-9a-f]{32} {2}GET \/v1\/dashboard\/:userId /);
      expect(lines).toHaveLength(8);
    }
    expect(printed[0]?.split('\n')[0]).not.toBe(printed[1]?.split('\n')[0]);
  });

  it('prints a request that continues a remote trace (its SERVER span is the local root)', async () => {
    const { printed, app } = setup();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await app.request('/v1/dashboard/1', { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    expect(printed).toHaveLength(1);
    expect(printed[0]).toMatch(new RegExp(`^trace ${traceId} `));
    expect(parseLines(printed[0] as string).lines).toHaveLength(8);
  });
});

describe('TRIBUTARY_TRACE_CONSOLE=1 on the Node process', () => {
  it('prints the waterfall of a request on stderr', async () => {
    const upstream = await startRecordingUpstream();
    try {
      const service = await startService(fastAndSlowConfig(upstream.url), { TRIBUTARY_TRACE_CONSOLE: '1' });
      try {
        const res = await fetch(`${service.url}/v1/page/42`);
        expect(res.status).toBe(200);
        await res.arrayBuffer();
        // The block is written when the SERVER span ends, possibly after the response.
        const { header, lines } = await waitFor('the waterfall on stderr', () => {
          const start = service.stderr().indexOf('trace ');
          if (start < 0) return undefined;
          try {
            const parsed = parseLines(service.stderr().slice(start));
            return parsed.lines.length >= 6 ? parsed : undefined;
          } catch {
            return undefined; // not all written yet
          }
        }, 5000);
        expect(header).toMatch(/^trace [0-9a-f]{32} {2}GET \/v1\/page\/:id /);
        expect(lines.map((l) => l.name)).toEqual(
          expect.arrayContaining(['GET /v1/page/:id', 'aggregate GET /v1/page/:id', 'upstream main', 'upstream extra', 'GET']),
        );
        expect(lines.find((l) => l.name === 'upstream extra')?.notes).toContain('error=timeout');
        // The upstream still got the trace: the same trace id as the printed one.
        const traceId = /^trace ([0-9a-f]{32})/.exec(header)?.[1];
        expect(upstream.received.every((r) => r.traceparent?.includes(traceId as string))).toBe(true);
      } finally {
        expect(await service.stop('SIGTERM')).toBe(0);
      }
    } finally {
      await upstream.close();
    }
  });
});
