// The app's backend mints a browser token for its signed-in user.
import { createBrowserToken, type Scope } from '@tally/tokens';

const scopes: Scope[] = ['upload', 'read'];

export async function tokenFor(
  user: string,
  signingKeys: string,
): Promise<{ token: string; expiresAt: string }> {
  return createBrowserToken({ owner: user, scopes, ttlSeconds: 300, signingKey: signingKeys });
}
