import type { Context } from 'hono';
import type { AppEnv } from './errors.ts';

/**
 * Headers that every answer to a request carries, whoever builds it: its `x-request-id`, and a
 * sampled request's `traceresponse`. Hooks add them before the handler runs; the request frame
 * puts them on whatever answer comes back (an endpoint's, a stream's, a 404, the error handler's).
 *
 * They are kept in a plain record instead of Hono's `c.header()`, which starts a WHATWG `Headers`
 * for every request. An endpoint's JSON answer is built by {@link answer} with them already in
 * its header record: @hono/node-server writes such a record straight to the socket, with no
 * `Headers` at all.
 *
 * @example
 * addAnswerHeader(c, 'x-request-id', id); // in a hook's `enter`
 * return answer(c, bytes, 200, { 'content-type': 'application/json' }); // in a handler
 */
export function addAnswerHeader(c: Context<AppEnv>, name: string, value: string): void {
  const headers = c.get('answerHeaders');
  if (headers) headers[name] = value;
  else c.set('answerHeaders', { [name]: value });
}

/**
 * A response with `headers` and the request's own (which win on a clash). The request notes it
 * (not a WeakSet of responses: weak entries cost every garbage collection something).
 */
export function answer(c: Context<AppEnv>, body: BodyInit | null, status: number, headers: Record<string, string>): Response {
  const own = c.get('answerHeaders');
  if (!own) return new Response(body, { status, headers });
  const res = new Response(body, { status, headers: { ...headers, ...own } });
  c.set('carriedAnswer', res);
  return res;
}

/** Puts the request's headers on `c.res`, unless {@link answer} built it with them. */
export function carryAnswerHeaders(c: Context<AppEnv>): void {
  const own = c.get('answerHeaders');
  if (!own || c.get('carriedAnswer') === c.res) return;
  const { headers } = c.res;
  for (const name in own) headers.set(name, own[name]!);
}
