import { currentUser } from './session';
import { TallyPanel } from './tally-panel';

// Reads the session cookie and TALLY_URL on every request.
export const dynamic = 'force-dynamic';

export default async function Home() {
  const user = await currentUser();
  if (!user) {
    return (
      <main>
        <h1>Revenue, analysed by Tally</h1>
        <form method="post" action="/sign-in">
          <label>
            Sign in as <input name="name" aria-label="User name" required pattern="[a-z0-9._\-]{1,32}" />
          </label>{' '}
          <button type="submit">Sign in</button>
        </form>
      </main>
    );
  }
  return (
    <main>
      <h1>Revenue, analysed by Tally</h1>
      <form method="post" action="/sign-out">
        Signed in as <strong data-testid="user">{user}</strong> <button type="submit">Sign out</button>
      </form>
      <TallyPanel tallyUrl={process.env.TALLY_URL ?? 'http://127.0.0.1:3000'} />
    </main>
  );
}
