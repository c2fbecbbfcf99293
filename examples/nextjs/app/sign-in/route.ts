import { NextResponse, type NextRequest } from 'next/server';
import { SESSION_COOKIE, USER_NAME, isSameOrigin, sessionCookieOptions, sessionValue } from '../session';

/** POST name=<user>: signs in as that user (a signed cookie) and goes back to the page. */
export async function POST(request: NextRequest) {
  if (!isSameOrigin(request)) {
    return NextResponse.json({ error: 'Sign in from this site’s own page.' }, { status: 403 });
  }
  const name = String((await request.formData()).get('name') ?? '')
    .trim()
    .toLowerCase();
  // A relative Location: behind `next dev` request.url says localhost whatever host was asked.
  const response = new NextResponse(null, { status: 303, headers: { location: '/' } });
  if (USER_NAME.test(name)) {
    response.cookies.set(
      SESSION_COOKIE,
      sessionValue(name),
      sessionCookieOptions(request.headers.get('host')),
    );
  }
  return response;
}
