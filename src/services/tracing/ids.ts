/**
 * Trace and span ids as their bytes. The API hands ids around as lower-case hex, but OTLP
 * protobuf sends bytes: a span context of ours also keeps each id as a string of one character
 * per byte (code 0–255), which the encoder copies as it is instead of decoding the hex again.
 */
import { putHex, randomInto } from '../../lib/random.ts';

/** Ids as bytes, one character per byte: what our own span contexts carry besides the API's hex. */
export interface IdBytes {
  /** The trace id's 16 bytes. */
  readonly traceIdBytes: string;
  /** The span id's 8 bytes. */
  readonly spanIdBytes: string;
}

/** `context`'s ids as bytes, when it is one of ours; undefined for a context from elsewhere, or a copy of one of ours (hex only). */
export function idBytesOf(context: object): IdBytes | undefined {
  return typeof (context as Partial<IdBytes>).spanIdBytes === 'string' ? (context as IdBytes) : undefined;
}

/** One array of character codes per length, reused: no id copies its codes. */
const bytes8: number[] = new Array(8).fill(0);
const bytes16: number[] = new Array(16).fill(0);
const hex16: number[] = new Array(16).fill(0);
const hex32: number[] = new Array(32).fill(0);

/**
 * `length` random bytes as one flat string of one character per byte, never all zeros (an
 * invalid id). Made by one `String.fromCharCode`, not concatenated pair by pair (a rope that every
 * later read would flatten again).
 *
 * @example
 * hexOf(randomIdBytes(8)); // '5f1c0e9a3b7d2c41'
 */
export function randomIdBytes(length: 8 | 16): string {
  const codes = length === 16 ? bytes16 : bytes8;
  // An all-zero id is invalid: drawn again.
  while (randomInto(codes, length) === 0) continue;
  return String.fromCharCode.apply(null, codes);
}

/**
 * The lower-case hex of an id's bytes (8 or 16 of them).
 *
 * @example
 * hexOf('\u0000\u00ff'.repeat(4)); // '00ff00ff00ff00ff'
 */
export function hexOf(bytes: string): string {
  const codes = bytes.length === 16 ? hex32 : bytes.length === 8 ? hex16 : new Array<number>(2 * bytes.length);
  for (let i = 0; i < bytes.length; i++) putHex(codes, 2 * i, bytes.charCodeAt(i) & 0xff);
  return String.fromCharCode.apply(null, codes);
}

/** The value of each hex digit's character code (0–9, a–f, A–F). */
const HEX_VALUE = new Uint8Array(128);
for (let i = 0; i < 10; i++) HEX_VALUE[48 + i] = i;
for (let i = 0; i < 6; i++) HEX_VALUE[97 + i] = HEX_VALUE[65 + i] = 10 + i;

/**
 * The byte whose two hex digits start at `at` in `hex` (either case).
 *
 * @example
 * hexByte('00fF', 2); // 255
 */
export function hexByte(hex: string, at: number): number {
  return ((HEX_VALUE[hex.charCodeAt(at)] as number) << 4) | (HEX_VALUE[hex.charCodeAt(at + 1)] as number);
}

/**
 * An id's bytes from its hex (a valid id: an even number of hex digits, either case).
 *
 * @example
 * bytesOfHex('00ff'); // '\u0000\u00ff'
 */
export function bytesOfHex(hex: string): string {
  const length = hex.length >> 1;
  const codes = length === 16 ? bytes16 : length === 8 ? bytes8 : new Array<number>(length);
  for (let i = 0; i < length; i++) codes[i] = hexByte(hex, 2 * i);
  return String.fromCharCode.apply(null, codes);
}
