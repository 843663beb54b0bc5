/**
 * Request smuggling variants on a real socket: each gets one 400 and a closed connection, so no
 * second request hidden in the first ever reaches an endpoint.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from './gateway-server.ts';

let gw: RunningGateway;
beforeAll(async () => {
  gw = await startGateway({
    upstreams: { u: { baseUrl: 'http://127.0.0.1:9' } },
    endpoints: [{ method: 'POST', path: '/x', input: { body: { a: { type: 'string' } } }, calls: { a: { upstream: 'u', path: '/a' } } }],
  });
});
afterAll(async () => {
  await gw.close();
});

/** Sends raw bytes, returns everything the server wrote before it closed the connection (bounded). */
function raw(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(bytes));
    let out = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (out += chunk));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
    socket.setTimeout(3000, () => {
      socket.destroy();
      reject(new Error(`no close within 3 s; got: ${out.slice(0, 200)}`));
    });
  });
}

const hidden = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';

describe('request smuggling', () => {
  it.each([
    ['Content-Length and Transfer-Encoding together', `POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${hidden}`],
    ['two different Content-Length headers', `POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\n{}\r\n${hidden}`],
    ['an obfuscated Transfer-Encoding', `POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${hidden}`],
    ['a bare LF in a header line', `POST /x HTTP/1.1\r\nHost: x\nContent-Length: 2\r\n\r\n{}${hidden}`],
  ])('%s: one 400, the connection closed, the hidden request never answered', async (_name, bytes) => {
    const answer = await raw(gw.url, bytes);
    const statuses = [...answer.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => m[1]);
    expect(statuses).toEqual(['400']);
  });
});
