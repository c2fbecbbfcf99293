import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

const GOOD_SECRET = 'f3b1c9a27d4e58f60a1b2c3d4e5f60718293a4b5c6d7e8f9';

function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe('start-up refusals of the auth configuration', () => {
  it('the same token for two owners', () => {
    const message = refusal({ API_TOKENS: 'alice:T0k3n-9f8e7d6c5b4a,bob:T0k3n-9f8e7d6c5b4a' });
    expect(message).toMatch(/API_TOKENS: owners "alice" and "bob" have the same token/);
    expect(message).not.toContain('T0k3n-9f8e7d6c5b4a');
  });

  it('an owner named "local" (reserved for auth-off mode)', () => {
    expect(refusal({ API_TOKENS: 'local:9f8e7d6c5b4a3f2e1d0c' })).toMatch(
      /API_TOKENS: owner "local" is reserved/,
    );
  });

  it('a low-entropy token (16 identical characters)', () => {
    const message = refusal({ API_TOKENS: 'alice:aaaaaaaaaaaaaaaa' });
    expect(message).toMatch(/API_TOKENS: the token of owner "alice" looks like a placeholder/);
    expect(message).not.toContain('aaaaaaaaaaaaaaaa');
  });

  it('accepts distinct random tokens', () => {
    const config = loadConfig({ API_TOKENS: 'alice:9f8e7d6c5b4a3f2e1d0c,bob:0c1d2e3f4a5b6c7d8e9f' });
    expect([...(config.API_TOKENS?.values() ?? [])]).toEqual(['alice', 'bob']);
  });
});

describe('TOKEN_SIGNING_KEYS', () => {
  it('parses kid:secret pairs, first key first', () => {
    const config = loadConfig({
      TOKEN_SIGNING_KEYS: `k2:${GOOD_SECRET},k1:${[...GOOD_SECRET].reverse().join('')}`,
    });
    expect(config.TOKEN_SIGNING_KEYS?.map((k) => k.id)).toEqual(['k2', 'k1']);
  });

  it.each([
    ['no kid', GOOD_SECRET.slice(0, 40), /entry 1 must be kid:secret/],
    ['a short secret', 'k1:0123456789abcdef', /secret of key "k1" is shorter than 32 bytes/],
    ['a placeholder secret', `k1:${'x'.repeat(40)}`, /secret of key "k1" looks like a placeholder/],
    [
      'a kid given twice',
      `k1:${GOOD_SECRET},k1:${[...GOOD_SECRET].reverse().join('')}`,
      /key id "k1" is given twice/,
    ],
    ['one secret under two kids', `k1:${GOOD_SECRET},k2:${GOOD_SECRET}`, /repeats the secret/],
  ])('refuses %s, naming the variable and never the secret', (_what, value, expected) => {
    const message = refusal({ TOKEN_SIGNING_KEYS: value });
    expect(message).toMatch(/TOKEN_SIGNING_KEYS: /);
    expect(message).toMatch(expected);
    expect(message).not.toContain(GOOD_SECRET);
  });

  it('counts as auth for a non-loopback HOST', () => {
    expect(refusal({ HOST: '0.0.0.0' })).toMatch(/API_TOKENS: required/);
    expect(loadConfig({ HOST: '0.0.0.0', TOKEN_SIGNING_KEYS: `k1:${GOOD_SECRET}` }).HOST).toBe('0.0.0.0');
  });
});

describe('CORS_ORIGINS', () => {
  it('keeps exact origins; unset is none (same origin only)', () => {
    expect(loadConfig({}).CORS_ORIGINS).toEqual([]);
    expect(
      loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://127.0.0.1:5173' }).CORS_ORIGINS,
    ).toEqual(['https://app.example.com', 'http://127.0.0.1:5173']);
  });

  it.each([
    '*',
    'https://app.example.com/',
    'https://app.example.com/path',
    'app.example.com',
    'ftp://x.example',
    'https://*.example.com',
  ])('refuses %s', (value) => {
    expect(refusal({ CORS_ORIGINS: value })).toMatch(/CORS_ORIGINS: .* is not an exact origin/);
  });
});
