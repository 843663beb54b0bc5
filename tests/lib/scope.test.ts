import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { getEventListeners } from 'node:events';
import { linkSignal, sleep, type LinkedSignal } from '../../src/lib/abort.ts';
import { cancelled, isCancelledError, isTributaryError, TributaryError } from '../../src/lib/errors.ts';
import { Deadline } from '../../src/lib/deadline.ts';
import { gather, Scope, type GatherTask, type Outcome } from '../../src/lib/scope.ts';
import { abortListeners, deferred, flush, track, untilAborted } from './helpers.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Counts tasks in flight and remembers the peak and which tasks started. */
function probe() {
  let current = 0;
  const state = { peak: 0, started: [] as string[] };
  const enter = (name: string): void => {
    state.started.push(name);
    current++;
    state.peak = Math.max(state.peak, current);
  };
  const leave = (): void => {
    current--;
  };
  return { state, enter, leave };
}

function errorOf<T>(outcome: Outcome<T> | undefined): Error {
  if (outcome?.status !== 'error') throw new Error(`expected an error outcome, got ${outcome?.status}`);
  return outcome.error;
}

function skipOf<T>(outcome: Outcome<T> | undefined): TributaryError {
  if (outcome?.status !== 'skipped') throw new Error(`expected a skipped outcome, got ${outcome?.status}`);
  return outcome.reason;
}

describe('gather', () => {
  it('runs tasks concurrently but never more than limit at once', async () => {
    const p = probe();
    const tasks: GatherTask<number>[] = Array.from({ length: 10 }, (_, i) => ({
      run: async ({ signal }) => {
        p.enter(`t${i}`);
        try {
          await sleep(100, signal);
          return i;
        } finally {
          p.leave();
        }
      },
    }));
    const run = track(gather(tasks, { limit: 3 }));
    await vi.advanceTimersByTimeAsync(100);
    expect(p.state.peak).toBe(3); // they overlap
    await vi.advanceTimersByTimeAsync(300); // four waves of 100 ms: 3 + 3 + 3 + 1
    expect(run.settled).toBe(true);
    const outcomes = await run.promise;
    expect(p.state.peak).toBe(3);
    expect(outcomes).toEqual(tasks.map((_, i) => ({ status: 'ok', value: i })));
  });

  it('without a limit, all tasks start at once', async () => {
    const p = probe();
    const tasks = Array.from({ length: 20 }, (_, i) => ({
      run: async () => {
        p.enter(`t${i}`);
        await sleep(50);
        p.leave();
      },
    }));
    const run = gather(tasks);
    await vi.advanceTimersByTimeAsync(50);
    await run;
    expect(p.state.peak).toBe(20);
  });

  it('returns outcomes in task order, not completion order', async () => {
    const outcomes = gather<string>([
      { run: async () => (await sleep(300), 'slow') },
      { run: async () => Promise.reject(new TributaryError('http_status', 'users answered 503', { status: 503 })) },
      { run: async () => (await sleep(100), 'fast') },
    ]);
    await vi.advanceTimersByTimeAsync(300);
    const [a, b, c] = await outcomes;
    expect(a).toEqual({ status: 'ok', value: 'slow' });
    expect(isTributaryError(errorOf(b), 'http_status')).toBe(true);
    expect((errorOf(b) as TributaryError).status).toBe(503);
    expect(c).toEqual({ status: 'ok', value: 'fast' });
  });

  it('optional failures are outcomes, not exceptions, and do not disturb the siblings', async () => {
    const seen: boolean[] = [];
    const outcomes = await gather<string>([
      {
        run: async () => {
          throw new Error('recs down');
        },
      },
      { run: async () => Promise.reject('a bare string') },
      {
        run: async ({ signal }) => {
          await flush(5);
          seen.push(signal.aborted);
          return 'fine';
        },
      },
    ]);
    expect(errorOf(outcomes[0]).message).toBe('recs down');
    expect(errorOf(outcomes[1])).toBeInstanceOf(Error); // a non-Error throw is wrapped
    expect(errorOf(outcomes[1]).message).toBe('a bare string');
    expect(outcomes[2]).toEqual({ status: 'ok', value: 'fine' });
    expect(seen).toEqual([false]);
  });

  it('a required failure cancels running siblings (error, cancelled) and skips queued ones', async () => {
    const p = probe();
    const boom = new TributaryError('http_status', 'profile answered 500', { status: 500 });
    const outcomes = gather<string>(
      [
        {
          name: 'profile',
          required: true,
          run: async () => {
            p.enter('profile');
            await sleep(50);
            throw boom;
          },
        },
        {
          name: 'orders',
          run: async ({ signal }) => {
            p.enter('orders');
            return untilAborted(signal);
          },
        },
        { name: 'recs', run: async () => (p.enter('recs'), 'recs') },
        { name: 'items', run: async () => (p.enter('items'), 'items') },
      ],
      { limit: 2 },
    );
    await vi.advanceTimersByTimeAsync(50);
    const [profile, orders, recs, items] = await outcomes;
    expect(errorOf(profile)).toBe(boom); // the failure itself keeps its code
    expect(isCancelledError(errorOf(orders))).toBe(true);
    expect(errorOf(orders).message).toContain('profile');
    expect(isCancelledError(skipOf(recs))).toBe(true);
    expect(isCancelledError(skipOf(items))).toBe(true);
    expect(p.state.started).toEqual(['profile', 'orders']); // queued ones never started
  });

  it('a sibling that throws a foreign error after the abort is reported as cancelled', async () => {
    const outcomes = await gather<string>([
      { required: true, name: 'profile', run: async () => Promise.reject(new Error('broken')) },
      {
        run: async ({ signal }) => {
          await flush(5);
          signal.throwIfAborted();
          return 'unreachable';
        },
      },
    ]);
    expect(errorOf(outcomes[0]).message).toBe('broken');
    expect(isCancelledError(errorOf(outcomes[1]))).toBe(true);
  });

  it('never returns while a task still runs, even one that ignores the abort for a while', async () => {
    let finished = false;
    const run = track(
      gather<string>([
        { required: true, run: async () => Promise.reject(new Error('required failed')) },
        {
          run: async () => {
            await sleep(200); // deaf to the abort
            finished = true;
            return 'late';
          },
        },
      ]),
    );
    await vi.advanceTimersByTimeAsync(199);
    expect(run.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const outcomes = await run.promise;
    expect(finished).toBe(true);
    expect(outcomes[1]).toEqual({ status: 'ok', value: 'late' });
  });

  it('a parent abort cancels everything and queued tasks never start', async () => {
    const parent = new AbortController();
    const p = probe();
    const outcomes = gather<string>(
      ['a', 'b', 'c', 'd'].map((name) => ({
        name,
        run: async ({ signal }) => {
          p.enter(name);
          return untilAborted(signal);
        },
      })),
      { limit: 2, signal: parent.signal },
    );
    await vi.advanceTimersByTimeAsync(10);
    const reason = cancelled('the client went away');
    parent.abort(reason);
    const [a, b, c, d] = await outcomes;
    expect(errorOf(a)).toBe(reason);
    expect(errorOf(b)).toBe(reason);
    expect(skipOf(c)).toBe(reason);
    expect(skipOf(d)).toBe(reason);
    expect(p.state.started).toEqual(['a', 'b']);
    expect(abortListeners(parent.signal)).toBe(0);
  });

  it('a foreign parent reason (bare abort()) becomes cancelled in the outcomes', async () => {
    const parent = new AbortController();
    const outcomes = gather<string>(
      [{ run: async ({ signal }) => untilAborted(signal) }, { run: async () => 'queued' }],
      { limit: 1, signal: parent.signal },
    );
    await flush();
    parent.abort();
    const [a, b] = await outcomes;
    expect(isCancelledError(errorOf(a))).toBe(true);
    expect(isCancelledError(skipOf(b))).toBe(true);
  });

  it('an already aborted parent skips every task without starting any', async () => {
    const started: number[] = [];
    const outcomes = await gather(
      [0, 1, 2].map((i) => ({ run: async () => started.push(i) })),
      { signal: AbortSignal.abort(cancelled('gone')) },
    );
    expect(outcomes.map((o) => o.status)).toEqual(['skipped', 'skipped', 'skipped']);
    expect(started).toEqual([]);
  });

  it('a queued task granted a slot in the same turn the scope is cancelled never starts', async () => {
    // "a" finishes and hands its slot to "c"; in the same microtask turn, before "c" resumes,
    // the required "b" fails. "c" must still be skipped, not started with a dead signal.
    const a = deferred<string>();
    const b = deferred<string>();
    const started: string[] = [];
    const outcomes = gather<string>(
      [
        { name: 'a', run: () => (started.push('a'), a.promise) },
        { name: 'b', required: true, run: () => (started.push('b'), b.promise) },
        { name: 'c', run: async () => (started.push('c'), 'c') },
      ],
      { limit: 2 },
    );
    await flush();
    a.resolve('a');
    b.reject(new Error('b failed'));
    const result = await outcomes;
    expect(started).toEqual(['a', 'b']);
    expect(result.map((o) => o.status)).toEqual(['ok', 'error', 'skipped']);
  });
});

describe('Scope', () => {
  it("run under a caller's deadline, it cancels through the deadline's signal and leaves the deadline to its owner", async () => {
    const client = new AbortController();
    const deadline = Deadline.after(1000, { signal: client.signal });
    const scope = new Scope({ link: deadline, limit: 1 });
    const seen: AbortSignal[] = [];
    const running = scope.spawn(async ({ signal }) => {
      seen.push(signal);
      await untilAborted(signal);
    });
    const queued = scope.spawn(async () => 'never started');
    await flush();
    expect(seen).toEqual([deadline.signal]);
    const reason = cancelled('cancelled because profile failed');
    scope.cancel(reason);
    expect(deadline.signal.reason).toBe(reason);
    expect((await running).status).toBe('error');
    expect(await queued).toMatchObject({ status: 'skipped', reason });
    await scope.join();
    scope.dispose();
    // Still the deadline's: linked to the client until its owner disposes it.
    expect(abortListeners(client.signal)).toBe(1);
    deadline.dispose();
    expect(abortListeners(client.signal)).toBe(0);
  });

  it('refuses a link and a signal together: the link has its parents already', () => {
    const deadline = Deadline.after(1000);
    expect(() => new Scope({ link: deadline, signal: new AbortController().signal })).toThrow(/a link or a signal, not both/);
    deadline.dispose();
  });

  it('a wide fan-out links its tasks to the scope signal without an EventTarget listener each, and leaves none behind', async () => {
    const scope = new Scope({ limit: 1000 });
    const release = deferred();
    const links: LinkedSignal[] = [];
    const tasks = Array.from({ length: 100 }, () =>
      scope.spawn(async ({ signal }) => {
        const link = linkSignal(signal);
        links.push(link);
        try {
          await release.promise;
        } finally {
          link.dispose();
        }
      }),
    );
    await flush();
    expect(links).toHaveLength(100);
    // None is an EventTarget listener, which costs a list walk per add: the scope's link keeps them.
    expect(getEventListeners(scope.signal, 'abort')).toHaveLength(0);
    expect(abortListeners(scope.signal)).toBe(100);
    release.resolve();
    await Promise.all(tasks);
    expect(abortListeners(scope.signal)).toBe(0);
    scope.dispose();
  });

  it('a task spawned and cancelled in the same turn never starts, even with a free slot', async () => {
    // With a limit, spawn() takes the slot asynchronously; the task must see the cancel first.
    const scope = new Scope({ limit: 4 });
    const started: string[] = [];
    const outcome = scope.spawn(async () => (started.push('task'), 'ran'));
    scope.cancel();
    expect((await outcome).status).toBe('skipped');
    expect(started).toEqual([]);
    scope.dispose();
  });

  it('join() waits for tasks spawned while it waits; size counts running and queued', async () => {
    const scope = new Scope({ limit: 1 });
    const log: string[] = [];
    void scope.spawn(async () => {
      await sleep(100);
      log.push('first');
      void scope.spawn(async () => {
        await sleep(100);
        log.push('second');
      });
    });
    void scope.spawn(async () => void log.push('queued'));
    expect(scope.size).toBe(2);
    const joined = track(scope.join());
    await vi.advanceTimersByTimeAsync(100);
    expect(joined.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(joined.settled).toBe(true);
    expect(log).toEqual(['first', 'queued', 'second']);
    expect(scope.size).toBe(0);
    scope.dispose();
  });

  it('cancel() aborts running tasks and skips queued ones; failure names the required task', async () => {
    const scope = new Scope({ limit: 1 });
    const running = scope.spawn(({ signal }) => untilAborted(signal));
    const queued = scope.spawn(async () => 'never');
    await flush();
    scope.cancel();
    expect(isCancelledError(errorOf(await running))).toBe(true);
    expect(isCancelledError(skipOf(await queued))).toBe(true);
    expect(scope.failure).toBeUndefined();
    const late = await scope.spawn(async () => 'after cancel');
    expect(late.status).toBe('skipped');
    await scope.join();
    scope.dispose();

    const other = new Scope();
    const boom = new Error('boom');
    await other.spawn(async () => Promise.reject(boom), { required: true, name: 'profile' });
    expect(other.failure).toEqual({ name: 'profile', error: boom });
    expect(isCancelledError(other.signal.reason)).toBe(true);
    other.dispose();
  });
});
