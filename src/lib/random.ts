/**
 * Random bytes for ids, drawn from the platform's CSPRNG 4 KiB at a time: one
 * `crypto.getRandomValues` per ~250 ids instead of one per id.
 */
const pool = new Uint8Array(4096);
let poolAt = pool.length;

/**
 * Puts `length` random bytes (at most 4096) in `into[0..length)`. Returns their bitwise OR, so a
 * caller can tell an all-zero draw (an invalid trace or span id) without another pass.
 *
 * @example
 * const bytes = new Array<number>(8);
 * while (randomInto(bytes, 8) === 0);
 */
export function randomInto(into: number[], length: number): number {
  if (length > pool.length) throw new RangeError(`randomInto: at most ${pool.length} bytes at a time, asked for ${length}`);
  if (poolAt + length > pool.length) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  let any = 0;
  for (let i = 0; i < length; i++) {
    const byte = pool[poolAt++] as number;
    any |= byte;
    into[i] = byte;
  }
  return any;
}

/** The character codes of the two lower-case hex digits of every byte value. */
const HEX_HIGH = new Uint16Array(256);
const HEX_LOW = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  const digits = i.toString(16).padStart(2, '0');
  HEX_HIGH[i] = digits.charCodeAt(0);
  HEX_LOW[i] = digits.charCodeAt(1);
}

/**
 * Writes the character codes of `byte`'s two lower-case hex digits at `codes[at]` and
 * `codes[at + 1]`, for a string made in one `String.fromCharCode`.
 *
 * @example
 * const codes = [0, 0];
 * putHex(codes, 0, 0xaf); // codes: [97, 102], 'af'
 */
export function putHex(codes: number[], at: number, byte: number): void {
  codes[at] = HEX_HIGH[byte] as number;
  codes[at + 1] = HEX_LOW[byte] as number;
}

const uuidBytes: number[] = new Array(16).fill(0);
/** A UUID's characters, the dashes in place: only the hex digits change. */
const uuidCodes: number[] = Array.from('00000000-0000-4000-8000-000000000000', (c) => c.charCodeAt(0));
/** Where each byte's two hex digits go. */
const UUID_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/**
 * A random (version 4) UUID in lower case, as `crypto.randomUUID()` makes, at about half its
 * cost, and as one flat string: Node's is built by concatenating 20 pieces, a tree of about 400
 * bytes that a request holds as long as it is in flight.
 *
 * @example
 * randomUuid(); // '3b241101-e2bb-4255-8caf-4136c566a962'
 */
export function randomUuid(): string {
  randomInto(uuidBytes, 16);
  uuidBytes[6] = ((uuidBytes[6] as number) & 0x0f) | 0x40; // version 4
  uuidBytes[8] = ((uuidBytes[8] as number) & 0x3f) | 0x80; // variant 10xx
  for (let i = 0; i < 16; i++) putHex(uuidCodes, UUID_AT[i] as number, uuidBytes[i] as number);
  return String.fromCharCode.apply(null, uuidCodes);
}
