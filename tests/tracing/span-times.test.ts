/**
 * Every span's start and end come from one clock (performance.timeOrigin + performance.now()),
 * so the nesting of the waterfall holds exactly: no child starts before its parent or ends after
 * it, over many spans of many concurrent requests, with no margin at all.
 */
import { propagation, SpanKind } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { spanTime } from '../../src/services/telemetry.ts';
import { fakeFetcher, json } from '../services/fake-fetcher.ts';
import { dashboardConfig } from './dashboard-config.ts';
import { idOf, inMemoryTracing, parentOf, sleep } from './in-memory-tracing.ts';

beforeAll(() => {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => {
  propagation.disable();
});

/** A span time in integer nanoseconds: compared exactly, never through a float of milliseconds. */
const ns = ([s, n]: readonly [number, number]): bigint => BigInt(s) * 1_000_000_000n + BigInt(n);

describe('span times', () => {
  it('no child starts before its parent or ends after it, over hundreds of spans of concurrent requests', async () => {
    const tracing = inMemoryTracing();
    // Answers at once or after a short sleep: many spans start and end within the same millisecond.
    const fake = fakeFetcher(async (call) => {
      if (call.index % 3 === 0) await sleep(1);
      return json({ ok: true, managerId: '7' });
    });
    const config = dashboardConfig({ maxConcurrency: 2, usersConcurrency: 3 });
    const { app } = createApp({ plan: compilePlan(config), fetcher: fake.fetcher, telemetry: tracing.telemetry });
    const paths = Array.from({ length: 20 }, (_, i) => [`/v1/dashboard/${i}`, `/v1/users/${i}/with-manager`, `/v1/items?ids=a,b,c,d,e`]).flat();
    await Promise.all(paths.map((p) => app.request(p)));

    const spans = tracing.spans();
    const byId = new Map(spans.map((s) => [idOf(s), s]));
    let pairs = 0;
    for (const child of spans) {
      const parent = byId.get(parentOf(child) ?? '');
      if (!parent) continue;
      pairs++;
      const what = `${child.name} in ${parent.name}`;
      expect(ns(child.startTime) >= ns(parent.startTime), `${what} starts after its parent`).toBe(true);
      expect(ns(child.endTime) <= ns(parent.endTime), `${what} ends before its parent`).toBe(true);
      expect(ns(child.startTime) <= ns(child.endTime), `${child.name} ends after it starts`).toBe(true);
    }
    expect(pairs).toBeGreaterThan(400);
    // A call's waits end before its request goes on the wire (calls without elements: one CLIENT span each).
    const waits = spans.filter((s) => s.name === 'semaphore.acquire' && s.attributes['tributary.item'] === undefined);
    expect(waits.length).toBeGreaterThan(10);
    for (const wait of waits) {
      const client = spans.find((s) => s.kind === SpanKind.CLIENT && parentOf(s) === parentOf(wait)) as ReadableSpan;
      expect(ns(wait.endTime) <= ns(client.startTime), `${String(wait.attributes['upstream.name'])} wait before its request`).toBe(true);
    }
  });

  it('spanTime is the epoch time of a performance.now() reading, to the nanosecond, and never goes back', () => {
    const reading = performance.now();
    const [seconds, nanos] = spanTime(reading);
    expect(Number.isInteger(seconds) && Number.isInteger(nanos) && nanos >= 0 && nanos < 1e9).toBe(true);
    const epochMs = seconds * 1000 + nanos / 1e6;
    expect(Math.abs(epochMs - (performance.timeOrigin + reading))).toBeLessThan(0.001);
    // Sub-millisecond readings stay distinct and ordered (Date.now() would make them equal).
    const times = [reading, reading + 0.0004, reading + 0.25, reading + 999.999, reading + 1000].map((t) => ns(spanTime(t)));
    for (let i = 1; i < times.length; i++) expect(times[i] as bigint > (times[i - 1] as bigint)).toBe(true);
    expect((times[2] as bigint) - (times[0] as bigint)).toBe(250_000n);
  });
});
