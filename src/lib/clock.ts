/** A monotonic clock in milliseconds. Injected where tests need to control time. */
export type Clock = () => number;

export const monotonic: Clock = () => performance.now();
