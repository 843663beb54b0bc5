import { webSha256, type Sha256 } from '../lib/sha256.ts';

/**
 * A weak validator of a body: `W/"<22 base64url chars>"` from its SHA-256 (`sha256`: the entry's,
 * else WebCrypto's). Weak because the same JSON may be sent gzip'd, brotli'd or plain: equal
 * meaning, not equal bytes.
 *
 * @example
 * await weakEtag(new TextEncoder().encode('{"a":1}')); // 'W/"…"'
 */
export async function weakEtag(bytes: Uint8Array<ArrayBuffer>, sha256: Sha256 = webSha256): Promise<string> {
  const digest = await sha256(bytes);
  let text = '';
  for (const byte of digest.subarray(0, 16)) text += String.fromCharCode(byte);
  return `W/"${btoa(text).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')}"`;
}

/**
 * Whether `If-None-Match` names this ETag, by weak comparison (RFC 9110 13.1.2): `W/` is
 * ignored on both sides, `*` matches any.
 *
 * @example
 * noneMatch('W/"x", "y"', 'W/"y"'); // true
 */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const opaque = etag.replace(/^W\//, '');
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === opaque;
  });
}
