/**
 * A URL without its password, for logs and messages.
 *
 * @example
 * redactedUrl('redis://:s3cret@cache:6379/0'); // 'redis://:***@cache:6379/0'
 */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.href;
  } catch {
    return '(an invalid URL)';
  }
}
