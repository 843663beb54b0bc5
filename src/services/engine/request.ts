import { TributaryError } from '../../lib/errors.ts';
import type { CompiledCall } from '../plan/types.ts';
import { renderBody, renderPath, renderQueryValue, UnsafeValueError, type TemplateContext } from '../template.ts';
import type { UpstreamRequest } from '../upstream/types.ts';

/** Header names that describe one hop and are never forwarded, whatever the allowlist says. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host',
  'content-length', 'proxy-authorization', 'proxy-authenticate',
]);

/**
 * Renders a call's URL, headers and body for one request (one element, for `each`). A value
 * from another call that is unsafe in a URL fails the call with `invalid_response`.
 */
export function buildRequest(call: CompiledCall, ctx: TemplateContext, clientHeaders: Headers | undefined): UpstreamRequest {
  let href: string;
  try {
    href = call.plainUrl ? call.upstream.base + renderPath(call.path, ctx) : parsedUrl(call, ctx);
  } catch (error) {
    if (error instanceof UnsafeValueError) throw new TributaryError('invalid_response', `${call.name}: ${error.message}`);
    throw error;
  }
  const headers: Record<string, string> = { accept: 'application/json' };
  if (clientHeaders && call.upstream.forwardHeaders.size > 0) {
    for (const name of call.upstream.forwardHeaders) {
      const value = clientHeaders.get(name);
      if (value !== null && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
  }
  Object.assign(headers, call.upstream.headers);
  let body: string | undefined;
  if (call.body) {
    body = JSON.stringify(renderBody(call.body, ctx));
    headers['content-type'] = 'application/json';
  }
  const vary = call.cache && call.cache.vary.length > 0 ? varyValues(call.cache.vary, clientHeaders) : undefined;
  return { method: call.method, url: href, headers, ...(body === undefined ? {} : { body }), ...(vary ? { vary } : {}) };
}

/** The URL through the parser: a query to append, or a fixed path part it rewrites. */
function parsedUrl(call: CompiledCall, ctx: TemplateContext): string {
  const url = new URL(call.upstream.base + renderPath(call.path, ctx));
  for (const [key, template] of call.query) {
    const value = renderQueryValue(template, ctx);
    if (Array.isArray(value)) for (const v of value) url.searchParams.append(key, v);
    else if (value !== undefined) url.searchParams.append(key, value);
  }
  // Defence in depth: templates encode every value, so this can only fail on a bug.
  if (url.origin !== call.upstream.origin) throw new Error(`${call.name}: URL left its upstream's origin`);
  return url.href;
}

/** The client's values of the headers a cache varies on (absent ones as empty): part of the key only. */
function varyValues(names: readonly string[], clientHeaders: Headers | undefined): Record<string, string> {
  const vary: Record<string, string> = {};
  for (const name of names) vary[name] = clientHeaders?.get(name) ?? '';
  return vary;
}
