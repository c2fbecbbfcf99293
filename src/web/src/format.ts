/** Display formatting, in the reader's locale. */

const plainMoney = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const moneyFormats = new Map<string, Intl.NumberFormat>();

/** `currency` null (unknown) or not an ISO code: the number alone, 2 decimals. */
export function formatMoney(value: number, currency: string | null): string {
  if (currency && /^[A-Z]{3}$/.test(currency)) {
    let format = moneyFormats.get(currency);
    if (!format) {
      try {
        format = new Intl.NumberFormat(undefined, { style: 'currency', currency });
      } catch {
        format = plainMoney;
      }
      moneyFormats.set(currency, format);
    }
    return format.format(value);
  }
  return plainMoney.format(value);
}

const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
export const formatCompact = (value: number): string => compact.format(value);

const count = new Intl.NumberFormat();
export const formatCount = (value: number): string => count.format(value);

/** A fraction (0.1234) as a percentage. */
export function formatShare(fraction: number, digits = 1): string {
  return `${(fraction * 100).toFixed(digits)}\u00a0%`;
}

export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export const formatDateTime = (iso: string): string => dateTime.format(new Date(iso));

/** A calendar day (YYYY-MM-DD) as written in the file: no time-zone shift. */
const day = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' });
export const formatDay = (isoDay: string): string => day.format(new Date(`${isoDay}T00:00:00Z`));

const month = new Intl.DateTimeFormat(undefined, { month: 'short', year: 'numeric', timeZone: 'UTC' });
export const formatMonth = (isoMonth: string): string => month.format(new Date(`${isoMonth}-01T00:00:00Z`));
