import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_RATE_BUCKETS,
  OwnerRateLimit,
  callsInRequest,
  rateKeyOfAddress,
} from '../../src/api/owner-rate-limit.ts';
import { loadConfig } from '../../src/config.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';

/**
 * Rate limits count calls, not HTTP requests (docs/reference.md, "Watching and managing jobs"); TRUST_PROXY decides whose
 * address an anonymous caller has; the bucket map is bounded.
 */
const KEY = 'rate-limit-test-key-4b7e1c9a2d';

describe('OwnerRateLimit (a fixed clock)', () => {
  it('a batch of N calls costs N', () => {
    let t = 0;
    const rate = new OwnerRateLimit(5, () => t); // burst 10
    rate.take('a', 8);
    expect(() => rate.take('a', 3)).toThrow(/a batch of N calls counts N/);
    rate.take('a', 2); // the refused batch took nothing
    expect(() => rate.take('a', 1)).toThrow(/Too many calls/);
    t += 1000; // 5 calls back
    rate.take('a', 5);
    expect(() => rate.take('a', 1)).toThrow();
  });

  it('a batch larger than the burst is refused with a message saying so', () => {
    const rate = new OwnerRateLimit(5, () => 0);
    expect(() => rate.take('a', 11)).toThrow(/batches 11 calls, more than the 10/);
  });

  it('holds at most maxBuckets: the least recently used bucket goes, in O(1)', () => {
    let t = 0;
    const rate = new OwnerRateLimit(1, () => t, 3); // burst 2
    rate.take('a', 2); // a: empty
    rate.take('b');
    rate.take('c');
    rate.take('a', 0); // a used again: now the most recent (and still empty)
    t += 1; // (1 ms: refills nothing that matters)
    rate.take('d'); // at the cap: b, the least recently used, goes
    expect(rate.size).toBe(3);
    expect(() => rate.take('a')).toThrow(/Too many calls/); // a was kept, still empty
    rate.take('b', 2); // b starts over with a full bucket
    expect(rate.size).toBe(3);
  });

  it('100,000 distinct addresses leave the map at its cap, and each new one costs O(1)', () => {
    const rate = new OwnerRateLimit(200, () => 0);
    const started = performance.now();
    for (let i = 0; i < MAX_RATE_BUCKETS + 50_000; i++) rate.take(`ip:${i}`);
    const ms = performance.now() - started;
    expect(rate.size).toBe(MAX_RATE_BUCKETS);
    // A linear scan per new key at the cap would be 50,000 × 100,000 steps (minutes).
    expect(ms).toBeLessThan(10_000);
  });
});

describe('what a request costs and whose it is', () => {
  it.each([
    ['/trpc/jobs.status?input=%7B%7D', 1],
    ['/trpc/jobs.status', 1],
    ['/trpc/jobs.status,jobs.list,jobs.result?batch=1&input=%7B%7D', 3],
    [`/trpc/${Array.from({ length: 90 }, () => 'jobs.status').join(',')}?batch=1`, 90],
    ['/trpc/jobs.status?input=%7B%22a%22%3A%22x,y%22%7D', 1], // a comma in the input is no call
  ])('%s is %i call(s)', (url, calls) => {
    expect(callsInRequest(url)).toBe(calls);
  });

  it('keys IPv6 callers by their /64, IPv4 by address', () => {
    expect(rateKeyOfAddress('2001:db8:1:2:aaaa::1')).toBe(
      rateKeyOfAddress('2001:db8:1:2:bbbb:cccc:dddd:eeee'),
    );
    expect(rateKeyOfAddress('2001:db8:1:2::1')).toBe('ip6:2001:db8:1:2::/64');
    expect(rateKeyOfAddress('2001:db8:1:3::1')).not.toBe(rateKeyOfAddress('2001:db8:1:2::1'));
    expect(rateKeyOfAddress('::1')).toBe('ip6:0:0:0:0::/64');
    expect(rateKeyOfAddress('203.0.113.7')).toBe('ip:203.0.113.7');
    expect(rateKeyOfAddress('::ffff:203.0.113.7')).toBe('ip:::ffff:203.0.113.7');
  });
});

describe('TRUST_PROXY configuration', () => {
  const load = (TRUST_PROXY: string) => loadConfig({ TRUST_PROXY });
  it.each([
    ['true', true],
    ['false', false],
    ['1', 1],
    ['2', 2],
    ['10.0.0.0/8', ['10.0.0.0/8']],
    ['10.0.0.1, fd00::/8,loopback', ['10.0.0.1', 'fd00::/8', 'loopback']],
  ])('accepts %s', (value, parsed) => {
    expect(load(value).TRUST_PROXY).toEqual(parsed);
  });
  it('is off when unset', () => {
    expect(loadConfig({}).TRUST_PROXY).toBe(false);
  });
  it.each(['0', '33', 'yes', '10.0.0.0/33', 'fd00::/129', '10.0.0', 'proxy.example', '10.0.0.0/8/1'])(
    'refuses %s, naming the variable',
    (value) => {
      expect(() => load(value)).toThrow(/TRUST_PROXY/);
    },
  );
});

describe('over HTTP', () => {
  let tally: TestTally;
  let proxied: TestTally;
  beforeAll(async () => {
    const env = { API_TOKENS: `alice:${KEY}`, TRPC_RATE_LIMIT_PER_SECOND: '1' }; // burst 2
    [tally, proxied] = await Promise.all([
      startTestTally({ env }),
      startTestTally({ env: { ...env, TRUST_PROXY: '127.0.0.1' } }),
    ]);
  });
  afterAll(() => Promise.all([tally?.stop(), proxied?.stop()]));

  const batch = (base: string, calls: number, headers: Record<string, string>) => {
    const paths = Array.from({ length: calls }, () => 'jobs.list').join(',');
    const input = Object.fromEntries(Array.from({ length: calls }, (_, i) => [i, {}]));
    return fetch(`${base}/trpc/${paths}?batch=1&input=${encodeURIComponent(JSON.stringify(input))}`, {
      headers,
    });
  };

  it('a batch of N calls costs N: two batches of 2 exhaust a burst of 2', async () => {
    const auth = { authorization: `Bearer ${KEY}` };
    const first = await batch(tally.url, 2, auth);
    expect(first.status).toBe(200);
    const second = await batch(tally.url, 2, auth);
    expect(second.status).toBe(429);
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await second.json()) as { error: { data: { code: string } } };
    expect(body.error.data.code).toBe('RATE_LIMITED');
  });

  it('a batch over the burst is refused whole', async () => {
    const res = await batch(tally.url, 3, { authorization: 'Bearer nobody-in-particular' });
    expect(res.status).toBe(429);
  });

  // Anonymous callers (no valid token) are keyed by address: X-Forwarded-For counts only
  // from a trusted proxy (here the test itself, 127.0.0.1).
  const anonymous = (base: string, forwardedFor: string) =>
    fetch(`${base}/trpc/jobs.list?input=%7B%7D`, { headers: { 'x-forwarded-for': forwardedFor } });

  it('TRUST_PROXY=127.0.0.1: two clients behind the proxy have a bucket each', async () => {
    expect((await anonymous(proxied.url, '203.0.113.1')).status).toBe(401);
    expect((await anonymous(proxied.url, '203.0.113.1')).status).toBe(401);
    expect((await anonymous(proxied.url, '203.0.113.1')).status).toBe(429);
    expect((await anonymous(proxied.url, '203.0.113.2')).status).toBe(401); // its own bucket
  });

  it('without TRUST_PROXY the header is ignored: a forged X-Forwarded-For buys no new bucket', async () => {
    expect((await anonymous(tally.url, '198.51.100.1')).status).toBe(401);
    expect((await anonymous(tally.url, '198.51.100.2')).status).toBe(401);
    expect((await anonymous(tally.url, '198.51.100.3')).status).toBe(429);
  });
});
