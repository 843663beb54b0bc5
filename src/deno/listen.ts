import type { Listen } from '../serve/listen.ts';
import { deno } from './deno-api.ts';

/**
 * Serves a handler with `Deno.serve`. In flight counts a request until its response has been
 * sent (`info.completed`), so a streamed answer counts to its end. `stop()` is Deno's own
 * graceful `shutdown()`. Deno has no way to cut the open connections of a server (aborting its
 * `signal` during a shutdown throws an uncaught BadResource in Deno 2.9): `closeAll()` does
 * nothing, and the process exiting closes what is left.
 *
 * @example
 * const server = await listenDeno((request) => app.fetch(request), { port: 8787, hostname: '127.0.0.1' });
 */
export const listenDeno: Listen = async (handler, { port, hostname }) => {
  let inFlight = 0;
  // Deno.serve throws at once (AddrInUse, PermissionDenied) when it cannot listen. An onListen
  // of our own keeps it from printing its own "Listening on" line: the entry logs in JSON.
  const server = deno().serve({ port, hostname, onListen: () => {} }, (request, info) => {
    inFlight++;
    info.completed.then(
      () => inFlight--,
      () => inFlight--,
    );
    return handler(request);
  });
  return {
    port: server.addr.port,
    inFlight: () => inFlight,
    stop: () => server.shutdown(),
    closeAll: () => {},
  };
};
