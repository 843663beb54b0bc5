/**
 * Load for the soak and overload scripts, through one undici Agent of the script's own.
 *
 * Open loop (`openLoop`): requests start on a fixed schedule whether or not earlier ones were
 * answered, as independent clients do; latency is measured from the scheduled start, so time a
 * request spent waiting for a client connection counts (no coordinated omission). Bounded in
 * count (rate × seconds) and time (seconds, then at most `timeoutMs` for the last answers).
 * Closed loop (`closedLoop`): `workers` clients each sending the next request when the last is
 * answered, to find the capacity.
 */
import { Agent, request } from 'undici';

export interface Shot {
  path: string;
  method?: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
  /** What the caller wants back with the answer (the endpoint it meant, what it expects). */
  tag: string;
}

export interface Answer {
  shot: Shot;
  /** 0 when no answer came (see `error`). */
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** When it was scheduled to start, performance.now(). */
  startedAt: number;
  /** From the scheduled start to the end of the body, ms. */
  latencyMs: number;
  /** Set when no complete answer came: `timeout`, or the transport error's code. */
  error?: string;
}

export interface LoadClient {
  send(base: string, shot: Shot, startedAt: number, timeoutMs: number): Promise<Answer>;
  close(): Promise<void>;
}

/** A client with at most `connections` connections to the gateway (keep-alive). */
export function loadClient(connections: number): LoadClient {
  const agent = new Agent({ connections, keepAliveTimeout: 4000, pipelining: 1, headersTimeout: 0, bodyTimeout: 0 });
  return {
    async send(base, shot, startedAt, timeoutMs) {
      const signal = AbortSignal.timeout(Math.max(1, Math.ceil(timeoutMs - (performance.now() - startedAt))));
      try {
        const res = await request(base + shot.path, {
          method: shot.method ?? 'GET',
          ...(shot.body === undefined ? {} : { body: shot.body }),
          ...(shot.headers ? { headers: shot.headers } : {}),
          dispatcher: agent,
          signal,
        });
        const body = await res.body.text();
        return { shot, status: res.statusCode, headers: res.headers, body, startedAt, latencyMs: performance.now() - startedAt };
      } catch (error) {
        const e = error as { name?: string; code?: string; message?: string };
        const timedOut = signal.aborted || e.name === 'TimeoutError' || e.name === 'AbortError';
        return { shot, status: 0, headers: {}, body: '', startedAt, latencyMs: performance.now() - startedAt, error: timedOut ? 'timeout' : (e.code ?? e.message ?? 'error') };
      }
    },
    close: () => agent.close(),
  };
}

export interface OpenLoopOptions {
  base: string;
  client: LoadClient;
  /** Requests per second. */
  rate: number;
  seconds: number;
  next: () => Shot;
  onAnswer: (answer: Answer) => void;
  /** A request not answered this long after its scheduled start is given up as `timeout`. */
  timeoutMs: number;
}

export interface OpenLoopResult {
  sent: number;
  /** When the last request was scheduled and when the last answer (or give-up) came, performance.now(). */
  loadEndedAt: number;
  lastAnswerAt: number;
}

/** Drives `rate` requests per second for `seconds`, then waits for the last answers (bounded by `timeoutMs`). */
export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const { rate, seconds, client, base, timeoutMs } = options;
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const start = performance.now();
  const pending = new Set<Promise<void>>();
  let sent = 0;
  let lastAnswerAt = start;
  while (sent < total) {
    const now = performance.now();
    // Every request whose scheduled time has come, each timed from its own schedule.
    while (sent < total && start + sent * interval <= now) {
      const scheduled = start + sent * interval;
      sent++;
      const p: Promise<void> = client.send(base, options.next(), scheduled, timeoutMs).then((answer) => {
        lastAnswerAt = performance.now();
        pending.delete(p);
        options.onAnswer(answer);
      });
      pending.add(p);
    }
    await new Promise((r) => setTimeout(r, Math.min(5, Math.max(1, interval))));
  }
  const loadEndedAt = performance.now();
  await Promise.all(pending);
  return { sent, loadEndedAt, lastAnswerAt };
}

/** `workers` clients in a closed loop for `seconds`; returns the answers per second with the given status. */
export async function closedLoop(base: string, client: LoadClient, workers: number, seconds: number, next: () => Shot, okStatus = 200): Promise<number> {
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  let ok = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < until) {
        const answer = await client.send(base, next(), performance.now(), 10_000);
        if (answer.status === okStatus) ok++;
      }
    }),
  );
  return ok / ((performance.now() - started) / 1000);
}

/** The p-th percentile (0-100) of sorted values; NaN when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

// The bench's generator, so a seed means the same sequence everywhere.
export { prng } from '../../bench/lib/prng.ts';
