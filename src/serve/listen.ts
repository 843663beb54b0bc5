/** A Web-standard request handler: what `app.fetch` is, and what Deno.serve and Bun.serve take. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

export interface ListenOptions {
  /** 0: any free port. */
  port: number;
  hostname: string;
}

/** A server that listens: its port, and what a graceful shutdown needs of it. */
export interface Listening {
  port: number;
  /** Requests being answered now. */
  inFlight(): number;
  /** Stops listening; resolves once every request in flight has been answered. */
  stop(): Promise<void>;
  /** Closes the connections left, answered or not. */
  closeAll(): void;
}

/**
 * Serves a handler with the runtime's own server (`Deno.serve`, `Bun.serve`): each entry
 * passes its own, so the code around it (demo upstreams, the drain, the contract host) is shared.
 * Rejects when the port cannot be had, with the runtime's error.
 */
export type Listen = (handler: FetchHandler, options: ListenOptions) => Promise<Listening>;
