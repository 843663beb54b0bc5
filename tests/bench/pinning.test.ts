import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allowedCpus, parseCpuList, pinningFromEnv } from '../../bench/lib/pinning.ts';
import { readyLine, spawnNode } from '../../bench/lib/processes.ts';

describe('BENCH_PIN', () => {
  it('reads the CPU lists taskset and the kernel write', () => {
    expect(parseCpuList('0-3,6\n')).toEqual([0, 1, 2, 3, 6]);
    expect(parseCpuList(' 1')).toEqual([1]);
    expect(() => parseCpuList('0-x')).toThrow('not a CPU list: "0-x"');
  });

  it('puts the contenders on the last CPU and everything else on the others', () => {
    expect(pinningFromEnv('1', () => [0, 1])).toEqual({ contenders: '1', others: '0' });
    expect(pinningFromEnv('1', () => [2, 3, 5])).toEqual({ contenders: '5', others: '2,3' });
  });

  it('is off unless asked for, and refuses what it cannot do instead of measuring unpinned', () => {
    const never = (): number[] => {
      throw new Error('CPUs read although pinning is off');
    };
    expect(pinningFromEnv(undefined, never)).toBeUndefined();
    expect(pinningFromEnv('0', never)).toBeUndefined();
    expect(() => pinningFromEnv('yes', never)).toThrow('BENCH_PIN=yes: must be 1 (pin) or 0 (do not)');
    expect(() => pinningFromEnv('1', () => [0])).toThrow('BENCH_PIN=1 needs two CPUs or more; this process may use 1 (0)');
  });

  it.runIf(process.platform === 'linux')('starts a contender on the CPU it is given, under its own pid', async () => {
    const cpu = String(allowedCpus(process.pid).at(-1));
    const child = spawnNode('pinned', join(import.meta.dirname, 'print-pid.ts'), {}, [], cpu);
    try {
      expect(Number(await readyLine(child))).toBe(child.pid);
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      expect(status).toMatch(new RegExp(`^Cpus_allowed_list:\\s+${cpu}$`, 'm'));
    } finally {
      await child.stop();
    }
  });
});
