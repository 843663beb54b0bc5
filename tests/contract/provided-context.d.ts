// Values the contract suite's globalSetup hands to the tests (vitest `provide` / `inject`).
export {};

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the loopback test upstream, `http://127.0.0.1:<port>`. */
    upstreamUrl: string;
    /** contract-deno, contract-bun: the contract host running the gateways in that runtime (tests/runtimes/contract-host.ts). */
    gatewayHost?: string;
  }
}
