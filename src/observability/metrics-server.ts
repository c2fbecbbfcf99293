import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import { contractErrorOptions, contractErrorsPlugin } from '../http/contract-errors.ts';
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { operationsPlugin } from './operations-plugin.ts';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * `/healthz`, `/readyz` and `/metrics` for a worker-only process (METRICS_PORT), which has
 * no API server: job duration, queue wait and rows are recorded where jobs run, so without
 * this a scaled-out deployment would never see them. The same plugin as the API's, so the
 * two ports answer alike.
 */
export async function startMetricsServer(
  healthDb: Db,
  host: string,
  port: number,
  log: Logger,
  isDraining: () => boolean = () => false,
): Promise<MetricsServer> {
  const loggerInstance: FastifyBaseLogger = log.child({ component: 'metrics' });
  const app = Fastify({
    loggerInstance,
    logController: new LogController({ disableRequestLogging: true }),
    ...contractErrorOptions,
  });
  await app.register(contractErrorsPlugin, {});
  await app.register(operationsPlugin, { healthDb, isDraining });
  const url = await app.listen({ host, port });
  log.info({ url }, 'metrics listening');
  return { url, close: () => app.close() };
}
