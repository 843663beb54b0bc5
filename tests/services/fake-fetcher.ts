/**
 * A fake `Fetcher` for service and route tests: no network. Every call is recorded; a call is
 * answered by the handler (a Response, a thrown error, or `'hold'` to keep it pending until the
 * test answers it). Like a real fetch, a pending call rejects with `signal.reason` when its
 * signal aborts. Every body it hands out is tracked, so a test can check it was consumed or
 * cancelled.
 */
import type { Fetcher } from '../../src/services/upstream/index.ts';

export type FetchInit = Parameters<Fetcher>[1];

export interface BodyTracker {
  /** Read to its end. */
  drained: boolean;
  /** `cancel()` reached the underlying source. */
  cancelled: boolean;
  /** Chunks handed to the reader. */
  pulls: number;
}

export interface RecordedCall {
  index: number;
  url: string;
  /** Host and path, without scheme or query: `users.test/users/42`. */
  target: string;
  path: string;
  method: string;
  headers: Headers;
  body: string | undefined;
  signal: AbortSignal;
  /** Settled (answered, failed or aborted). */
  settled: boolean;
  /** The reason its signal aborted with, if it did. */
  abortReason: unknown;
  respond(response: Response): void;
  fail(error: unknown): void;
}

export type Handler = (call: RecordedCall) => Response | Promise<Response> | 'hold';

export interface FakeFetcher {
  fetcher: Fetcher;
  calls: RecordedCall[];
  bodies: BodyTracker[];
  /** Calls started and not yet settled. */
  inFlight(): number;
  /** Highest {@link inFlight} seen. */
  peak(): number;
  /** Peak in-flight calls whose host + path starts with `prefix` (`catalog.test/items`). */
  peakFor(prefix: string): number;
  /** Every tracked body was read to its end or cancelled. */
  allBodiesReleased(): boolean;
  /** The calls whose host + path starts with `prefix` (`users.test`, `users.test/users/1`). */
  to(prefix: string): RecordedCall[];
}

/** Creates a fake fetcher; by default every call is held until the test answers it. */
export function fakeFetcher(handler: Handler = () => 'hold'): FakeFetcher {
  const calls: RecordedCall[] = [];
  const bodies: BodyTracker[] = [];
  // +1 when a call starts, -1 when it settles: peaks are computed from this log.
  const log: { target: string; delta: 1 | -1 }[] = [];
  let inFlight = 0;

  const fetcher: Fetcher = (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const { signal } = init;
      const parsed = new URL(url);
      const path = parsed.pathname;
      const target = parsed.host + parsed.pathname;
      let call!: RecordedCall;
      const settle = (): boolean => {
        if (call.settled) return false;
        call.settled = true;
        inFlight--;
        log.push({ target, delta: -1 });
        signal.removeEventListener('abort', onAbort);
        return true;
      };
      const onAbort = (): void => {
        call.abortReason = signal.reason;
        if (settle()) reject(signal.reason);
      };
      call = {
        index: calls.length,
        url,
        target,
        path,
        method: init.method ?? 'GET',
        headers: new Headers(init.headers),
        body: typeof init.body === 'string' ? init.body : undefined,
        signal,
        settled: false,
        abortReason: undefined,
        respond: (response) => {
          if (settle()) resolve(track(response, bodies, signal));
        },
        fail: (error) => {
          if (settle()) reject(error);
        },
      };
      calls.push(call);
      inFlight++;
      log.push({ target, delta: 1 });
      if (signal.aborted) return onAbort();
      // Record the abort reason even after the call settled (a body may still be read).
      signal.addEventListener('abort', () => (call.abortReason ??= signal.reason), { once: true });
      signal.addEventListener('abort', onAbort, { once: true });
      let answer: ReturnType<Handler>;
      try {
        answer = handler(call);
      } catch (error) {
        call.fail(error);
        return;
      }
      if (answer !== 'hold') Promise.resolve(answer).then(call.respond, call.fail);
    });

  const peakOf = (prefix: string): number => {
    let now = 0;
    let peak = 0;
    for (const e of log) if (e.target.startsWith(prefix)) peak = Math.max(peak, (now += e.delta));
    return peak;
  };

  return {
    fetcher,
    calls,
    bodies,
    inFlight: () => inFlight,
    peak: () => peakOf(''),
    peakFor: peakOf,
    allBodiesReleased: () => bodies.every((b) => b.drained || b.cancelled),
    to: (prefix) => calls.filter((c) => c.target.startsWith(prefix)),
  };
}

/** Re-wraps a response's body in a tracked stream (and errors it when the signal aborts). */
function track(response: Response, bodies: BodyTracker[], signal: AbortSignal): Response {
  if (!response.body) return response;
  const tracker: BodyTracker = { drained: false, cancelled: false, pulls: 0 };
  bodies.push(tracker);
  const reader = response.body.getReader();
  // highWaterMark 0: nothing is pulled until the client reads, so `pulls` counts reads.
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (signal.aborted) {
          controller.error(signal.reason);
          return;
        }
        const { done, value } = await reader.read();
        if (done) {
          tracker.drained = true;
          controller.close();
        } else {
          tracker.pulls++;
          controller.enqueue(value);
        }
      },
      cancel(reason) {
        tracker.cancelled = true;
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(stream, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/** A JSON response. */
export function json(value: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/** A body streamed in `chunks` pieces of `chunkSize` bytes, with no content-length. */
export function streamed(chunkSize: number, chunks: number, status = 200): Response {
  let sent = 0;
  const chunk = new Uint8Array(chunkSize).fill(0x61);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ >= chunks) controller.close();
      else controller.enqueue(chunk);
    },
  });
  return new Response(stream, { status });
}
