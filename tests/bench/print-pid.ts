// For pinning.test.ts: a child that says which process it is, then waits to be stopped.
console.log(process.pid);
setInterval(() => {}, 60_000);
