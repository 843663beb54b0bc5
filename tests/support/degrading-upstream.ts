/**
 * The bench's degrading upstream (bench/lib/degrading-model.ts) on a loopback port, for
 * integration tests: GET /items/<id>, /__stats, /__stats/reset.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { degradingHandler, type DegradingStats } from '../../bench/lib/degrading-upstream.ts';
import type { DegradingModel } from '../../bench/lib/degrading-model.ts';

export interface DegradingUpstream {
  url: string;
  stats(): DegradingStats;
  reset(): void;
  close(): Promise<void>;
}

export async function startDegradingUpstream(model: DegradingModel): Promise<DegradingUpstream> {
  const handler = degradingHandler(model);
  const server = createServer({ keepAliveTimeout: 5_000 }, handler.handle);
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 1024 }, resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats: handler.stats,
    reset: handler.reset,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
