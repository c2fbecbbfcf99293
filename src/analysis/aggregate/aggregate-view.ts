import type { RevenueAggregator } from './aggregator.ts';

/**
 * What the result and the advice read of an aggregation: one pass's aggregator, or the merge
 * of a split file's parts (split/merged-aggregate.ts).
 */
export type AggregateView = Pick<
  RevenueAggregator,
  | 'total'
  | 'valid'
  | 'rejected'
  | 'excluded'
  | 'samples'
  | 'rejections'
  | 'dateReading'
  | 'usesDecimalComma'
  | 'columnNames'
  | 'currencies'
  | 'firstDay'
  | 'firstDayLine'
  | 'lastDay'
  | 'lastDayLine'
  | 'categories'
  | 'exclusionList'
>;
