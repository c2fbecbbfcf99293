import { createContext, useContext } from 'react';
import { createTallyClient, type TallyClient } from '../../client/index.ts';

/** Everything the page's components share: one client, the polling bounds, auth trouble. */
export interface TallyContextValue {
  client: TallyClient;
  polling: PollingSettings;
  /** Call when a request was refused with 401: the page asks for a token. */
  onUnauthorized: () => void;
}

export const TallyContext = createContext<TallyContextValue | null>(null);

export function useTally(): TallyContextValue {
  const value = useContext(TallyContext);
  if (!value) throw new Error('useTally() outside <TallyContext>');
  return value;
}

const TOKEN_KEY = 'tally.apiToken';

export function readToken(): string | undefined {
  try {
    return localStorage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    return undefined; // storage disabled
  }
}

export function saveToken(token: string | undefined): void {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the token lives for this page only
  }
}

/** The page is served by Tally itself: same origin, so the base URL is ''. */
export function makeClient(token: string | undefined): TallyClient {
  return createTallyClient({ baseUrl: '', ...(token ? { token } : {}) });
}

export interface PollingSettings {
  pollIntervalMs: number;
  maxPolls: number;
}

/**
 * One status check a second (progress reads smoothly; a quiet job still costs one
 * request a second at most thanks to the long poll) for up to an hour.
 * `?pollMs=…&maxPolls=…` overrides both, e.g. to see the timeout message.
 */
export const DEFAULT_POLLING: PollingSettings = { pollIntervalMs: 1000, maxPolls: 3600 };

export function pollingFromSearch(search: string): PollingSettings {
  const params = new URLSearchParams(search);
  const int = (name: string, min: number, max: number): number | undefined => {
    const raw = params.get(name);
    if (raw === null || !/^\d+$/.test(raw)) return undefined;
    return Math.min(max, Math.max(min, Number(raw)));
  };
  return {
    pollIntervalMs: int('pollMs', 100, 60_000) ?? DEFAULT_POLLING.pollIntervalMs,
    maxPolls: int('maxPolls', 1, 100_000) ?? DEFAULT_POLLING.maxPolls,
  };
}
