/**
 * A backoff delay with "full jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter"):
 * uniform in [0, min(capMs, baseMs * 2 ** retryIndex)]. Spreading retries over the whole range
 * keeps many clients that failed together from retrying together.
 *
 * @param retryIndex 0 before the first retry, 1 before the second, and so on.
 * @param random Returns a number in [0, 1); injected by tests.
 *
 * @example
 * const delay = fullJitter(retry, 100, 2000); // retry 0: up to 100 ms, retry 3: up to 800 ms
 * await sleep(Math.min(delay, deadline.remaining()), signal);
 */
export function fullJitter(retryIndex: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  if (!(Number.isInteger(retryIndex) && retryIndex >= 0)) {
    throw new RangeError(`retryIndex must be a whole number >= 0, got ${retryIndex}`);
  }
  if (!(baseMs >= 0) || !(capMs >= 0)) throw new RangeError(`backoff must be >= 0 ms, got base ${baseMs}, cap ${capMs}`);
  // The exponent is capped so that a zero base never meets 2 ** 1024 (Infinity) and gives NaN.
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(retryIndex, 1023));
  return random() * ceiling;
}

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** The three HTTP-date forms of RFC 9110 section 5.6.7, each as day, month, year, time. */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC_850 = new RegExp(`^${DAY}[a-z]*, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/** An HTTP date as epoch ms, or undefined. Date.parse is not used: it accepts almost anything. */
function parseHttpDate(text: string, nowEpochMs: number): number | undefined {
  let parts: (string | undefined)[]; // day, month, year, hour, minute, second
  let m: RegExpExecArray | null;
  if ((m = IMF_FIXDATE.exec(text))) parts = [m[1], m[2], m[3], m[4], m[5], m[6]];
  else if ((m = RFC_850.exec(text))) parts = [m[1], m[2], m[3], m[4], m[5], m[6]];
  else if ((m = ASCTIME.exec(text))) parts = [m[2], m[1], m[6], m[3], m[4], m[5]];
  else return undefined;
  const [dayText, monthText, yearText, hour, minute, second] = parts;
  const day = Number(dayText);
  const month = MONTHS.indexOf(monthText as string);
  let year = Number(yearText);
  if (yearText?.length === 2) {
    // RFC 9110: a two-digit year more than 50 years ahead is the latest past year ending so.
    const now = new Date(nowEpochMs).getUTCFullYear();
    year += Math.floor(now / 100) * 100;
    if (year > now + 50) year -= 100;
  }
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 60) return undefined;
  const epoch = Date.UTC(year, month, day, Number(hour), Number(minute), Number(second));
  // Date.UTC rolls 31 Feb over into March; a real date comes back with the same day.
  return new Date(Date.UTC(year, month, day)).getUTCDate() === day ? epoch : undefined;
}

/**
 * How long a `Retry-After` header asks to wait, in ms: from delta-seconds (`"120"`) or an HTTP
 * date (a date already past gives 0). Undefined for a missing, empty, negative or malformed value.
 *
 * @example
 * parseRetryAfter('120'); // 120_000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('2015-10-21T07:27:30Z')); // 30_000
 */
export function parseRetryAfter(value: string | null | undefined, nowEpochMs: number = Date.now()): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const epoch = parseHttpDate(text, nowEpochMs);
  return epoch === undefined ? undefined : Math.max(0, epoch - nowEpochMs);
}
