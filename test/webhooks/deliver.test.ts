import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { deliverWebhook, webhookBody, type WebhookEvent } from '../../src/webhooks/deliver.ts';
import { webhookHeaders } from '../../src/webhooks/sign.ts';

// One delivery attempt against real sockets: what counts as delivered, and what does not.

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
const event: WebhookEvent = {
  id: '0b6f5f8e-6a43-4b8e-9a55-2f1e4f0c9d11',
  type: 'job.completed',
  occurredAt: new Date('2026-12-03T20:00:00Z'),
  data: { jobId: 'x', state: 'completed' },
};

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

describe('one webhook attempt', () => {
  it('does not follow a redirect: the target is never hit and the attempt fails', async () => {
    let targetHits = 0;
    const base = await serve((req, res) => {
      if (req.url === '/elsewhere') {
        targetHits += 1;
        res.writeHead(204).end();
      } else res.writeHead(307, { location: '/elsewhere' }).end();
    });
    const outcome = await deliverWebhook({ url: `${base}/hook`, key, timeoutMs: 2000 }, event);
    expect(outcome).toEqual({ delivered: false, status: 307, error: 'redirect not followed' });
    expect(targetHits).toBe(0);
  });

  it('gives up an attempt at its timeout', async () => {
    const base = await serve(() => undefined); // never answers
    const outcome = await deliverWebhook({ url: base, key, timeoutMs: 200 }, event);
    expect(outcome).toEqual({ delivered: false, status: null, error: 'no answer within 200 ms' });
  });

  it('signs each attempt with a fresh timestamp under the same id, and both verify', () => {
    const body = webhookBody(event);
    const first = webhookHeaders(key, event.id, body, Date.now() - 120_000);
    const retry = webhookHeaders(key, event.id, body);
    expect(retry['webhook-id']).toBe(first['webhook-id']);
    expect(retry['webhook-timestamp']).not.toBe(first['webhook-timestamp']);
    const verifier = new Webhook(SECRET);
    expect(() => verifier.verify(body, first)).not.toThrow();
    expect(() => verifier.verify(body, retry)).not.toThrow();
  });
});
