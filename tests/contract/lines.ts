/** Reading a streamed body as a client does; runtime-agnostic (Node and workerd). */

/** Reads a body line by line, noting when (client clock, ms since `start`) each line arrived. */
export async function* timedLines(body: ReadableStream<Uint8Array>, start: number): AsyncGenerator<{ line: string; at: number }> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        yield { line, at: performance.now() - start };
      }
    }
  } finally {
    reader.releaseLock();
  }
}
