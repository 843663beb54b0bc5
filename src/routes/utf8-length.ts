/** Any character outside ASCII: only then does a string's UTF-8 length differ from its length. */
const NON_ASCII = /[^\u0000-\u007f]/;

/**
 * How many bytes `text` takes as UTF-8, as `TextEncoder` would write it (a lone surrogate as the
 * three bytes of U+FFFD), without encoding it: an answer can then go out as a string, which the
 * runtime encodes as it writes, with its `content-length` known beforehand.
 *
 * @example
 * utf8Length('café'); // 5
 */
export function utf8Length(text: string): number {
  if (!NON_ASCII.test(text)) return text.length;
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) bytes += 1;
    else if (unit >= 0xd800 && unit <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: two units, four bytes.
      bytes += 2;
      i++;
    } else bytes += 2; // the rest of the BMP, and a lone surrogate (U+FFFD): three bytes
  }
  return bytes;
}
