export * from './abort.ts';
export * from './clock.ts';
export * from './deadline.ts';
export * from './errors.ts';
export * from './scope.ts';
export * from './semaphore.ts';
export * from './timeout.ts';
