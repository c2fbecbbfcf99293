import { createBrowserToken } from '@tally/tokens';
import { NextResponse } from 'next/server';
import { currentUser } from '../../session';

/**
 * Mints a short-lived Tally token for the signed-in user: the browser never holds an API
 * key, and Tally sees the user as the owner of the jobs. TOKEN_SIGNING_KEYS is the same
 * value Tally is configured with (the first key signs).
 */
export async function POST() {
  const user = await currentUser();
  if (!user) return NextResponse.json({ error: 'Sign in first.' }, { status: 401 });
  const signingKey = process.env.TOKEN_SIGNING_KEYS;
  if (!signingKey) return NextResponse.json({ error: 'TOKEN_SIGNING_KEYS is not set.' }, { status: 500 });
  const issued = await createBrowserToken({
    owner: user,
    scopes: ['upload', 'read'],
    ttlSeconds: Number(process.env.TALLY_TOKEN_TTL_SECONDS ?? 300),
    signingKey,
  });
  return NextResponse.json(issued, { headers: { 'cache-control': 'no-store' } });
}
