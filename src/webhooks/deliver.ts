import { webhookHeaders } from './sign.ts';

export interface WebhookEvent {
  id: string;
  type: string;
  occurredAt: Date;
  data: unknown;
}

export type DeliveryOutcome =
  | { delivered: true; status: number }
  /** `error` is content-free (a status, a timeout, a refused connection): it goes to the admin view. */
  | { delivered: false; status: number | null; error: string };

/** The event's body (docs/reference.md, "Where bytes live, webhooks, traces"), the same bytes on every attempt. */
export function webhookBody(event: WebhookEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.occurredAt.toISOString(), data: event.data });
}

/**
 * One attempt: POST, signed with a fresh timestamp, within `timeoutMs`. A 2xx is
 * delivered; anything else is a failed attempt to retry — a 3xx included: redirects are
 * not followed, so a compromised or misconfigured receiver cannot bounce a signed event
 * (and its data) to another host. The URL comes from configuration only.
 */
export async function deliverWebhook(
  target: { url: string; key: Buffer; timeoutMs: number },
  event: WebhookEvent,
  fetchImpl: typeof fetch = fetch,
): Promise<DeliveryOutcome> {
  const body = webhookBody(event);
  let response: Response;
  try {
    response = await fetchImpl(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'tally-webhooks',
        ...webhookHeaders(target.key, event.id, body),
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(target.timeoutMs),
    });
  } catch (error) {
    return { delivered: false, status: null, error: describeFailure(error, target.timeoutMs) };
  }
  // The answer's body is not read (a receiver could send anything, of any size).
  void response.body?.cancel().catch(() => undefined);
  if (response.status >= 200 && response.status < 300) return { delivered: true, status: response.status };
  const error =
    response.status >= 300 && response.status < 400 ? 'redirect not followed' : `HTTP ${response.status}`;
  return { delivered: false, status: response.status, error };
}

function describeFailure(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; cause?: { code?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const code = e.cause?.code;
  return typeof code === 'string' && /^[A-Z_]+$/.test(code)
    ? `connection failed (${code})`
    : 'connection failed';
}
