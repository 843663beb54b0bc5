import type { Context } from 'hono';
import { cancelled } from '../lib/errors.ts';
import { linkSignal } from '../lib/abort.ts';
import type { AggregateResult, OutcomeEvent, RequestInput } from '../services/engine/index.ts';
import type { CompiledEndpoint } from '../services/plan/index.ts';
import { outcomeOf } from './access-log.ts';
import { UNMATCHED_ROUTE, type AppEnv, type FaultLog } from './errors.ts';

export type StreamFormat = 'ndjson' | 'sse';

const CONTENT_TYPE: Record<StreamFormat, string> = {
  ndjson: 'application/x-ndjson; charset=utf-8',
  sse: 'text/event-stream; charset=utf-8',
};

/**
 * Answers an endpoint as a stream: `200` at once, then one line (NDJSON) or event (SSE `call`)
 * per call, per element for `each`, as soon as it settles, and a last line (SSE `done`) with
 * `meta`, `complete` and the `status` the JSON answer would have had. A client that stops
 * reading cancels the calls still running, as does `signal` (the client's). Rejects, before
 * anything is sent, with what `engine.run()` throws for input it refuses (the caller answers 400
 * or 422). The server's shutdown cutoff travels in `input.stop`, as for a JSON answer.
 *
 * @example
 * return await streamAggregate(c, endpoint, input, c.req.raw.signal, 'ndjson', statusOf, log);
 */
export async function streamAggregate(
  c: Context<AppEnv>,
  endpoint: CompiledEndpoint,
  input: RequestInput,
  signal: AbortSignal,
  format: StreamFormat,
  statusOf: (result: AggregateResult) => number,
  log: FaultLog | undefined,
): Promise<Response> {
  const link = linkSignal(signal);
  const out = lineStream(format, () => link.abort(cancelled('cancelled because the client stopped reading the stream')));
  let started!: () => void;
  const ready = new Promise<void>((resolve) => (started = resolve));
  const running = c.get('engine').run(endpoint, input, link.signal, c.get('traceContext'), {
    onStart: started,
    onOutcome: (event) => out.write('call', lineOf(event)),
  });
  try {
    await Promise.race([ready, running]);
  } catch (error) {
    link.dispose();
    throw error;
  }
  const ended = running
    .then(
      (result) => {
        c.set('aggregate', outcomeOf(result.complete, result.errors));
        const meta = { complete: result.complete, durationMs: Math.round(result.durationMs) };
        out.write('done', { meta, complete: result.complete, status: statusOf(result) });
      },
      (error: unknown) => {
        // Headers are gone: the fault is logged once and the last line says 500, with the request id only.
        const requestId = c.get('requestId');
        const route = c.get('route') ?? UNMATCHED_ROUTE;
        log?.(`request ${requestId} (${c.req.method} ${route}) failed while streaming`, error, { requestId, method: c.req.method, route });
        out.write('done', { meta: { complete: false }, complete: false, status: 500, error: { code: 'internal', message: 'internal error', requestId } });
      },
    )
    .finally(() => {
      out.close();
      link.dispose();
    });
  // Admission holds its slot, and the access log its line, until the stream ends.
  c.set('streamEnded', ended);
  keepAlive(c, ended);
  return new Response(out.readable, {
    status: 200,
    headers: { 'content-type': CONTENT_TYPE[format], 'cache-control': 'no-store', vary: 'accept', 'x-accel-buffering': 'no' },
  });
}

/**
 * On Workers, the invocation is kept alive until the calls have settled (the stream is written
 * after the handler returned), and the Worker exports the request's spans only after that.
 * Node has no execution context, and keeps running anyway.
 */
function keepAlive(c: Context<AppEnv>, ended: Promise<void>): void {
  let waitUntil: ((promise: Promise<unknown>) => void) | undefined;
  try {
    const ctx = c.executionCtx;
    waitUntil = (promise) => ctx.waitUntil(promise);
  } catch {
    // Hono throws when the runtime gave no execution context.
  }
  waitUntil?.(ended);
}

/** One call's (or element's) line: its `data` as the JSON answer shows it, or its error entry. */
function lineOf(event: OutcomeEvent): Record<string, unknown> {
  const head = { call: event.call.name, ...(event.item === undefined ? {} : { item: event.item }) };
  if (event.outcome === 'ok') return { ...head, ok: true, data: event.value };
  // The fallback the JSON answer would show, when the call has one.
  return { ...head, ok: false, error: event.entry, ...(event.call.fallback ? { data: event.value } : {}) };
}

interface LineStream {
  readable: ReadableStream<Uint8Array>;
  /** Writes one line or event; a no-op once the client has gone. Never throws. */
  write(event: 'call' | 'done', value: unknown): void;
  close(): void;
}

/** A byte stream written line by line; `onCancel` runs when the reader stops reading. */
function lineStream(format: StreamFormat, onCancel: () => void): LineStream {
  const encoder = new TextEncoder();
  let open = true;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const readable = new ReadableStream<Uint8Array>({
    start: (c) => void (controller = c),
    cancel: () => {
      open = false;
      onCancel();
    },
  });
  return {
    readable,
    write(event, value) {
      if (!open) return;
      const json = JSON.stringify(value);
      controller.enqueue(encoder.encode(format === 'ndjson' ? `${json}\n` : `event: ${event}\ndata: ${json}\n\n`));
    },
    close() {
      if (!open) return;
      open = false;
      controller.close();
    },
  };
}
