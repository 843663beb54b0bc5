/**
 * Ids as bytes: our span contexts carry each id as one character per byte, and make the hex of a
 * span id only when it is read. The hex must always be the bytes', whoever reads which first.
 */
import { isSpanContextValid, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { bytesOfHex, hexOf, idBytesOf, randomIdBytes } from '../../src/services/tracing/ids.ts';
import { inMemoryTracing } from './in-memory-tracing.ts';

describe('id bytes', () => {
  it('turns bytes to lower-case hex and back, for every byte value', () => {
    const all = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');
    for (let at = 0; at < 256; at += 8) {
      const bytes = all.slice(at, at + 8);
      const hex = hexOf(bytes);
      expect(hex).toMatch(/^[0-9a-f]{16}$/);
      expect(hex).toBe(Buffer.from(bytes, 'latin1').toString('hex'));
      expect(bytesOfHex(hex)).toBe(bytes);
      expect(bytesOfHex(hex.toUpperCase())).toBe(bytes);
    }
    const trace = all.slice(240, 256);
    expect(hexOf(trace)).toBe('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');
  });

  it('draws ids of the asked length, different each time, never all zeros', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const span = randomIdBytes(8);
      const trace = randomIdBytes(16);
      expect(span).toHaveLength(8);
      expect(trace).toHaveLength(16);
      expect(/[^\0]/.test(span) && /[^\0]/.test(trace)).toBe(true);
      for (const id of [span, trace]) expect([...id].every((c) => c.charCodeAt(0) < 256)).toBe(true);
      seen.add(span);
    }
    expect(seen.size).toBe(2000);
  });
});

describe("our spans' contexts", () => {
  it('carry ids whose hex is their bytes, and a trace id their children share', () => {
    const { provider } = inMemoryTracing();
    const tracer = provider.getTracer('test');
    const parent = tracer.startSpan('parent', {}, ROOT_CONTEXT);
    const child = tracer.startSpan('child', {}, trace.setSpan(ROOT_CONTEXT, parent));
    const other = tracer.startSpan('other', {}, ROOT_CONTEXT);
    for (const span of [parent, child, other]) {
      const context = span.spanContext();
      const bytes = idBytesOf(context);
      expect(bytes).toBeDefined();
      expect(context.spanId).toBe(Buffer.from(bytes!.spanIdBytes, 'latin1').toString('hex'));
      expect(context.spanId).toBe(hexOf(bytes!.spanIdBytes));
      expect(context.traceId).toBe(Buffer.from(bytes!.traceIdBytes, 'latin1').toString('hex'));
      expect(isSpanContextValid(context)).toBe(true);
      span.end();
    }
    expect(child.spanContext().traceId).toBe(parent.spanContext().traceId);
    expect(idBytesOf(child.spanContext())!.traceIdBytes).toBe(idBytesOf(parent.spanContext())!.traceIdBytes);
    expect(other.spanContext().traceId).not.toBe(parent.spanContext().traceId);
  });

  it("take a caller's trace id, in bytes as in hex", () => {
    const { provider } = inMemoryTracing();
    const traceId = '0AF7651916CD43DD8448EB211C80319C'.toLowerCase();
    const remote = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: 'b7ad6b7169203331', traceFlags: 1, isRemote: true });
    const span = provider.getTracer('test').startSpan('server', {}, remote);
    expect(span.spanContext().traceId).toBe(traceId);
    expect(Buffer.from(idBytesOf(span.spanContext())!.traceIdBytes, 'latin1').toString('hex')).toBe(traceId);
    span.end();
  });

  it('print and copy as plain span contexts: their hex ids, not their bytes', () => {
    const { provider } = inMemoryTracing();
    const span = provider.getTracer('test').startSpan('server', {}, ROOT_CONTEXT);
    const context = span.spanContext();
    // What a console exporter prints, and what a spread copies.
    const printed = inspect(context);
    expect(printed).toContain(context.spanId);
    expect(printed).not.toContain('Bytes');
    const copy = { ...context };
    expect(copy).toEqual({ traceId: context.traceId, spanId: context.spanId, traceFlags: 1 });
    expect(isSpanContextValid(copy)).toBe(true);
    expect(idBytesOf(copy)).toBeUndefined();
    expect(JSON.parse(JSON.stringify(context))).toEqual({ traceId: context.traceId, spanId: context.spanId, traceFlags: 1 });
    span.end();
  });

  it('are not ids of ours when they come from elsewhere', () => {
    expect(idBytesOf({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 })).toBeUndefined();
  });
});
