/**
 * What every answer of the gateway must look like (DESIGN section 2), checked on each answer of
 * the soak. Returns the ways an answer breaks the contract, in words; none for a good answer.
 */
import type { Answer } from './load.ts';

interface Aggregate {
  data: Record<string, unknown>;
  errors: { call: string; code: string }[];
  meta: { complete: boolean; durationMs: number };
}

/** Calls of an endpoint in declaration order, and which are required. */
export interface EndpointShape {
  calls: string[];
  required: string[];
}

/** Problems with the parts every answer shares: a request id, JSON, a known status. */
export function generalProblems(answer: Answer): string[] {
  const problems: string[] = [];
  if (answer.status === 0) return [`no answer (${answer.error})`];
  if (!answer.headers['x-request-id']) problems.push(`status ${answer.status} without x-request-id`);
  if (!String(answer.headers['content-type'] ?? '').startsWith('application/json')) {
    problems.push(`status ${answer.status} with content-type ${String(answer.headers['content-type'])}`);
  }
  if (answer.status >= 500 && ![502, 503, 504].includes(answer.status)) problems.push(`status ${answer.status}: ${answer.body.slice(0, 200)}`);
  if (answer.status === 503) {
    const code = errorCode(answer.body);
    if (code !== 'overloaded') problems.push(`503 with code ${code}, not overloaded`);
    if (!answer.headers['retry-after']) problems.push('503 without Retry-After');
  }
  return problems;
}

/** The `error.code` of an error body, or a word saying it has none. */
export function errorCode(body: string): string {
  try {
    return String((JSON.parse(body) as { error?: { code?: unknown } }).error?.code ?? '(none)');
  } catch {
    return '(not JSON)';
  }
}

/**
 * The aggregate body of a 200, 502 or 504: `data` keys in declaration order, `errors`,
 * `meta.complete` agreeing with `errors` and with `x-aggregate-complete`, a 200 only when no
 * required call failed, a 504 only when the required failure was time.
 */
export function aggregateProblems(answer: Answer, shape: EndpointShape): { problems: string[]; body?: Aggregate } {
  let body: Aggregate;
  try {
    body = JSON.parse(answer.body) as Aggregate;
  } catch {
    return { problems: [`status ${answer.status} body is not JSON`] };
  }
  const problems: string[] = [];
  if (!body || typeof body.data !== 'object' || !Array.isArray(body.errors) || typeof body.meta?.complete !== 'boolean') {
    return { problems: [`status ${answer.status} body lacks data, errors or meta`] };
  }
  const keys = Object.keys(body.data);
  if (keys.join(',') !== shape.calls.join(',')) problems.push(`data keys ${keys.join(',')} instead of ${shape.calls.join(',')}`);
  if (body.meta.complete !== (body.errors.length === 0)) problems.push(`meta.complete ${body.meta.complete} with ${body.errors.length} errors`);
  if (answer.headers['x-aggregate-complete'] !== String(body.meta.complete)) problems.push('x-aggregate-complete disagrees with meta.complete');
  // The failure that decided the status; required calls it cancelled are listed as `cancelled`.
  const requiredFailures = body.errors.filter((e) => shape.required.includes(e.call));
  const requiredFailure = requiredFailures.find((e) => e.code !== 'cancelled') ?? requiredFailures[0];
  if (answer.status === 200 && requiredFailure) problems.push(`200 although required call ${requiredFailure.call} failed (${requiredFailure.code})`);
  if (answer.status !== 200 && !requiredFailure) problems.push(`${answer.status} without a failed required call`);
  if (requiredFailure) {
    const timeUp = requiredFailure.code === 'timeout' || requiredFailure.code === 'deadline_exceeded';
    if (timeUp !== (answer.status === 504)) problems.push(`${answer.status} for a required ${requiredFailure.code}`);
  }
  return { problems, body };
}
