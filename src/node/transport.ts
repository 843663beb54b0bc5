import { Agent, fetch as undiciFetch } from 'undici';
import type { Fetcher } from '../services/upstream-client.ts';

export interface NodeTransportOptions {
  /** Connections per upstream origin. */
  connectionsPerOrigin?: number;
  keepAliveTimeoutMs?: number;
}

/**
 * One undici Agent for the whole process: keep-alive connections reused across requests,
 * capped per origin. undici's own fetch is used because Node's global fetch refuses an
 * Agent from a newer undici as its dispatcher.
 */
export function createNodeTransport(options: NodeTransportOptions = {}): { fetcher: Fetcher; close: () => Promise<void> } {
  const agent = new Agent({
    connections: options.connectionsPerOrigin ?? 128,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 10_000,
    keepAliveMaxTimeout: 60_000,
  });
  const fetcher: Fetcher = (url, init) =>
    undiciFetch(url, { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher: agent }) as unknown as Promise<Response>;
  return { fetcher, close: () => agent.close() };
}
