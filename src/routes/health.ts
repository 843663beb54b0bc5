import type { Hono } from 'hono';
import type { AppEnv } from './errors.ts';

/** `GET /healthz`: the process is up and its plan compiled. */
export function registerHealth(app: Hono<AppEnv>, endpoints: number): void {
  app.get('/healthz', (c) => {
    c.set('route', '/healthz');
    return c.json({ status: 'ok', endpoints });
  });
}
