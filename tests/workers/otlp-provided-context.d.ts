// Values tests/workers/otlp-receiver-setup.ts hands to the workerd tests (vitest `provide` / `inject`).
export {};

declare module 'vitest' {
  export interface ProvidedContext {
    /** The loopback OTLP/HTTP receiver, `http://127.0.0.1:<port>`. */
    otlpReceiverUrl: string;
    /** `http://127.0.0.1:<port>` where nothing listens. */
    closedUrl: string;
  }
}
