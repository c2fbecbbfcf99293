/** `@tally/tokens`: the server-side half of browser tokens, for the app's own backend. */
export { createBrowserToken } from '../../src/auth/create-browser-token.ts';
export type { BrowserToken, CreateBrowserTokenOptions } from '../../src/auth/create-browser-token.ts';
export { SCOPES, TOKEN_AUDIENCE, type Scope } from '../../src/auth/scopes.ts';
export { parseSigningKeys, type SigningKey } from '../../src/auth/signing-keys.ts';
