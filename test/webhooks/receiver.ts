import { createServer, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';

/**
 * A webhook receiver as an app's backend would write one: every delivery verified with the
 * `standardwebhooks` package (not our code), each `webhook-id` accepted once.
 */
export interface Delivery {
  id: string;
  headers: Record<string, string>;
  body: string;
}

export interface Receiver {
  url: string;
  /** Accepted deliveries, in order, one per id. */
  accepted: Delivery[];
  /** Deliveries of an id already accepted (answered 200 and dropped, as a receiver should). */
  duplicates: Delivery[];
  /** Deliveries the verifier refused. */
  refused: { delivery: Delivery; reason: string }[];
  /** Verified deliveries answered 503 because their id is in `refuseOnce` and came first. */
  turnedAway: Delivery[];
  /** Stops answering: the port is closed and open connections are cut. */
  kill(): Promise<void>;
  /** Listens again on the same port. */
  revive(): Promise<void>;
}

/** `refuseOnce`: ids answered 503 the first time they come (a receiver's passing outage). */
export async function startReceiver(
  secret: string,
  port = 0,
  refuseOnce: ReadonlySet<string> = new Set(),
): Promise<Receiver> {
  const verifier = new Webhook(secret);
  const accepted: Delivery[] = [];
  const duplicates: Delivery[] = [];
  const refused: Receiver['refused'] = [];
  const turnedAway: Delivery[] = [];
  const seen = new Set<string>();
  let server: Server;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const headers = Object.fromEntries(
            Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
          );
          const delivery: Delivery = {
            id: headers['webhook-id'] ?? '',
            headers,
            body: Buffer.concat(chunks).toString(),
          };
          try {
            verifier.verify(delivery.body, headers);
          } catch (error) {
            refused.push({ delivery, reason: (error as Error).message });
            res.writeHead(400).end();
            return;
          }
          if (refuseOnce.has(delivery.id) && !turnedAway.some((d) => d.id === delivery.id)) {
            turnedAway.push(delivery);
            res.writeHead(503).end();
            return;
          }
          if (seen.has(delivery.id)) duplicates.push(delivery);
          else {
            seen.add(delivery.id);
            accepted.push(delivery);
          }
          res.writeHead(204).end();
        });
      });
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        if (typeof address === 'object' && address) port = address.port;
        resolve();
      });
    });
  await listen();
  return {
    url: `http://127.0.0.1:${port}/hooks/tally`,
    accepted,
    duplicates,
    refused,
    turnedAway,
    kill: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    revive: listen,
  };
}
