import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A loopback port nobody listens on right now, for a process a test starts. Picked below the
 * kernel's ephemeral range (Linux: `ip_local_port_range`, 32768–60999 by default): a port the
 * kernel hands out for `listen(0)` or for any outgoing connection could be taken again between
 * this check and the child's own `listen` (a test once failed with EADDRINUSE that way); a port
 * outside that range is only ever taken by someone who chose it.
 */
export async function freePort(): Promise<number> {
  const [low, high] = ephemeralRange();
  // Below the range where there is room (the default), else above it.
  let top = low - 1;
  let bottom = Math.max(1024, top - 12_000);
  if (top - bottom < 1000) [bottom, top] = [high + 1, 65535];
  for (let tries = 0; tries < 200; tries++) {
    const port = bottom + Math.floor(Math.random() * (top - bottom + 1));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free loopback port found in ${bottom}–${top} after 200 tries`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** The kernel's ephemeral port range; Linux's default where it cannot be read. */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low && high && low <= high) return [low, high];
  } catch {
    // Not Linux, or /proc not mounted.
  }
  return [32768, 60999];
}
