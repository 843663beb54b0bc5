/**
 * The trace context every request grows from: what the API's contexts promise (immutable values
 * by key, a set or delete makes a new context) and what the propagators and the tracer read
 * through it, the same as from the API's ROOT_CONTEXT.
 */
import { createContextKey, propagation, ROOT_CONTEXT, trace, TraceFlags, type Context } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_CONTEXT } from '../../src/services/tracing/context.ts';

const keys = [createContextKey('a'), createContextKey('b'), createContextKey('c')];

describe('EMPTY_CONTEXT', () => {
  it('answers every read as the API root does, after any mix of sets and deletes, and never changes a context it came from', () => {
    let seed = 7;
    const next = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let run = 0; run < 50; run++) {
      let ours: Context = EMPTY_CONTEXT;
      let theirs: Context = ROOT_CONTEXT;
      const history: [Context, Context][] = [];
      for (let step = 0; step < 12; step++) {
        const key = keys[next(keys.length)] as symbol;
        if (next(3) === 0) {
          ours = ours.deleteValue(key);
          theirs = theirs.deleteValue(key);
        } else {
          const value = next(2) === 0 ? undefined : `v${step}`;
          ours = ours.setValue(key, value);
          theirs = theirs.setValue(key, value);
        }
        history.push([ours, theirs]);
      }
      // Every context along the way still reads as it did when it was made.
      for (const [a, b] of history) for (const key of keys) expect(a.getValue(key)).toBe(b.getValue(key));
    }
    expect(keys.map((key) => EMPTY_CONTEXT.getValue(key))).toEqual([undefined, undefined, undefined]);
  });

  describe('with the W3C propagators', () => {
    beforeAll(() => {
      propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
    });
    afterAll(() => propagation.disable());

    it('carries a caller\'s traceparent and baggage through to the headers of an upstream request', () => {
      const inbound = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', baggage: 'tenant=acme' };
      const extracted = propagation.extract(EMPTY_CONTEXT, inbound);
      expect(trace.getSpanContext(extracted)).toMatchObject({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED, isRemote: true });
      const out: Record<string, string> = {};
      propagation.inject(extracted, out);
      expect(out).toEqual({ traceparent: inbound.traceparent, baggage: 'tenant=acme' });

      const withoutBaggage: Record<string, string> = {};
      propagation.inject(propagation.deleteBaggage(extracted), withoutBaggage);
      expect(withoutBaggage).toEqual({ traceparent: inbound.traceparent });
      expect(propagation.getBaggage(extracted)?.getEntry('tenant')?.value).toBe('acme');
    });
  });
});
