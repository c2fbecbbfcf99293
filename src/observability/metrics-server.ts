import http from 'node:http';
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { countJobsInFlight } from './count-jobs-in-flight.ts';
import { registry, setJobsInFlight } from './metrics.ts';
import { createReadinessCheck } from './readiness.ts';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * `GET /metrics` and `GET /readyz` for a worker-only process (METRICS_PORT), which has no
 * Fastify server: job duration, queue wait and rows are recorded where jobs run, so
 * without this a scaled-out deployment would never see them. Plain node:http: two routes
 * do not need a framework.
 */
export async function startMetricsServer(
  db: Db,
  host: string,
  port: number,
  log: Logger,
): Promise<MetricsServer> {
  const readiness = createReadinessCheck(db.kysely);
  const server = http.createServer((req, res) => {
    const send = (status: number, type: string, body: string) =>
      res.writeHead(status, { 'content-type': type }).end(body);
    const handle = async () => {
      if (req.method === 'GET' && req.url === '/metrics') {
        try {
          setJobsInFlight(await countJobsInFlight(db.kysely));
        } catch (error) {
          log.warn({ err: error }, 'could not count jobs for /metrics');
        }
        send(200, registry.contentType, await registry.metrics());
      } else if (req.method === 'GET' && req.url === '/readyz') {
        const state = await readiness();
        send(state.ready ? 200 : 503, 'application/json', JSON.stringify(state));
      } else {
        send(
          404,
          'application/json',
          JSON.stringify({ error: { code: 'NOT_FOUND', message: 'Try /metrics.' } }),
        );
      }
    };
    handle().catch((error: unknown) => {
      log.error({ err: error }, 'metrics request failed');
      if (!res.headersSent) send(500, 'text/plain', 'internal error');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  log.info({ url }, 'metrics listening');
  return {
    url,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
