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
  // Fewer characters than the limit cannot hold that many opening brackets.
  if (text.length <= max) return false;
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
