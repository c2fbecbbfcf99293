import { fileError } from './input-error.ts';
import { parseDate } from '../values/dates.ts';
export { normalizeHeaderName, roleSynonyms } from './header-names.ts';
import { normalizeHeaderName, synonymKeys } from './header-names.ts';
import { withoutControls } from '../values/keys.ts';
import { columnRoles } from '../options.ts';
import type { ColumnRole, JobOptions } from '../options.ts';

export interface ColumnMap {
  /** role → header name as it appears in the file. */
  readonly names: Partial<Record<ColumnRole, string>>;
  /** role → field index, -1 when absent. */
  readonly index: Readonly<Record<ColumnRole, number>>;
  /** true when amount comes from quantity × unit price. */
  readonly amountFromQuantity: boolean;
  /** v1.2: true when amount comes from credit − debit (no amount, no quantity × unit price). */
  readonly amountFromCreditDebit: boolean;
}

export function quoteList(values: readonly string[], max = 30): string {
  const shown = values.slice(0, max).map((v) => JSON.stringify(v));
  if (values.length > max) shown.push(`… (${values.length - max} more)`);
  return shown.join(', ');
}

/**
 * The index of the header a person named in options (`options.columns`, `options.exclude`):
 * the exact text, then trimmed, then the normalised form; -1 when there is none.
 */
export function findHeader(header: readonly string[], wanted: string): number {
  let i = header.indexOf(wanted);
  if (i < 0) i = header.findIndex((h) => h.trim() === wanted.trim());
  if (i < 0) i = header.map(normalizeHeaderName).indexOf(normalizeHeaderName(wanted));
  return i;
}

function missing(header: readonly string[], message: string, summary: string): Error {
  return fileError('INVALID_CSV', message, summary, { headers: header.map(withoutControls) });
}

/** Is column `j` empty in every head record (or are there none)? */
function emptyInHead(head: readonly (readonly string[])[], j: number): boolean {
  for (const r of head) if ((r[j] ?? '').trim() !== '') return false;
  return true;
}

/**
 * The synonym match for `role`: the first header in the table's order of names — passing
 * over (v1.2) a column empty throughout the head while another candidate has values.
 */
function bySynonym(
  role: ColumnRole,
  normalized: readonly string[],
  taken: ReadonlySet<number>,
  head: readonly (readonly string[])[],
): number {
  const candidates: number[] = [];
  for (const synonym of synonymKeys[role]) {
    normalized.forEach((n, j) => {
      if (n === synonym && !taken.has(j) && !candidates.includes(j)) candidates.push(j);
    });
  }
  return candidates.find((j) => !emptyInHead(head, j)) ?? candidates[0] ?? -1;
}

/**
 * v1.2: with no date column named, the one untaken column whose non-empty head cells all
 * read as dates (and that has some); -1 when there is not exactly one.
 */
function inferDate(width: number, taken: ReadonlySet<number>, head: readonly (readonly string[])[]): number {
  const found: number[] = [];
  for (let j = 0; j < width; j++) {
    if (taken.has(j)) continue;
    let seen = 0;
    let all = true;
    for (const r of head) {
      const cell = (r[j] ?? '').trim();
      if (cell === '') continue;
      seen++;
      if (!readsAsDate(cell)) {
        all = false;
        break;
      }
    }
    if (all && seen > 0) found.push(j);
  }
  return found.length === 1 ? found[0]! : -1;
}

function readsAsDate(cell: string): boolean {
  return !Number.isNaN(parseDate(cell, 'MDY', true)) || !Number.isNaN(parseDate(cell, 'DMY', true));
}

/**
 * Assigns roles to header fields: explicit `options.columns` first (exact text, then the
 * normalised form), then the synonym table, then (v1.2) date inference from the head.
 * `head` holds the first data records (up to 1,000; none when only the header is known).
 * Throws INVALID_CSV naming the headers found when a required column is missing or a
 * mapped one does not exist.
 */
export function resolveColumns(
  header: readonly string[],
  options: JobOptions,
  head: readonly (readonly string[])[] = [],
): ColumnMap {
  const normalized = header.map(normalizeHeaderName);
  const names: Partial<Record<ColumnRole, string>> = {};
  const index = Object.fromEntries(columnRoles.map((r) => [r, -1])) as Record<ColumnRole, number>;
  const taken = new Set<number>();
  const headersText = quoteList(header);
  const take = (role: ColumnRole, i: number): void => {
    index[role] = i;
    names[role] = withoutControls(header[i]!);
    taken.add(i);
  };

  const mapped = options.columns ?? {};
  for (const role of columnRoles) {
    const wanted = mapped[role];
    if (wanted === undefined) continue;
    const i = findHeader(header, wanted);
    if (i < 0) {
      throw missing(
        header,
        `options.columns.${role} is ${JSON.stringify(wanted)}, but the header has no such column. Headers: ${headersText}.`,
        `options.columns.${role} names a column the header does not have (the file has ${header.length} columns).`,
      );
    }
    take(role, i);
  }
  for (const role of columnRoles) {
    if (index[role] >= 0) continue;
    const i = bySynonym(role, normalized, taken, head);
    if (i >= 0) take(role, i);
  }
  if (index.date < 0) {
    const i = inferDate(header.length, taken, head);
    if (i >= 0) take('date', i);
  }
  return checked(header, headersText, { names, index });
}

function checked(
  header: readonly string[],
  headersText: string,
  map: Pick<ColumnMap, 'names' | 'index'>,
): ColumnMap {
  const { index } = map;
  if (index.date < 0) {
    throw missing(
      header,
      `No date column found. Headers: ${headersText}. Map one with options.columns.date.`,
      `No date column found among the file's ${header.length} columns. Map one with options.columns.date.`,
    );
  }
  const amountFromQuantity = index.amount < 0 && index.quantity >= 0 && index.unitPrice >= 0;
  const amountFromCreditDebit =
    index.amount < 0 && !amountFromQuantity && index.credit >= 0 && index.debit >= 0;
  if (index.amount < 0 && !amountFromQuantity && !amountFromCreditDebit) {
    throw missing(
      header,
      `No amount column found (nor quantity and unit price, nor credit and debit). Headers: ${headersText}. Map one with options.columns.amount.`,
      `No amount column found (nor quantity and unit price, nor credit and debit) among the file's ${header.length} columns. Map one with options.columns.amount.`,
    );
  }
  return { ...map, amountFromQuantity, amountFromCreditDebit };
}
