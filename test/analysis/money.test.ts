import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BIG,
  amountCurrencyToken,
  amountProblem,
  bigAmount,
  currencyOfToken,
  decimalEvidence,
  parseAmount,
} from '../../src/analysis/values/money.ts';
import { MoneySum, divRound, microToMoney, ratio } from '../../src/analysis/values/money-sum.ts';

/** [text, micro-units with a decimal point, currency token] */
const dotCases: [string, number, string][] = [
  ['0', 0, ''],
  ['12', 12_000_000, ''],
  ['12.5', 12_500_000, ''],
  ['12.50', 12_500_000, ''],
  ['.5', 500_000, ''],
  ['12.', 12_000_000, ''],
  ['-12.34', -12_340_000, ''],
  ['+12.34', 12_340_000, ''],
  ['(12.34)', -12_340_000, ''],
  ['( 12.34 )', -12_340_000, ''],
  ['12.34-', -12_340_000, ''], // SAP-style trailing minus
  ['−5', -5_000_000, ''], // U+2212 minus sign
  ['1,234.56', 1_234_560_000, ''],
  ['1,234,567.89', 1_234_567_890_000, ''],
  ['1 234.56', 1_234_560_000, ''],
  ['1\u00a0234.56', 1_234_560_000, ''], // no-break space
  ["1'234.56", 1_234_560_000, ''], // Swiss
  ['$1,234.56', 1_234_560_000, '$'],
  ['-$5.00', -5_000_000, '$'],
  ['$-5.00', -5_000_000, '$'],
  ['($5.00)', -5_000_000, '$'],
  ['USD 12', 12_000_000, 'USD'],
  ['12.00 EUR', 12_000_000, 'EUR'],
  ['12.00EUR', 12_000_000, 'EUR'],
  ['€5', 5_000_000, '€'],
  ['5 €', 5_000_000, '€'],
  ['£1,000', 1_000_000_000, '£'],
  ['US$ 9.99', 9_990_000, 'US$'],
  ['  42.42  ', 42_420_000, ''],
  ['0.000001', 1, ''],
  ['0.0000005', 1, ''], // 7th decimal rounds half away from zero
  ['-0.0000005', -1, ''],
  ['0.0000004', 0, ''],
  ['1.23456789', 1_234_568, ''],
];
it.each(dotCases)('parseAmount(%j) = %d micro, token %j', (text, micro, token) => {
  expect(parseAmount(text, false)).toBe(micro);
  expect(amountCurrencyToken).toBe(token);
});

const commaCases: [string, number][] = [
  ['1.234,56', 1_234_560_000],
  ['1234,56', 1_234_560_000],
  ['99,9', 99_900_000],
  ['-10,00', -10_000_000],
  ['1 234,56 €', 1_234_560_000],
  ['€ 50,5', 50_500_000],
  ['2.000', 2_000_000_000], // a dot groups thousands here
  ['(3,50)', -3_500_000],
];
it.each(commaCases)('parseAmount(%j, decimal comma) = %d micro', (text, micro) => {
  expect(parseAmount(text, true)).toBe(micro);
});

const notNumbers = [
  '',
  '   ',
  'abc',
  '12,x',
  '12.3.4',
  '1,23', // a group after the first must be 3 digits
  '1,2345',
  '12,34.56', // the group "34" has 2 digits
  '1.234,56', // with a decimal point a comma cannot follow the dot
  ',123',
  '--5',
  '(-5)',
  '- -5',
  'USD 5 EUR',
  '5 5',
  '1 234,567.89',
  '$',
  '()',
  'N/A',
];
it.each(notNumbers)('parseAmount(%j) is not a number', (text) => {
  expect(parseAmount(text, false)).toBeNaN();
});

it('"1,234" is a thousand with a decimal point and 1.234 with a decimal comma', () => {
  expect(parseAmount('1,234', false)).toBe(1_234_000_000);
  expect(parseAmount('1,234', true)).toBe(1_234_000);
});

it('takes the exact BigInt path for amounts beyond 2^52 micro-units', () => {
  expect(parseAmount('123456789012345.125', false)).toBe(BIG);
  expect(bigAmount).toBe(123_456_789_012_345_125_000n);
  expect(parseAmount('0000000000000000000012.50', false)).toBe(BIG); // leading zeros: exact, small
  expect(bigAmount).toBe(12_500_000n);
  expect(parseAmount('-9,999,999,999.99', false)).toBe(BIG);
  expect(bigAmount).toBe(-9_999_999_999_990_000n);
  expect(parseAmount('4503599627.370496', false)).toBe(4503599627370496); // 2^52 itself: fast
});

it('bounds digits instead of trusting Number: 10^15 and more is no amount', () => {
  expect(Number('1'.repeat(400))).toBe(Infinity);
  expect(parseAmount('1'.repeat(400), false)).toBeNaN();
  expect(parseAmount('1000000000000000', false)).toBeNaN();
  expect(parseAmount('1,000,000,000,000,000.00', false)).toBeNaN();
  expect(parseAmount('999999999999999.99', false)).toBe(BIG);
  expect(bigAmount).toBe(999_999_999_999_999_990_000n);
  expect(amountProblem('1'.repeat(400), false)).toMatch(/more than 15 digits/);
  expect(amountProblem('12 pcs', false)).toBe('is not a number');
});

it('reads currency codes in any case and three or four decimals exactly', () => {
  expect(parseAmount('usd 12.345', false)).toBe(12_345_000);
  expect(amountCurrencyToken).toBe('usd');
  expect(parseAmount('0.0001 Eur', false)).toBe(100);
  expect(parseAmount('957.5775', false)).toBe(957_577_500);
});

describe('currencyOfToken', () => {
  it.each([
    ['USD', 'USD'],
    ['usd', 'USD'],
    ['€', 'EUR'],
    ['£', 'GBP'],
    ['US$', 'USD'],
    ['C$', 'CAD'],
    ['zł', 'PLN'],
    ['$', null], // which dollar?
    ['¥', null], // yen or yuan?
    ['kr', null],
    ['dollars', undefined],
    ['$$', undefined], // "$$5" reads as 5 with token "$$", which the aggregator rejects
    ['X', undefined],
    ['pcs', undefined],
    ['chf', 'CHF'],
  ] as const)('%j → %j', (token, code) => {
    expect(currencyOfToken(token)).toBe(code);
  });
});

describe('decimalEvidence', () => {
  it.each([
    ['1.234,56', 1],
    ['99,90', 1],
    ['-10,5', 1],
    ['1,234.56', 2],
    ['12.5', 2],
    ['1,234', 0],
    ['1.234', 0],
    ['12', 0],
    ['€ 50,5', 1],
  ] as const)('%j → %d', (text, expected) => {
    expect(decimalEvidence(text)).toBe(expected);
  });
});

describe('rounding', () => {
  it.each([
    [5_000n, 0.01], // 0.005 → 0.01, half away from zero
    [4_999n, 0],
    [-5_000n, -0.01],
    [1_005_000n, 1.01],
    [2_675_000n, 2.68], // the float classic 2.675 → 2.67 must not happen
    [123_456_789_000_000n, 123456789],
  ] as const)('microToMoney(%d) = %d', (micro, money) => {
    expect(microToMoney(micro)).toBe(money);
  });

  it('divRound and ratio round half away from zero', () => {
    expect(divRound(5n, 2n)).toBe(3n);
    expect(divRound(-5n, 2n)).toBe(-3n);
    expect(divRound(4n, 3n)).toBe(1n);
    expect(ratio(1n, 3n, 4)).toBe(0.3333);
    expect(ratio(2n, 3n, 4)).toBe(0.6667);
    expect(ratio(1n, 8n, 2)).toBe(0.13);
    expect(ratio(1n, -8n, 2)).toBe(-0.13);
    expect(ratio(1n, 0n, 4)).toBe(0);
  });
});

describe('MoneySum', () => {
  it('stays exact where floats drift: 0.1 added a million times is 100000', () => {
    const sum = new MoneySum();
    let float = 0;
    for (let i = 0; i < 1_000_000; i++) {
      sum.add(parseAmount('0.10', false));
      float += 0.1;
    }
    expect(sum.value()).toBe(100_000_000_000n);
    expect(float).not.toBe(100000); // the drift the scaled integers avoid
  });

  it('spills into BigInt before 2^53 and keeps exact totals', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: -(2n ** 52n), max: 2n ** 52n }), { maxLength: 200 }),
        (values) => {
          const sum = new MoneySum();
          for (const v of values) sum.add(Number(v));
          expect(sum.value()).toBe(values.reduce((a, b) => a + b, 0n));
        },
      ),
    );
  });
});

it('parses any formatted amount back to its exact cents', () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: -(10n ** 13n), max: 10n ** 13n }),
      fc.constantFrom('', '$', 'EUR ', '€'),
      fc.boolean(),
      fc.boolean(),
      fc.boolean(),
      (cents, prefix, grouped, parens, comma) => {
        const neg = cents < 0n;
        const abs = neg ? -cents : cents;
        let whole = (abs / 100n).toString();
        const frac = (abs % 100n).toString().padStart(2, '0');
        if (grouped) whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, comma ? '.' : ',');
        const body = `${prefix}${whole}${comma ? ',' : '.'}${frac}`;
        const text = neg ? (parens ? `(${body})` : `-${body}`) : body;
        const micro = parseAmount(text, comma);
        const exact = micro === BIG ? bigAmount : BigInt(micro);
        expect(exact).toBe(cents * 10_000n);
      },
    ),
  );
});
