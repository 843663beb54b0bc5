import { startTimer } from './timer.ts';

/**
 * A child AbortController linked to an optional parent signal (and optionally a second one,
 * such as a server's shutdown cutoff). Aborting a parent aborts the child with that parent's
 * reason, unchanged. `dispose()` removes the listeners from the parents, so a long-lived parent
 * never accumulates listeners; always call it in `finally`.
 *
 * @example
 * const link = linkSignal(parent);
 * try { await work(link.signal); } finally { link.dispose(); }
 */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  abort(reason: unknown): void;
  dispose(): void;
}

export function linkSignal(parent?: AbortSignal, other?: AbortSignal): LinkedSignal {
  const first = parent?.aborted ? parent : other?.aborted ? other : undefined;
  if (first) {
    const controller = new AbortController();
    controller.abort(first.reason);
    return { signal: controller.signal, abort: () => {}, dispose: () => {} };
  }
  return new Link(parent, other);
}

/**
 * A linked controller as one object: a call in flight holds one per link. Only this object can
 * abort its signal, so it tells the listeners that {@link subscribe} gives it itself, once the
 * signal has aborted (after the signal's own EventTarget listeners): a link to a link, the common
 * case (a call's per-try link under the request's scope under its deadline), costs no EventTarget
 * listener to add and remove.
 */
class Link implements LinkedSignal {
  readonly #controller = new AbortController();
  readonly #parent: AbortSignal | undefined;
  readonly #other: AbortSignal | undefined;
  /**
   * Subscribed through {@link subscribe}, in order: the first on its own (most links have one at
   * most, and a Set per link would cost more than the EventTarget listener it replaces), the rest
   * in a Set made for the second.
   */
  #first: (() => void) | undefined;
  #rest: Set<() => void> | undefined;
  // One listener per parent, each passing its own reason on; whichever aborts first wins.
  readonly #onParent = (): void => this.abort(this.#parent?.reason);
  readonly #onOther = (): void => this.abort(this.#other?.reason);

  constructor(parent: AbortSignal | undefined, other: AbortSignal | undefined) {
    this.#parent = parent;
    this.#other = other;
    (this.#controller.signal as Owned)[OWNER] = this;
    if (parent) subscribe(parent, this.#onParent);
    if (other) subscribe(other, this.#onOther);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    const signal = this.#controller.signal;
    if (signal.aborted) return;
    this.#controller.abort(reason);
    const first = this.#first;
    this.#first = undefined;
    if (first) call(first);
    const rest = this.#rest;
    if (!rest) return;
    // Kept while they run: one may unsubscribe another that has not run yet.
    callEach(rest);
    rest.clear();
    this.#rest = undefined;
  }

  dispose(): void {
    if (this.#parent) unsubscribe(this.#parent, this.#onParent);
    if (this.#other) unsubscribe(this.#other, this.#onOther);
  }

  /** `listener` called once when this link aborts; never when it already has (as EventTarget). */
  listen(listener: () => void): void {
    // Aborted already, or there already (EventTarget too adds a listener once).
    if (this.#controller.signal.aborted || listener === this.#first) return;
    // The first slot only while no other waits: a later listener must not run before earlier ones.
    if (this.#first === undefined && !this.#rest?.size) this.#first = listener;
    else (this.#rest ??= new Set()).add(listener);
  }

  /** Undoes {@link listen}. */
  unlisten(listener: () => void): void {
    if (this.#first === listener) this.#first = undefined;
    else this.#rest?.delete(listener);
  }

  /** Listeners waiting, for leak checks. */
  get listening(): number {
    return (this.#first ? 1 : 0) + (this.#rest?.size ?? 0);
  }
}

/**
 * On each link's signal, its link: {@link subscribe} hands a listener to the link instead of the
 * signal. A property rather than a WeakMap, whose entries cost a hash insert per link and work at
 * every garbage collection.
 */
const OWNER = Symbol('tributary.link');
type Owned = AbortSignal & { [OWNER]?: Link };
const ownerOf = (signal: AbortSignal): Link | undefined => (signal as Owned)[OWNER];

/** Calls each listener in order; one that throws does not stop the others. */
function callEach(listeners: Set<() => void>): void {
  for (const listener of listeners) call(listener);
}

/** Calls a listener; what it throws is thrown later, on its own, as EventTarget does. */
function call(listener: () => void): void {
  try {
    listener();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

/** Signals declared shared ({@link shareSignal}), with the listeners their one real listener calls. */
const hubs = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Declares `signal`, a signal from elsewhere, shared by many short-lived listeners: the server's
 * shutdown cutoff (one per request in flight). Node's EventTarget walks a signal's whole listener
 * list on every add, so n listeners added one by one cost O(n²): about 2.7 µs per call in a
 * 1000-call fan-out. A shared signal keeps them in a Set behind one listener of its own instead;
 * {@link linkSignal} and the semaphore's waiters subscribe through it. Only for long-lived
 * signals with many listeners: the Set and its entry cost more than a short list. A link's own
 * signal (a request's scope) needs none of this, and is left as it is.
 *
 * @example
 * const cutoff = new AbortController();
 * shareSignal(cutoff.signal); // every request's deadline links to it
 */
export function shareSignal(signal: AbortSignal): void {
  // A link's signal needs no hub: its link calls its listeners itself.
  if (signal.aborted || hubs.has(signal) || ownerOf(signal)) return;
  const listeners = new Set<() => void>();
  hubs.set(signal, listeners);
  signal.addEventListener(
    'abort',
    () => {
      // In the order they subscribed, as EventTarget calls them.
      callEach(listeners);
      listeners.clear();
    },
    { once: true },
  );
}

/**
 * `listener` called once when `signal` aborts: by the link itself when the signal is a
 * {@link linkSignal}'s, through its hub when the signal is shared, else as an EventTarget listener.
 */
export function subscribe(signal: AbortSignal, listener: () => void): void {
  const link = ownerOf(signal);
  if (link) return link.listen(listener);
  const hub = hubs.get(signal);
  if (hub) hub.add(listener);
  else signal.addEventListener('abort', listener, { once: true });
}

/** Undoes {@link subscribe}; nothing if the listener already ran or was never there. */
export function unsubscribe(signal: AbortSignal, listener: () => void): void {
  const link = ownerOf(signal);
  if (link) {
    link.unlisten(listener);
    return;
  }
  // A listener subscribed before the signal was shared is on the signal itself.
  if (!hubs.get(signal)?.delete(listener)) signal.removeEventListener('abort', listener);
}

/** How many listeners wait on a shared signal's hub; undefined for a signal not shared. For leak checks. */
export function sharedListeners(signal: AbortSignal): number | undefined {
  return hubs.get(signal)?.size;
}

/** How many {@link subscribe} listeners wait on a link's signal; undefined for a signal no link made. For leak checks. */
export function linkListeners(signal: AbortSignal): number | undefined {
  return ownerOf(signal)?.listening;
}

/**
 * Resolves after `ms`, or rejects at once with `signal.reason` when the signal aborts.
 * Leaves no timer and no listener behind in either path.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      cancelTimer();
      reject(signal?.reason);
    };
    const cancelTimer = startTimer(() => {
      if (signal) unsubscribe(signal, onAbort);
      resolve();
    }, ms);
    if (signal) subscribe(signal, onAbort);
  });
}
