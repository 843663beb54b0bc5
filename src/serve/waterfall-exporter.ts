import { ExportResultCode, hrTimeToMilliseconds, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';

const WIDTH = 40;

/**
 * Prints each finished trace as a waterfall, for developers with no tracing backend:
 * TRIBUTARY_TRACE_CONSOLE=1 (Node and Bun). Spans are held until their trace's local root ends.
 * `write` is the entry's stderr.
 */
export class WaterfallExporter implements SpanExporter {
  readonly #pending = new Map<string, ReadableSpan[]>();
  readonly #write: (text: string) => void;

  constructor(write: (text: string) => void) {
    this.#write = write;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    for (const span of spans) {
      const traceId = span.spanContext().traceId;
      const list = this.#pending.get(traceId) ?? [];
      list.push(span);
      this.#pending.set(traceId, list);
      if (isLocalRoot(span)) {
        this.#pending.delete(traceId);
        this.#write(renderWaterfall(list));
      }
    }
    done({ code: ExportResultCode.SUCCESS });
  }

  async shutdown(): Promise<void> {
    for (const list of this.#pending.values()) this.#write(renderWaterfall(list));
    this.#pending.clear();
  }

  async forceFlush(): Promise<void> {}
}

function isLocalRoot(span: ReadableSpan): boolean {
  return !span.parentSpanContext || span.parentSpanContext.isRemote === true;
}

/** The span tree as text: start offset, duration, a bar on a shared time axis, name, notes. */
export function renderWaterfall(spans: readonly ReadableSpan[]): string {
  const start = Math.min(...spans.map((s) => hrTimeToMilliseconds(s.startTime)));
  const end = Math.max(...spans.map((s) => hrTimeToMilliseconds(s.endTime)));
  const total = Math.max(end - start, 0.001);
  const ids = new Set(spans.map((s) => s.spanContext().spanId));
  const children = new Map<string | undefined, ReadableSpan[]>();
  for (const span of spans) {
    const parent = span.parentSpanContext?.spanId;
    const key = parent && ids.has(parent) ? parent : undefined;
    children.set(key, [...(children.get(key) ?? []), span]);
  }
  const root = spans.find((s) => !s.parentSpanContext?.spanId || !ids.has(s.parentSpanContext.spanId));
  const lines = [`trace ${spans[0]?.spanContext().traceId ?? ''}  ${root?.name ?? ''}  ${total.toFixed(1)} ms`];
  const walk = (parent: string | undefined, depth: number): void => {
    const list = [...(children.get(parent) ?? [])].sort(
      (a, b) => hrTimeToMilliseconds(a.startTime) - hrTimeToMilliseconds(b.startTime),
    );
    for (const span of list) {
      const s = hrTimeToMilliseconds(span.startTime) - start;
      const d = hrTimeToMilliseconds(span.endTime) - hrTimeToMilliseconds(span.startTime);
      const from = Math.min(WIDTH - 1, Math.floor((s / total) * WIDTH));
      const len = Math.max(1, Math.round((d / total) * WIDTH));
      const bar = ' '.repeat(from) + '█'.repeat(Math.min(len, WIDTH - from)) ;
      const a = span.attributes;
      const notes = [
        a['error.type'] !== undefined ? `error=${String(a['error.type'])}` : '',
        a['tributary.cancelled'] ? 'cancelled' : '',
        a['tributary.wait_ms'] !== undefined ? `waited ${Number(a['tributary.wait_ms']).toFixed(1)} ms` : '',
        // Why a dependent call started late: the call it waited for.
        a['tributary.waited_for'] !== undefined ? `after ${String(a['tributary.waited_for'])}` : '',
        a['http.response.status_code'] !== undefined ? String(a['http.response.status_code']) : '',
      ].filter(Boolean).join(' ');
      lines.push(
        `${`+${s.toFixed(1)}`.padStart(8)} ${d.toFixed(1).padStart(7)} ms |${bar.padEnd(WIDTH)}| ${'  '.repeat(depth)}${span.name}${notes ? `  (${notes})` : ''}`,
      );
      walk(span.spanContext().spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return `${lines.join('\n')}\n`;
}
