// Setup file of the workerd projects: fail loudly if the tests are not really inside workerd.
if (typeof navigator === 'undefined' || navigator.userAgent !== 'Cloudflare-Workers') {
  throw new Error(`the workerd projects must run inside workerd, but navigator.userAgent is ${globalThis.navigator?.userAgent}`);
}
