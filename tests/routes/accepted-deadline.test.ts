/**
 * The deadline counts from when the request was accepted, not from when the engine started:
 * time spent before the handler (queued, reading the body) is spent from the budget.
 * Fake time throughout: the app's and the engine's clock are both performance.now.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/app.ts';
import { Deadline } from '../../src/lib/deadline.ts';
import { isDeadlineError } from '../../src/lib/errors.ts';
import { Engine } from '../../src/services/engine/index.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { track } from '../lib/helpers.ts';
import { fakeFetcher, json } from '../services/fake-fetcher.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const plan = () =>
  compilePlan({
    upstreams: { u: { baseUrl: 'http://u.test', timeoutMs: 60_000 } },
    endpoints: [
      {
        method: 'POST',
        path: '/v1/b',
        deadlineMs: 1000,
        input: { body: { name: { type: 'string' } } },
        calls: { b: { upstream: 'u', path: '/b', method: 'POST', body: { name: '{body.name}' }, required: true } },
      },
    ],
  });

describe('Deadline.after(ms, { since })', () => {
  it('counts from `since`: a budget that started 300 ms ago has 700 of 1000 ms left', () => {
    const since = performance.now();
    vi.advanceTimersByTime(300);
    const deadline = Deadline.after(1000, { since });
    expect(deadline.remaining()).toBe(700);
    vi.advanceTimersByTime(699);
    expect(deadline.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(isDeadlineError(deadline.signal.reason)).toBe(true);
    deadline.dispose();
  });

  it('a start in the future counts as now: the budget is never lengthened', () => {
    const deadline = Deadline.after(1000, { since: performance.now() + 5000 });
    expect(deadline.remaining()).toBe(1000);
    deadline.dispose();
  });
});

describe('the request deadline counts from acceptance', () => {
  it('engine.run with elapsedMs 900: 100 ms of the 1000 ms deadline remain, and durationMs counts the 900', async () => {
    const fake = fakeFetcher();
    const p = plan();
    const engine = new Engine(p, fake.fetcher);
    const run = track(engine.run(p.endpoints[0]!, { params: {}, query: {}, body: { name: 'x' }, elapsedMs: 900 }));
    await vi.advanceTimersByTimeAsync(0);
    expect(fake.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(99);
    expect(run.settled).toBe(true);
    const result = await run.promise;
    expect(result.failed).toEqual({ call: 'b', code: 'deadline_exceeded' });
    expect(result.durationMs).toBeGreaterThanOrEqual(990);
    expect(result.durationMs).toBeLessThan(1000);
  });

  it('a request that waited longer than its whole deadline calls nothing and fails at once as deadline_exceeded', async () => {
    const fake = fakeFetcher(() => json({ ok: true }));
    const p = plan();
    const engine = new Engine(p, fake.fetcher);
    const run = engine.run(p.endpoints[0]!, { params: {}, query: {}, body: { name: 'x' }, elapsedMs: 1500 });
    await vi.advanceTimersByTimeAsync(0);
    const result = await run;
    expect(fake.calls).toHaveLength(0);
    expect(result.failed).toEqual({ call: 'b', code: 'deadline_exceeded' });
  });

  it('an engine with its own clock: elapsedMs is a duration, so the two clocks need not agree', async () => {
    let now = 1_000_000;
    const fake = fakeFetcher();
    const p = plan();
    const engine = new Engine(p, fake.fetcher, { clock: () => now });
    const run = track(engine.run(p.endpoints[0]!, { params: {}, query: {}, body: { name: 'x' }, elapsedMs: 400 }));
    await vi.advanceTimersByTimeAsync(0);
    expect(fake.calls).toHaveLength(1);
    now += 600;
    fake.calls[0]?.respond(json({ ok: true }));
    const result = await run.promise;
    expect(result.failed).toBeUndefined();
    expect(result.durationMs).toBe(1000);
  });

  it('time spent reading the request body is spent from the deadline: 900 ms of upload leave 100 ms, then 504', async () => {
    const fake = fakeFetcher();
    const { app } = createApp({ plan: plan(), fetcher: fake.fetcher });
    let upload!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (controller) => void (upload = controller) });
    const response = track(
      Promise.resolve(app.request('/v1/b', { method: 'POST', body, headers: { 'content-type': 'application/json' }, duplex: 'half' } as RequestInit)),
    );
    await vi.advanceTimersByTimeAsync(900);
    upload.enqueue(new TextEncoder().encode('{"name":"x"}'));
    upload.close();
    await vi.advanceTimersByTimeAsync(0);
    expect(fake.calls).toHaveLength(1);
    expect(response.settled).toBe(false);
    // Counted from the engine's start, 1000 ms would remain; counted from acceptance, 100.
    await vi.advanceTimersByTimeAsync(100);
    expect(response.settled).toBe(true);
    const res = await response.promise;
    expect(res.status).toBe(504);
    const answer = (await res.json()) as { errors: { code: string }[]; meta: { durationMs: number } };
    expect(answer.errors[0]?.code).toBe('deadline_exceeded');
    expect(answer.meta.durationMs).toBeGreaterThanOrEqual(990);
  });
});
