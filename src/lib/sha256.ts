/**
 * SHA-256 of some bytes: the cache keys (a call's headers, never stored in clear) and the ETags
 * of cacheable answers. Injected by the entry that has a faster one than WebCrypto's: on Node
 * `crypto.subtle.digest` hands every digest to a worker thread and back (21–34 µs of CPU per
 * key, measured), where `node:crypto`'s synchronous hash of the same few hundred bytes takes 3.
 */
export type Sha256 = (data: Uint8Array<ArrayBuffer>) => Uint8Array | Promise<Uint8Array>;

/**
 * WebCrypto's SHA-256, on every runtime: the default.
 *
 * @example
 * const digest = await webSha256(new TextEncoder().encode('abc')); // 32 bytes
 */
export const webSha256: Sha256 = async (data) => new Uint8Array(await crypto.subtle.digest('SHA-256', data));
