// Values tests/workers/global-setup.ts hands to the workerd tests (vitest `provide` / `inject`).
export {};

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URLs of the demo upstreams, `http://127.0.0.1:<port>` each. */
    demoUpstreams: { users: string; orders: string; recs: string; catalog: string };
  }
}
