import { describe, expect, it } from 'vitest';
import { watchSlowLoop, type SlowLoopFields } from '../../src/node/slow-loop.ts';
import { inMemoryMetrics } from '../metrics/in-memory-metrics.ts';

/** A watcher whose checks and clock the test drives: `late(ms)` is one check that came `ms` late. */
function harness(thresholdMs = 100, served: () => string[] = () => []) {
  let now = 0;
  let check: (() => void) | undefined;
  let interval = 0;
  const lines: { message: string; fields: SlowLoopFields }[] = [];
  const metrics = inMemoryMetrics();
  const blocked = metrics.telemetry.meter.createCounter('tributary.eventloop.blocked');
  const stop = watchSlowLoop({
    thresholdMs,
    routes: served,
    log: (message, fields) => lines.push({ message, fields }),
    blocked,
    clock: () => now,
    every: (fn, ms) => {
      check = fn;
      interval = ms;
      return () => (check = undefined);
    },
  });
  return {
    lines,
    stop,
    stopped: () => check === undefined,
    /** Time passes; the next check runs `lateMs` after it was due. */
    late(lateMs: number) {
      now += interval + lateMs;
      check?.();
    },
    async count(): Promise<number> {
      return (await metrics.collect()).get('tributary.eventloop.blocked')?.series[0]?.count ?? 0;
    },
  };
}

describe('watchSlowLoop', () => {
  it('logs one line with the delay and the routes being served when the loop was blocked', () => {
    const h = harness(100, () => ['GET /v1/report/:id']);
    h.late(0);
    h.late(250);
    expect(h.lines).toEqual([
      {
        message: 'event loop blocked for 250 ms (over TRIBUTARY_SLOW_LOOP_MS=100) while serving GET /v1/report/:id',
        fields: { delayMs: 250, thresholdMs: 100, routes: ['GET /v1/report/:id'], notLogged: 0 },
      },
    ]);
  });

  it('says nothing while the loop keeps up, even when a check is a little late', () => {
    const h = harness(100);
    for (let i = 0; i < 50; i++) h.late(i % 2 === 0 ? 0 : 99);
    expect(h.lines).toEqual([]);
  });

  it('logs at most one line per second, and the next line says how many blocks it did not log', async () => {
    const h = harness(100);
    h.late(200);
    h.late(150);
    h.late(300);
    expect(h.lines).toHaveLength(1);
    // More than a second after the first line.
    h.late(0);
    for (let i = 0; i < 40; i++) h.late(0);
    h.late(120);
    expect(h.lines.map((l) => l.fields.notLogged)).toEqual([0, 2]);
    expect(h.lines[1]?.message).toMatch(/^event loop blocked for 120 ms .* while serving no endpoint request$/);
    // Every block is counted, logged or not.
    expect(await h.count()).toBe(4);
  });

  it('stops checking when stopped', () => {
    const h = harness(100);
    h.stop();
    expect(h.stopped()).toBe(true);
  });
});
