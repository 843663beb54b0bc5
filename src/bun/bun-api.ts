/**
 * The part of Bun's API the Bun entry uses, typed here rather than by `bun-types`: the project
 * type-checks under Node's types, and only src/bun.ts and src/bun/ may reach the `Bun` global
 * (tests/architecture.test.ts).
 */
export interface BunServer {
  readonly port: number;
  /** Requests being answered now. */
  readonly pendingRequests: number;
  /** Stops listening; resolves once the requests in flight are answered (or at once, closing them, with `true`). */
  stop(closeActiveConnections?: boolean): Promise<void>;
}

export interface BunServeOptions {
  port: number;
  hostname: string;
  /** Seconds a connection may stay silent (a slow client, an idle keep-alive); at most 255. */
  idleTimeout: number;
  /** False: a fault is answered without Bun's development error page. */
  development: boolean;
  fetch(request: Request): Response | Promise<Response>;
}

export interface BunApi {
  serve(options: BunServeOptions): BunServer;
  file(path: string | URL): { text(): Promise<string> };
  env: Record<string, string | undefined>;
}

/** The `Bun` global, typed. Only call this inside Bun. */
export const bun = (): BunApi => (globalThis as unknown as { Bun: BunApi }).Bun;
