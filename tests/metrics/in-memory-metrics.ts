/**
 * In-process metrics for tests: a real SDK MeterProvider with a reader the test collects from
 * on demand, handed to the app through `createTelemetry({ meter })`.
 */
import type { Attributes } from '@opentelemetry/api';
import { DataPointType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { createTelemetry, type Telemetry } from '../../src/services/telemetry.ts';

class ManualReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/** One series of an instrument: its attributes and its value (a histogram's count and sum). */
export interface Series {
  attributes: Attributes;
  /** Counters and gauges: the value. Histograms: the number of samples. */
  count: number;
  /** Histograms: the sum of the samples. */
  sum: number;
}

export interface Collected {
  unit: string;
  series: Series[];
}

export interface InMemoryMetrics {
  provider: MeterProvider;
  telemetry: Telemetry;
  /** Every instrument that recorded something so far, by name. */
  collect(): Promise<Map<string, Collected>>;
}

export function inMemoryMetrics(options: Parameters<typeof createTelemetry>[0] = {}): InMemoryMetrics {
  const reader = new ManualReader();
  const provider = new MeterProvider({ readers: [reader] });
  const telemetry = createTelemetry({ meter: provider.getMeter('test'), ...options });
  return {
    provider,
    telemetry,
    async collect() {
      const { resourceMetrics } = await reader.collect();
      const byName = new Map<string, Collected>();
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          const series = metric.dataPoints.map((point) => {
            if (metric.dataPointType === DataPointType.HISTOGRAM) {
              const value = point.value as { count: number; sum?: number };
              return { attributes: point.attributes, count: value.count, sum: value.sum ?? 0 };
            }
            return { attributes: point.attributes, count: point.value as number, sum: point.value as number };
          });
          byName.set(metric.descriptor.name, { unit: metric.descriptor.unit, series });
        }
      }
      return byName;
    },
  };
}

/** The series of `name` whose attributes include `match`. */
export function seriesOf(collected: Map<string, Collected>, name: string, match: Attributes = {}): Series[] {
  return (collected.get(name)?.series ?? []).filter((s) => Object.entries(match).every(([k, v]) => s.attributes[k] === v));
}
