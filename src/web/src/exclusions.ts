import { statusExcludes, TypeTreatment, typeTreatment } from '../../analysis/rows/word-lists.ts';
import type { Category, Exclusion, Format } from './form-types.ts';

/**
 * Rows that are not sales (docs/reference.md, "Rows that are not sales") as the page shows and changes them: the one-line
 * note, which values of the status and type columns count, and the options a change
 * becomes (`exclude`, `rowRules`). Pure: no React, no requests.
 */

/** The reason the analysis gives a row excluded by `options.exclude` (rule 1). */
const BY_OPTIONS = 'excluded by options: ';

/** `options.exclude` read back from a result's reasons `excluded by options: <header> = <value>`. */
export function excludedByOptions(exclusions: readonly Exclusion[]): Record<string, string[]> {
  const exclude: Record<string, string[]> = {};
  for (const { reason } of exclusions) {
    if (!reason.startsWith(BY_OPTIONS)) continue;
    const rest = reason.slice(BY_OPTIONS.length);
    const at = rest.indexOf(' = ');
    if (at <= 0) continue;
    const column = rest.slice(0, at);
    (exclude[column] ??= []).push(rest.slice(at + 3));
  }
  return exclude;
}

/**
 * Whether the run had the automatic rules off (`rowRules: false`), read from its result: a
 * job's options are not reported, but each listed value carries its own treatment, and
 * with the rules on a value the word lists (the analysis's own, src/analysis/rows) leave
 * out or read as a refund is never a plain sale. False when no listed value tells.
 */
export function rulesWereOff(categories: readonly Category[]): boolean {
  return categories.some((c) =>
    c.values.some(
      (v) =>
        v.treatedAs === 'sale' &&
        (c.role === 'status' ? statusExcludes(v.value) : typeTreatment(v.value) !== TypeTreatment.Sale),
    ),
  );
}

/** Values match as the analysis matches them: trimmed, case-insensitive. */
const same = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

function listed(exclude: Format['exclude'], column: string, value: string): boolean {
  return (exclude[column] ?? []).some((v) => same(v, value));
}

/** The words a person reads for a reason: the cell as written, "(your choice)" for rule 1. */
export function describeReason(reason: string): string {
  if (reason.startsWith(BY_OPTIONS)) {
    const rest = reason.slice(BY_OPTIONS.length);
    const at = rest.indexOf(' = ');
    return `${at > 0 ? rest.slice(at + 3) : rest} (your choice)`;
  }
  const cell = /^(?:status|type): (.*)$/s.exec(reason);
  if (cell) return cell[1]!;
  if (reason === 'repeated header') return 'repeated header rows';
  return reason;
}

const count = (n: number) => n.toLocaleString('en-US');

/**
 * The one line a person sees without opening anything, e.g. "612 rows were not sales:
 * Payout 24, Fee 41, failed 3, and 2 more reasons." Undefined when no row was excluded.
 */
export function exclusionNote(
  excluded: number,
  exclusions: readonly Exclusion[],
  shown = 4,
): string | undefined {
  if (excluded === 0) return undefined;
  const head = excluded === 1 ? '1 row was not a sale' : `${count(excluded)} rows were not sales`;
  if (exclusions.length === 0) return `${head}.`;
  const parts = exclusions.slice(0, shown).map((e) => `${describeReason(e.reason)} ${count(e.rows)}`);
  const more = exclusions.length - shown;
  if (more > 0) parts.push(`and ${more} more ${more === 1 ? 'reason' : 'reasons'}`);
  return `${head}: ${parts.join(', ')}.`;
}

/**
 * Whether the run excluded a value by the automatic rules (status or type words), not by
 * `options.exclude`: counting it again needs `rowRules: false`.
 */
function excludedByRules(value: Category['values'][number], column: string, ran: Format['exclude']): boolean {
  return value.treatedAs === 'excluded' && !listed(ran, column, value.value);
}

/**
 * Whether rows with this value count in the re-run `format` describes. `ran` is the
 * `options.exclude` of the job the result came from (what `treatedAs` was decided under).
 */
export function counts(
  format: Format,
  ran: Format['exclude'],
  column: string,
  value: Category['values'][number],
): boolean {
  if (listed(format.exclude, column, value.value)) return false;
  if (excludedByRules(value, column, ran)) return !format.rowRules;
  return true;
}

/**
 * The format with one value counted or left out. Leaving out adds it to `exclude`.
 * Counting one removes it from `exclude`; if the automatic rules left it out, they are
 * turned off (`rowRules: false`, the only switch the contract has) and every other value
 * they left out in these tables is added to `exclude`, so that only this one comes back.
 */
export function setCounted(
  format: Format,
  ran: Format['exclude'],
  categories: readonly Category[],
  target: { column: string; value: string },
  counted: boolean,
): Format {
  const { column, value } = target;
  const without = (exclude: Format['exclude'], col: string, v: string) => ({
    ...exclude,
    [col]: (exclude[col] ?? []).filter((x) => !same(x, v)),
  });
  if (!counted) {
    if (listed(format.exclude, column, value)) return format;
    return {
      ...format,
      exclude: { ...format.exclude, [column]: [...(format.exclude[column] ?? []), value] },
    };
  }
  let exclude = without(format.exclude, column, value);
  const category = categories.find((c) => c.column === column);
  const entry = category?.values.find((v) => same(v.value, value));
  if (!format.rowRules || !entry || !excludedByRules(entry, column, ran)) return { ...format, exclude };
  for (const c of categories) {
    for (const v of c.values) {
      const keepOut = excludedByRules(v, c.column, ran) && !(c.column === column && same(v.value, value));
      if (keepOut && !listed(exclude, c.column, v.value)) {
        exclude = { ...exclude, [c.column]: [...(exclude[c.column] ?? []), v.value] };
      }
    }
  }
  return { ...format, exclude, rowRules: false };
}

/** Whether the re-run `format` changes which rows count or the time zone, against the run's own. */
export function classificationChanged(format: Format, initial: Format): boolean {
  const key = (f: Format) =>
    JSON.stringify([
      f.timeZone,
      f.rowRules,
      Object.entries(f.exclude)
        .filter(([, v]) => v.length > 0)
        .map(([k, v]) => [k, [...v].map((x) => x.trim().toLowerCase()).sort()])
        .sort(),
    ]);
  return key(format) !== key(initial);
}

/** The IANA zones this browser knows, for the time-zone select (empty where Intl lacks the list). */
export function timeZones(): string[] {
  const intl = Intl as { supportedValuesOf?: (key: 'timeZone') => string[] };
  try {
    return intl.supportedValuesOf?.('timeZone') ?? [];
  } catch {
    return [];
  }
}
