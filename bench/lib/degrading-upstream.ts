/**
 * The degrading model (degrading-model.ts) as an HTTP handler, for the bench's upstream process
 * and the tests' loopback server:
 *   GET /items/<id>    { id, name } after the model's latency, or its refusal / hang
 *   GET /__stats       { requests, served, refused, inFlight, peakInFlight }
 *   GET /__stats/reset forgets the counters (in-flight requests still count)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerAt, type DegradingModel } from './degrading-model.ts';

export interface DegradingStats {
  requests: number;
  served: number;
  refused: number;
  inFlight: number;
  peakInFlight: number;
}

export interface DegradingHandler {
  handle(req: IncomingMessage, res: ServerResponse): void;
  stats(): DegradingStats;
  reset(): void;
}

function json(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * @example
 * const upstream = degradingHandler({ ...DEFAULT_MODEL, capacity: 20 });
 * createServer(upstream.handle).listen(0, '127.0.0.1');
 */
export function degradingHandler(model: DegradingModel): DegradingHandler {
  const stats: DegradingStats = { requests: 0, served: 0, refused: 0, inFlight: 0, peakInFlight: 0 };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '';
    if (url === '/__stats') return json(res, 200, JSON.stringify(stats));
    if (url === '/__stats/reset') {
      Object.assign(stats, { requests: 0, served: 0, refused: 0, peakInFlight: stats.inFlight });
      return json(res, 200, '{}');
    }
    const m = /^\/items\/([0-9A-Za-z-]{1,40})$/.exec(url);
    if (!m) return json(res, 404, '{"error":"use /items/<id>"}');
    stats.requests++;
    stats.inFlight++;
    stats.peakInFlight = Math.max(stats.peakInFlight, stats.inFlight);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      stats.inFlight--;
      clearTimeout(timer);
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    // The client leaving (its timeout) ends a hang, and frees the slot of a slow answer.
    res.once('close', finish);
    const answer = answerAt(model, stats.inFlight);
    if (answer.kind === 'hang') return;
    if (answer.kind === 'refuse') {
      stats.refused++;
      finish();
      return json(res, answer.status, '{"error":"overloaded"}', { 'retry-after': String(model.retryAfterS) });
    }
    timer = setTimeout(() => {
      stats.served++;
      finish();
      json(res, 200, JSON.stringify({ id: m[1], name: `Item ${m[1]}` }));
    }, answer.ms);
  };
  return {
    handle,
    stats: () => ({ ...stats }),
    reset: () => Object.assign(stats, { requests: 0, served: 0, refused: 0, peakInFlight: stats.inFlight }),
  };
}
