/** How an endpoint's answer is written: one JSON document, NDJSON lines, or Server-Sent Events. */
export type AnswerFormat = 'json' | 'ndjson' | 'sse';

const FORMATS: ReadonlyMap<string, AnswerFormat> = new Map([
  ['application/x-ndjson', 'ndjson'],
  ['text/event-stream', 'sse'],
  ['application/json', 'json'],
]);

/**
 * The format an `Accept` header asks for: the listed type with the highest `q` among
 * `application/x-ndjson`, `text/event-stream` and `application/json`, the first listed on a tie.
 * Anything else (no header, a wildcard) is the one JSON document, as before streaming existed.
 *
 * @example
 * answerFormat('application/x-ndjson'); // 'ndjson'
 * answerFormat('text/event-stream;q=0.5, application/json'); // 'json'
 */
export function answerFormat(accept: string | undefined): AnswerFormat {
  if (accept === undefined) return 'json';
  let best: { format: AnswerFormat; q: number } | undefined;
  for (const entry of accept.split(',')) {
    const [type = '', ...params] = entry.split(';');
    const format = FORMATS.get(type.trim().toLowerCase());
    if (!format) continue;
    const qParam = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (Number.isFinite(q) && q > 0 && (!best || q > best.q)) best = { format, q };
  }
  return best?.format ?? 'json';
}
