// The parts of the workerd module `cloudflare:workers` these tests use (no @cloudflare/workers-types here).
declare module 'cloudflare:workers' {
  /** The main Worker's exports, called through the runtime like a real client would. */
  export const exports: { default: { fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> } };
  /** The main Worker's bindings (wrangler.toml vars plus the test project's miniflare bindings). */
  export const env: Record<string, unknown>;
}
