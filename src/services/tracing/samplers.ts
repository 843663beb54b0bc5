import { TraceFlags, type Context } from '@opentelemetry/api';
import { validParent, type SpanSampler } from './tracer.ts';

const NOT_RECORD = { decision: 0 } as const;
const RECORD_AND_SAMPLED = { decision: 2 } as const;

/** Every trace, or none. Each sampler describes itself as the SDK's does (`toString`), for logs and tests. */
const alwaysOn: SpanSampler = { shouldSample: () => RECORD_AND_SAMPLED, toString: () => 'AlwaysOnSampler' };
const alwaysOff: SpanSampler = { shouldSample: () => NOT_RECORD, toString: () => 'AlwaysOffSampler' };

/**
 * A fixed share of traces, decided from the trace id alone (the same id gives the same answer
 * in every process), with the SDK's arithmetic: the four 32-bit words of the id XORed, against
 * ratio × 2³².
 */
function traceIdRatio(ratio: number): SpanSampler {
  const bound = ratio >= 1 ? 2 ** 32 : Math.floor(ratio * 0xffffffff);
  return {
    shouldSample(_context, traceId) {
      let accumulated = 0;
      for (let i = 0; i < 32; i += 8) accumulated = (accumulated ^ Number.parseInt(traceId.slice(i, i + 8), 16)) >>> 0;
      return accumulated < bound ? RECORD_AND_SAMPLED : NOT_RECORD;
    },
    toString: () => `TraceIdRatioBased{${ratio}}`,
  };
}

/** A caller's decision (a sampled or unsampled parent) is followed; `root` decides new traces. */
function parentBased(root: SpanSampler): SpanSampler {
  return {
    shouldSample(context: Context, traceId, name, kind, attributes, links) {
      const parent = validParent(context);
      if (!parent) return root.shouldSample(context, traceId, name, kind, attributes, links);
      return parent.traceFlags & TraceFlags.SAMPLED ? RECORD_AND_SAMPLED : NOT_RECORD;
    },
    toString: () => `ParentBased{root=${root.toString()}}`,
  };
}

const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'];

/**
 * OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG, as the specification names them; default
 * `parentbased_always_on`. A value it cannot use is named in `problems` and the default (or a
 * ratio of 1) is used instead.
 *
 * @example
 * const problems: string[] = [];
 * const sampler = samplerFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }, problems);
 */
export function samplerFromEnv(vars: Record<string, string | undefined>, problems: string[]): SpanSampler {
  const name = (vars.OTEL_TRACES_SAMPLER ?? '').trim().toLowerCase();
  const ratio = (): number => {
    const arg = vars.OTEL_TRACES_SAMPLER_ARG;
    if (arg === undefined || arg.trim() === '') return 1;
    const value = Number(arg);
    if (Number.isFinite(value) && value >= 0 && value <= 1) return value;
    problems.push(`OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, got "${arg}"; using 1`);
    return 1;
  };
  switch (name) {
    case 'always_on':
      return alwaysOn;
    case 'always_off':
      return alwaysOff;
    case 'traceidratio':
      return traceIdRatio(ratio());
    case 'parentbased_always_off':
      return parentBased(alwaysOff);
    case 'parentbased_traceidratio':
      return parentBased(traceIdRatio(ratio()));
    case '':
    case 'parentbased_always_on':
      return parentBased(alwaysOn);
    default:
      problems.push(`OTEL_TRACES_SAMPLER=${vars.OTEL_TRACES_SAMPLER} is not supported (${SAMPLERS.join(', ')}); using parentbased_always_on`);
      return parentBased(alwaysOn);
  }
}
