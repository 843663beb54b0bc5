import type { Server, ServerOptions } from 'node:http';
import type { Env } from '../services/plan/types.ts';

/** What the Node server allows its clients: time to send a request, idle keep-alive, size, connections. */
export interface ServerLimits {
  /** Time a client has to send the request headers, from its first byte; then 408 and the connection is closed. */
  headersTimeoutMs: number;
  /** Time a client has to send the whole request (headers and body); then 408. The answer's own time is not counted. */
  requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
  /** Largest request body an endpoint reads; larger bodies get 413 (createApp's `maxRequestBodyBytes`). */
  maxRequestBodyBytes: number;
  /** Client connections open at once; further connections are closed as soon as they are accepted. */
  maxInboundConnections: number;
}

/** Edge-style defaults: a slow or idle client holds a connection seconds, not minutes (Node's own: 60 s and 300 s). */
export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxRequestBodyBytes: 1024 * 1024,
  maxInboundConnections: 10_000,
};

const VARIABLES: { [K in keyof ServerLimits]: { name: string; unit: string } } = {
  headersTimeoutMs: { name: 'TRIBUTARY_HEADERS_TIMEOUT_MS', unit: 'milliseconds' },
  requestTimeoutMs: { name: 'TRIBUTARY_REQUEST_TIMEOUT_MS', unit: 'milliseconds' },
  keepAliveTimeoutMs: { name: 'TRIBUTARY_KEEP_ALIVE_TIMEOUT_MS', unit: 'milliseconds' },
  maxRequestBodyBytes: { name: 'TRIBUTARY_MAX_REQUEST_BODY_BYTES', unit: 'bytes' },
  maxInboundConnections: { name: 'TRIBUTARY_MAX_INBOUND_CONNECTIONS', unit: 'connections' },
};

/**
 * Reads the server limits from the environment (unset or empty: the default). Every value is a
 * whole number above 0. Returns the first problem in words, naming the variable, so the entry
 * prints one line and exits 1.
 *
 * @example
 * readServerLimits({ TRIBUTARY_HEADERS_TIMEOUT_MS: '5000' }); // { headersTimeoutMs: 5000, requestTimeoutMs: 10000, ... }
 * readServerLimits({ TRIBUTARY_KEEP_ALIVE_TIMEOUT_MS: '5s' }); // 'TRIBUTARY_KEEP_ALIVE_TIMEOUT_MS must be a whole number of milliseconds above 0, got "5s"'
 */
export function readServerLimits(env: Env): ServerLimits | string {
  const limits = { ...DEFAULT_SERVER_LIMITS };
  for (const key of Object.keys(VARIABLES) as (keyof ServerLimits)[]) {
    const { name, unit } = VARIABLES[key];
    const text = env[name];
    if (text === undefined || text.trim() === '') continue;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < 1) return `${name} must be a whole number of ${unit} above 0, got "${text}"`;
    limits[key] = value;
  }
  // Node refuses a headers timeout longer than the request timeout; say so in our own words.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    return `TRIBUTARY_HEADERS_TIMEOUT_MS (${limits.headersTimeoutMs}) must not be above TRIBUTARY_REQUEST_TIMEOUT_MS (${limits.requestTimeoutMs}): the headers are part of the request`;
  }
  return limits;
}

/**
 * The `http.createServer` options for these limits (for `serve({ serverOptions })`). Node checks
 * the headers and request timeouts on a timer, every 30 s by default, which would let a slow
 * client keep its connection up to 30 s past its timeout: the check runs ten times per timeout here.
 *
 * @example
 * const server = serve({ fetch: app.fetch, port, serverOptions: serverOptions(limits) });
 * guardConnections(server, limits, logger.warn);
 */
export function serverOptions(limits: ServerLimits): ServerOptions {
  const shortest = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, Math.max(10, Math.floor(shortest / 10))),
  };
}

/** How often the same connection trouble may be logged: the first at once, then a count at most this often. */
const REPORT_INTERVAL_MS = 60_000;

/**
 * Caps the server's open client connections at `maxInboundConnections` (beyond it Node closes a
 * new connection as soon as it is accepted), and keeps a failed accept (EMFILE: out of file
 * descriptors) from stopping the process: Node reports it as a server `error`, which would
 * otherwise be fatal. Each kind of trouble is logged as a warning at once, then as a count at
 * most once a minute, so a flood of connections does not flood the log too. Call it once the
 * server listens, after removing any listen-time `error` handler.
 *
 * @example
 * guardConnections(server, limits, (message, fields) => logger.warn(message, fields));
 */
export function guardConnections(
  server: Server,
  limits: Pick<ServerLimits, 'maxInboundConnections'>,
  warn: (message: string, fields: Record<string, unknown>) => void,
  now: () => number = Date.now,
): void {
  server.maxConnections = limits.maxInboundConnections;
  const dropped = throttled(now, (count) =>
    warn(`refused ${count} client connection${count === 1 ? '' : 's'}: ${limits.maxInboundConnections} are open (TRIBUTARY_MAX_INBOUND_CONNECTIONS)`, {
      refused: count,
      limit: limits.maxInboundConnections,
    }),
  );
  const failed = throttled(now, (count, error?: NodeJS.ErrnoException) =>
    warn(`could not accept ${count} client connection${count === 1 ? '' : 's'}: ${error?.code ?? error?.message}`, { failed: count, code: error?.code }),
  );
  server.on('drop', () => dropped());
  server.on('error', (error: NodeJS.ErrnoException) => failed(error));
}

/** Counts events; reports the first at once and then the count since the last report, at most once per interval. */
function throttled<T>(now: () => number, report: (count: number, last?: T) => void): (last?: T) => void {
  let count = 0;
  let lastReport = Number.NEGATIVE_INFINITY;
  return (last) => {
    count++;
    if (now() - lastReport < REPORT_INTERVAL_MS) return;
    lastReport = now();
    report(count, last);
    count = 0;
  };
}
