import type { Listen } from '../serve/listen.ts';
import { bun } from './bun-api.ts';

/**
 * Bun closes a connection that stays silent this long (its own default is 10 s): longer than
 * the gateway's longest deadline should ever be, so an answer that is still being worked on is
 * never cut, while a client that sends nothing is let go. 255 s is Bun's maximum.
 */
const IDLE_TIMEOUT_S = 60;

/**
 * Serves a handler with `Bun.serve`. `stop()` stops listening and waits for the requests in
 * flight (Bun's own `server.stop()`); `closeAll()` closes every connection left.
 *
 * @example
 * const server = await listenBun((request) => app.fetch(request), { port: 8787, hostname: '127.0.0.1' });
 */
export const listenBun: Listen = async (handler, { port, hostname }) => {
  // Bun.serve throws at once (EADDRINUSE) when it cannot listen.
  const server = bun().serve({ port, hostname, idleTimeout: IDLE_TIMEOUT_S, development: false, fetch: (request) => handler(request) });
  return {
    port: server.port,
    inFlight: () => server.pendingRequests,
    stop: () => server.stop(),
    closeAll: () => void server.stop(true),
  };
};
