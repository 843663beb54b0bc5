/**
 * Whether JSON text nests arrays and objects deeper than `max`, found in one pass over the text
 * before it is parsed (brackets inside strings do not count). A value nested thousands deep
 * parses, but overflows the stack when the answer is serialised: one bad optional upstream
 * would turn the whole response into a 500.
 *
 * @example
 * nestsDeeperThan('[[[1]]]', 2); // true
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  // Valid JSON nested `max + 1` deep has that many brackets opened and closed: a shorter text is
  // not scanned (most answers of a few dozen bytes). A short text that is not valid JSON (brackets
  // left open) fails to parse instead.
  if (text.length < 2 * (max + 1)) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
