/** Any character outside ASCII. */
const NON_ASCII = /[^\u0000-\u007f]/;

const utf8 = new TextEncoder();

/**
 * A JSON text as an answer's body, with its length in bytes. ASCII text (most answers) stays a
 * string, whose length is its byte count: the runtime encodes it as it writes (Node: with the
 * headers, into one buffer), with no copy of ours. Other text is encoded once here, as UTF-8
 * bytes, which the native encoder does faster than counting its bytes in JavaScript would.
 *
 * @example
 * jsonBody('{"a":1}'); // { body: '{"a":1}', bytes: 7 }
 * jsonBody('{"a":"é"}').bytes; // 10
 */
export function jsonBody(text: string): { body: string | Uint8Array<ArrayBuffer>; bytes: number } {
  if (!NON_ASCII.test(text)) return { body: text, bytes: text.length };
  const encoded = utf8.encode(text);
  return { body: encoded, bytes: encoded.byteLength };
}
