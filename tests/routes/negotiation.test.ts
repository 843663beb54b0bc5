import { describe, expect, it } from 'vitest';
import { chooseEncoding } from '../../src/routes/compression.ts';
import { noneMatch, weakEtag } from '../../src/routes/etag.ts';
import { answerFormat } from '../../src/routes/negotiate.ts';

describe('answer format from Accept', () => {
  it('streams NDJSON or SSE only when the client asks for it', () => {
    expect(answerFormat(undefined)).toBe('json');
    expect(answerFormat('*/*')).toBe('json');
    expect(answerFormat('application/x-ndjson')).toBe('ndjson');
    expect(answerFormat('text/event-stream')).toBe('sse');
    expect(answerFormat('Application/X-NDJSON; charset=utf-8')).toBe('ndjson');
  });

  it('picks the highest q, the first listed on a tie, and ignores q=0', () => {
    expect(answerFormat('text/event-stream;q=0.5, application/json')).toBe('json');
    expect(answerFormat('application/json;q=0.1, application/x-ndjson')).toBe('ndjson');
    expect(answerFormat('application/x-ndjson, application/json')).toBe('ndjson');
    expect(answerFormat('application/x-ndjson;q=0')).toBe('json');
  });
});

describe('ETag', () => {
  it('is weak, stable for the same bytes and different for others', async () => {
    const a = await weakEtag(new TextEncoder().encode('{"a":1}'));
    expect(a).toMatch(/^W\/"[A-Za-z0-9_-]{22}"$/);
    expect(await weakEtag(new TextEncoder().encode('{"a":1}'))).toBe(a);
    expect(await weakEtag(new TextEncoder().encode('{"a":2}'))).not.toBe(a);
  });

  it('matches If-None-Match by weak comparison, in a list, or *', () => {
    expect(noneMatch('W/"x"', 'W/"x"')).toBe(true);
    expect(noneMatch('"x"', 'W/"x"')).toBe(true);
    expect(noneMatch('"y", W/"x"', 'W/"x"')).toBe(true);
    expect(noneMatch('*', 'W/"x"')).toBe(true);
    expect(noneMatch('W/"y"', 'W/"x"')).toBe(false);
    expect(noneMatch(undefined, 'W/"x"')).toBe(false);
  });
});

describe('content encoding from Accept-Encoding', () => {
  it('prefers the compressor order on a tie, the highest q otherwise, and none when none is accepted', () => {
    expect(chooseEncoding('gzip, deflate, br', ['br', 'gzip'])).toBe('br');
    expect(chooseEncoding('gzip, br;q=0.8', ['br', 'gzip'])).toBe('gzip');
    expect(chooseEncoding('*', ['br', 'gzip'])).toBe('br');
    expect(chooseEncoding('br;q=0, *;q=0.5', ['br', 'gzip'])).toBe('gzip');
    expect(chooseEncoding('identity', ['br', 'gzip'])).toBeUndefined();
    expect(chooseEncoding(undefined, ['br', 'gzip'])).toBeUndefined();
  });
});
