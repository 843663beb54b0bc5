import { webSha256, type Sha256 } from '../../lib/sha256.ts';
import type { UpstreamRequest } from '../upstream/types.ts';

/**
 * The key of one upstream request: its method and final URL in clear, then a SHA-256 of every
 * header it sends (forwarded client headers such as `authorization`, and the upstream's own
 * secret headers) and of the `vary` values. Two users with different tokens never share a key,
 * and no header value is ever stored in clear. `sha256`: the entry's (Node: `node:crypto`'s), else
 * WebCrypto's.
 *
 * @example
 * await cacheKey({ method: 'GET', url: 'https://api/config', headers: { authorization: 'Bearer a' } });
 * // 'GET https://api/config 3q2+7w...'
 */
export async function cacheKey(request: UpstreamRequest, sha256: Sha256 = webSha256): Promise<string> {
  const lines: string[] = [];
  for (const name of Object.keys(request.headers).sort()) lines.push(`${name}: ${request.headers[name]}`);
  if (request.vary) for (const name of Object.keys(request.vary).sort()) lines.push(`vary ${name}: ${request.vary[name]}`);
  const digest = await sha256(utf8.encode(lines.join('\n')));
  return `${request.method} ${request.url} ${base64(digest)}`;
}

const utf8 = new TextEncoder();

function base64(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/=+$/, '');
}
