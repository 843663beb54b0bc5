export { Engine, type UpstreamRuntime } from './engine.ts';
export { InvalidInputError } from './input-check.ts';
export type { OutcomeEvent, OutcomeListener } from './outcomes.ts';
export type { AggregateResult, CallError, CallReport, EngineOptions, RequestInput, RunOptions } from './types.ts';
