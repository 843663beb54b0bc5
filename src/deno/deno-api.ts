/**
 * The part of the Deno namespace the Deno entry uses, typed here rather than by Deno's own
 * declarations: the project type-checks under Node's types, and only src/deno.ts and src/deno/
 * may reach the `Deno` global (tests/architecture.test.ts).
 */
export interface DenoServeInfo {
  /** Settles once the response has been sent, or the client went away. */
  completed: Promise<void>;
}

export interface DenoHttpServer {
  /** Stops listening and resolves once every request in flight has been answered. */
  shutdown(): Promise<void>;
  finished: Promise<void>;
  addr: { port: number; hostname: string };
}

export interface DenoApi {
  serve(
    options: { port: number; hostname: string; onListen?: (address: { port: number; hostname: string }) => void },
    handler: (request: Request, info: DenoServeInfo) => Response | Promise<Response>,
  ): DenoHttpServer;
  env: { toObject(): Record<string, string> };
  cwd(): string;
  readTextFile(path: string | URL): Promise<string>;
  addSignalListener(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void;
  exit(code: number): never;
}

/** The `Deno` global, typed. Only call this inside Deno. */
export const deno = (): DenoApi => (globalThis as unknown as { Deno: DenoApi }).Deno;
