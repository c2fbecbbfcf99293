import type { AggregateView } from '../aggregate/aggregate-view.ts';
import { fileError } from '../read/input-error.ts';
import { DATE_WINDOW_TEXT, MAX_CURRENCIES } from '../aggregate/limits.ts';
import type { ColumnRole } from '../options.ts';
import type { TallyError } from '../../errors.ts';

/**
 * What a person reads when a job ends NO_VALID_ROWS or most of its rows were rejected
 * — what was seen, and the option that would fix it. Two parts (see
 * input-error.ts): `summary` without anything from the file — counts, Tally's own reading
 * of it, option names; `help` adds the columns taken and a few values that could not be
 * read.
 */
export interface Advice {
  summary: string;
  help: string;
}

export interface AdviceContext {
  columns: Partial<Record<ColumnRole, string>>;
  delimiter: string;
  encoding: string;
}

const n = (x: number): string => x.toLocaleString('en-US');
const plural = (x: number, one: string, many = `${one}s`): string => `${n(x)} ${x === 1 ? one : many}`;

const ORDER_WORDS = { MDY: 'month first (MDY)', DMY: 'day first (DMY)', YMD: 'year first (YMD)' } as const;
const DELIMITER_NAMES: Record<string, string> = { ',': 'comma', ';': 'semicolon', '\t': 'tab', '|': 'pipe' };

/** One sentence per cause, largest first, each with the option that would fix it. */
function causes(agg: AggregateView, ctx: AdviceContext): string[] {
  const r = agg.rejections;
  const reading = agg.dateReading;
  const out: [number, string][] = [];
  if (r.date > 0) {
    const other = reading.order === 'DMY' ? 'MDY' : 'DMY';
    const how = reading.given ? 'as options.dateFormat says' : 'as decided from the first 1,000 rows';
    out.push([
      r.date,
      `${plural(r.date, 'row')} had a date Tally could not read (numeric dates read ${ORDER_WORDS[reading.order]}, ${how}). If the dates are in another column, set options.columns.date; if they are ${ORDER_WORDS[other]}, set options.dateFormat to "${other}".`,
    ]);
  }
  if (r.dateOutsideWindow > 0) {
    out.push([
      r.dateOutsideWindow,
      `${plural(r.dateOutsideWindow, 'row')} had a date outside ${DATE_WINDOW_TEXT}. If the date column holds something else, set options.columns.date.`,
    ]);
  }
  if (r.amount > 0) {
    const fix = agg.usesDecimalComma
      ? 'if they use a decimal point, set options.decimalSeparator to "."'
      : 'if they use a decimal comma, set options.decimalSeparator to ","';
    out.push([
      r.amount,
      `${plural(r.amount, 'row')} had an amount that is not a number. If the amounts are in another column, set options.columns.amount; ${fix}.`,
    ]);
  }
  if (r.amountEmpty > 0) {
    out.push([
      r.amountEmpty,
      `${plural(r.amountEmpty, 'row')} had an empty amount. In order exports the extra lines of one order often leave the total empty: those rows are skipped and each order counts once. If the amounts are in another column, set options.columns.amount.`,
    ]);
  }
  if (r.fields > 0) {
    out.push([
      r.fields,
      `${plural(r.fields, 'row')} had another number of fields than the header. The file was read as ${DELIMITER_NAMES[ctx.delimiter] ?? 'delimiter'}-separated; if that is wrong, set options.delimiter.`,
    ]);
  }
  if (r.currency > 0) {
    out.push([
      r.currency,
      `${plural(r.currency, 'row')} were in currencies beyond the first ${MAX_CURRENCIES}.`,
    ]);
  }
  if (r.unclosedQuote > 0) {
    out.push([r.unclosedQuote, 'The last row opens a quote (") that is never closed.']);
  }
  out.sort((a, b) => b[0] - a[0]);
  const sentences = out.map(([, s]) => s);
  if (ctx.encoding !== 'utf-8') {
    sentences.push(
      `The file was read as ${ctx.encoding}${ctx.encoding === 'windows-1252' ? ' (it is not valid UTF-8)' : ''}; if it is in another encoding, set options.encoding.`,
    );
  }
  return sentences;
}

function columnsSeen(columns: AdviceContext['columns']): string {
  const date = `date column ${JSON.stringify(columns.date ?? '')}`;
  const amount =
    columns.amount !== undefined
      ? `amount column ${JSON.stringify(columns.amount)}`
      : `amount from quantity ${JSON.stringify(columns.quantity ?? '')} × unit price ${JSON.stringify(columns.unitPrice ?? '')}`;
  return `Tally took the ${date} and the ${amount}.`;
}

export function adviceFor(agg: AggregateView, ctx: AdviceContext): Advice {
  const opening =
    agg.valid === 0
      ? `None of the ${plural(agg.total, 'data row')} could be read.`
      : `${n(agg.rejected)} of the ${plural(agg.total, 'data row')} were rejected.`;
  const summary = [opening, ...causes(agg, ctx)].join(' ');
  const examples = agg.samples
    .slice(0, 3)
    .map((s) => `line ${s.line}: ${s.reason}`)
    .join('; ');
  const help = `${opening} ${columnsSeen(ctx.columns)} ${causes(agg, ctx).join(' ')}${examples === '' ? '' : ` First problems: ${examples}.`}`;
  return { summary, help };
}

/** More than half of the rows rejected: worth telling the person, even though the job completed. */
export function mostRowsRejected(agg: AggregateView): boolean {
  return agg.total > 0 && agg.rejected * 2 > agg.total;
}

/** NO_VALID_ROWS for a file with a header and no row Tally could read. */
export function noValidRows(agg: AggregateView, ctx: AdviceContext): TallyError {
  if (agg.total === 0) {
    const message = 'The file has a header row but no data rows.';
    return fileError('NO_VALID_ROWS', message, message);
  }
  if (agg.rejected === 0) {
    // Every row was excluded (reference "Rows that are not sales"): say which rules did it and how to undo them.
    const reasons = agg
      .exclusionList()
      .slice(0, 5)
      .map((e) => `${e.reason} (${n(e.rows)})`)
      .join(', ');
    const message = `All ${plural(agg.excluded, 'data row')} were excluded as not sales: ${reasons}. Set options.rowRules to false, or change options.exclude, to count them.`;
    const summary = `All ${plural(agg.excluded, 'data row')} were excluded as not sales. Set options.rowRules to false, or change options.exclude, to count them.`;
    return fileError('NO_VALID_ROWS', message, summary);
  }
  const { summary, help } = adviceFor(agg, ctx);
  return fileError('NO_VALID_ROWS', help, summary, {
    rejectedSamples: agg.samples.slice(0, 10),
    columns: ctx.columns,
  });
}
