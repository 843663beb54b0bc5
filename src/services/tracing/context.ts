import type { Context } from '@opentelemetry/api';

/** Marks a key deleted in a newer entry than the one that set it. */
const DELETED = Symbol('deleted');

/**
 * A trace context as a chain of entries, one key each, looked up from the newest back. Setting a
 * value makes one small object; the API's `ROOT_CONTEXT` copies its whole `Map` and builds three
 * closures for every set, and a traced request sets a dozen (the caller's span context, then a
 * span per layer and per attempt). A request's chain is a handful of entries long.
 */
class LinkedContext implements Context {
  readonly #parent: LinkedContext | undefined;
  readonly #key: symbol | undefined;
  readonly #value: unknown;

  constructor(parent: LinkedContext | undefined, key: symbol | undefined, value: unknown) {
    this.#parent = parent;
    this.#key = key;
    this.#value = value;
  }

  getValue(key: symbol): unknown {
    for (let entry: LinkedContext | undefined = this; entry !== undefined; entry = entry.#parent) {
      if (entry.#key === key) return entry.#value === DELETED ? undefined : entry.#value;
    }
    return undefined;
  }

  setValue(key: symbol, value: unknown): Context {
    return new LinkedContext(this, key, value);
  }

  deleteValue(key: symbol): Context {
    return this.getValue(key) === undefined ? this : new LinkedContext(this, key, DELETED);
  }
}

/**
 * The empty context every request's trace context grows from (the API's `ROOT_CONTEXT` holds
 * nothing either). Any code may read and extend it through the API's `Context` interface.
 *
 * @example
 * const parent = propagation.extract(EMPTY_CONTEXT, headers, getter);
 * const ctx = trace.setSpan(parent, span); // one entry more
 */
export const EMPTY_CONTEXT: Context = new LinkedContext(undefined, undefined, undefined);
