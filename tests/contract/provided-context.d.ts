// Values the contract suite's globalSetup hands to the tests (vitest `provide` / `inject`).
export {};

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the loopback test upstream, `http://127.0.0.1:<port>`. */
    upstreamUrl: string;
  }
}
