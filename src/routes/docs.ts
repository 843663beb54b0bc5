import { Scalar } from '@scalar/hono-api-reference';
import type { Hono } from 'hono';
import { openApiDocument, type OpenApiOptions } from '../services/openapi/index.ts';
import type { Plan } from '../services/plan/index.ts';
import type { AppEnv } from './errors.ts';
import { bodied, jsonBody } from './json-body.ts';

/**
 * The API reference's browser script (Scalar's standalone bundle), served by the gateway itself
 * so that `/docs` loads with no CDN. Injected by the entry, which knows where the file is (Node
 * reads it from node_modules once). Without it (Workers), the page loads the same version from jsDelivr.
 */
export type DocsScript = () => Promise<DocsScriptBody> | DocsScriptBody;
type DocsScriptBody = string | Uint8Array<ArrayBuffer>;

export interface DocsOptions extends OpenApiOptions {
  script?: DocsScript | undefined;
}

/** Where `/docs` loads Scalar from when the gateway serves it. */
export const DOCS_SCRIPT_PATH = '/docs/scalar.js';

/** The installed `@scalar/api-reference` (a test keeps the two equal): the CDN copy is the same bundle. */
export const SCALAR_VERSION = '1.76.0';
const SCALAR_CDN = `https://cdn.jsdelivr.net/npm/@scalar/api-reference@${SCALAR_VERSION}`;

/**
 * `GET /openapi.json` (built once, from the plan) and `GET /docs`, an API reference page for
 * humans rendered by Scalar from that document. Nothing is registered when the config says
 * `"docs": false`.
 *
 * @example
 * registerDocs(app, plan, { script: () => readFile(standaloneJs) });
 */
export function registerDocs(app: Hono<AppEnv>, plan: Plan, options: DocsOptions = {}): void {
  if (plan.docs === false) return;
  // Serialised once: the document only changes with the plan.
  // With its length, so compression takes it whole, as it does the endpoints' answers.
  const { body, bytes } = jsonBody(JSON.stringify(openApiDocument(plan, options)));
  const length = String(bytes);
  app.get('/openapi.json', function openApi(c) {
    c.set('route', '/openapi.json');
    return bodied(c.body(body, 200, { 'content-type': 'application/json; charset=utf-8', 'content-length': length, 'cache-control': 'no-cache' }), body);
  });
  const { script } = options;
  if (script) {
    let bytes: Promise<DocsScriptBody> | undefined;
    app.get(DOCS_SCRIPT_PATH, async function docsScript(c) {
      c.set('route', DOCS_SCRIPT_PATH);
      // Read on first use and kept: a failed read is tried again by the next request.
      bytes ??= Promise.resolve(script()).catch((error: unknown) => {
        bytes = undefined;
        throw error;
      });
      return c.body(await bytes, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=3600' });
    });
  }
  const page = Scalar({
    url: '/openapi.json',
    pageTitle: options.title ?? 'Tributary gateway',
    cdn: script ? DOCS_SCRIPT_PATH : SCALAR_CDN,
    // Nothing fetched from third parties by the page itself: system fonts, no telemetry.
    withDefaultFonts: false,
    telemetry: false,
    // Features that call Scalar's own services, not this gateway.
    agent: { disabled: true },
    mcp: { disabled: true },
    showDeveloperTools: 'never',
  });
  // Browsers ask for an icon on every page; "none" rather than a 404 that the console reports.
  app.get('/favicon.ico', function noIcon(c) {
    c.set('route', '/favicon.ico');
    return c.body(null, 204, { 'cache-control': 'public, max-age=86400' });
  });
  app.get('/docs', function docs(c, next) {
    c.set('route', '/docs');
    // Scalar's middleware is typed for Hono's default environment; it reads nothing of ours.
    return page(c as unknown as Parameters<typeof page>[0], next);
  });
}
