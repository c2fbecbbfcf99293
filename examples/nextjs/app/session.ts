import { cookies } from 'next/headers';

/** The example's "sign-in": a cookie with the user's name. A real app has real auth. */
export const SESSION_COOKIE = 'example_user';
export const USER_NAME = /^[a-z0-9._-]{1,32}$/;

export async function currentUser(): Promise<string | undefined> {
  const value = (await cookies()).get(SESSION_COOKIE)?.value;
  return value && USER_NAME.test(value) ? value : undefined;
}
