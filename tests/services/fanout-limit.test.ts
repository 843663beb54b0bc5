import { describe, expect, it } from 'vitest';
import { fanoutLimit } from '../../src/services/engine/engine.ts';
import type { CompiledCall } from '../../src/services/plan/types.ts';

const plain = { each: undefined, maxItems: 1 } as unknown as CompiledCall;
const each = (maxItems: number) => ({ each: { source: 'query', text: 'query.ids' }, maxItems }) as unknown as CompiledCall;

describe("fanoutLimit: the scope's limit an endpoint needs", () => {
  it('none when no request can have more calls at once than maxConcurrency', () => {
    expect(fanoutLimit({ calls: [plain, plain, plain], maxConcurrency: 16 })).toBeUndefined();
    expect(fanoutLimit({ calls: [plain, plain, plain], maxConcurrency: 3 })).toBeUndefined();
    expect(fanoutLimit({ calls: [plain, each(5)], maxConcurrency: 6 })).toBeUndefined();
  });

  it('maxConcurrency when the calls, each elements counted at their maxItems, can exceed it', () => {
    expect(fanoutLimit({ calls: [plain, plain, plain], maxConcurrency: 2 })).toBe(2);
    expect(fanoutLimit({ calls: [plain, each(5)], maxConcurrency: 5 })).toBe(5);
    expect(fanoutLimit({ calls: [each(1000)], maxConcurrency: 16 })).toBe(16);
  });
});
