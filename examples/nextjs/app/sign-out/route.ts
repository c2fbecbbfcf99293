import { NextResponse, type NextRequest } from 'next/server';
import { SESSION_COOKIE, isSameOrigin, sessionCookieOptions } from '../session';

export function POST(request: NextRequest) {
  if (!isSameOrigin(request)) {
    return NextResponse.json({ error: 'Sign out from this site’s own page.' }, { status: 403 });
  }
  // A relative Location: behind `next dev` request.url says localhost whatever host was asked.
  const response = new NextResponse(null, { status: 303, headers: { location: '/' } });
  response.cookies.set(SESSION_COOKIE, '', {
    ...sessionCookieOptions(request.headers.get('host')),
    maxAge: 0,
  });
  return response;
}
