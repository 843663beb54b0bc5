import { describe, expect, it } from 'vitest';
import { whenSettled } from '../../src/lib/settled.ts';

describe('whenSettled', () => {
  it('runs the cleanup once the work settles, and passes its value or its rejection on unchanged', async () => {
    const log: string[] = [];
    const cleanup = (): void => void log.push('cleanup');
    expect(await whenSettled(async () => (log.push('work'), 7), cleanup)).toBe(7);
    const reason = new Error('upstream left');
    await expect(whenSettled(() => Promise.reject(reason), cleanup)).rejects.toBe(reason);
    expect(log).toEqual(['work', 'cleanup', 'cleanup']);
  });

  it('runs the cleanup at once when starting the work throws, and rejects with that error', async () => {
    let cleaned = 0;
    const bug = new Error('bug');
    const result = whenSettled(() => {
      throw bug;
    }, () => void cleaned++);
    expect(cleaned).toBe(1);
    await expect(result).rejects.toBe(bug);
  });

  it('does not run the cleanup before the work has settled', async () => {
    let cleaned = false;
    let finish!: () => void;
    const result = whenSettled(() => new Promise<void>((resolve) => (finish = resolve)), () => void (cleaned = true));
    await Promise.resolve();
    expect(cleaned).toBe(false);
    finish();
    await result;
    expect(cleaned).toBe(true);
  });
});
