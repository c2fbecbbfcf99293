/**
 * Currency of a symbol or code written around an amount: the ISO code for an ISO 4217 code
 * or an unambiguous symbol, null for an ambiguous one (`$`, `¥`, `kr`). Other words ("pcs")
 * are not currencies: the amount is then rejected by the caller.
 */
const SYMBOLS: Readonly<Record<string, string | null>> = {
  $: null,
  '¥': null,
  KR: null,
  '€': 'EUR',
  '£': 'GBP',
  '₹': 'INR',
  '₩': 'KRW',
  '₽': 'RUB',
  '₺': 'TRY',
  '₪': 'ILS',
  '₫': 'VND',
  '฿': 'THB',
  '₴': 'UAH',
  '₱': 'PHP',
  '₦': 'NGN',
  US$: 'USD',
  C$: 'CAD',
  CA$: 'CAD',
  A$: 'AUD',
  AU$: 'AUD',
  NZ$: 'NZD',
  HK$: 'HKD',
  S$: 'SGD',
  R$: 'BRL',
  MX$: 'MXN',
  ZŁ: 'PLN',
  KČ: 'CZK',
};

/** ISO 4217 codes in use: a three-letter word next to an amount counts only if it is one. */
const ISO_4217 = new Set(
  (
    'AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN ' +
    'BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD ' +
    'FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY ' +
    'KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP ' +
    'MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR ' +
    'RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT ' +
    'TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL'
  ).split(' '),
);

/** `undefined` when the token is not a currency at all. */
export function currencyOfToken(token: string): string | null | undefined {
  const upper = token.toUpperCase();
  if (Object.hasOwn(SYMBOLS, upper)) return SYMBOLS[upper];
  if (ISO_4217.has(upper)) return upper;
  return undefined;
}
