import { NextResponse } from 'next/server';
import { SESSION_COOKIE } from '../session';

export function POST() {
  // A relative Location: behind `next dev` request.url says localhost whatever host was asked.
  const response = new NextResponse(null, { status: 303, headers: { location: '/' } });
  response.cookies.delete(SESSION_COOKIE);
  return response;
}
