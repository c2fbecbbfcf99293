import { useState } from 'react';

/** What a table cut to pages draws now, and how it shows more. */
export interface Paging<T> {
  /** The items to draw now. */
  rows: T[];
  /** How many items there are in all. */
  total: number;
  pageSize: number;
  /** Every item is shown (after `toggleAll`). */
  all: boolean;
  /** Shows one page more. */
  more: () => void;
  /** Shows every item, or back to the first page. */
  toggleAll: () => void;
}

/**
 * A long list drawn a page at a time: the first `pageSize` items, then a page more on
 * request, or all of them at once. The tables use it so a result with thousands of rows
 * costs the DOM only what is shown.
 */
export function usePaging<T>(items: readonly T[], pageSize: number): Paging<T> {
  // Infinity: every item, whatever the list grows to (e.g. on a switch of currency).
  const [limit, setLimit] = useState(pageSize);
  return {
    rows: items.slice(0, limit),
    total: items.length,
    pageSize,
    all: limit === Infinity,
    more: () => setLimit(limit + pageSize),
    toggleAll: () => setLimit(limit === Infinity ? pageSize : Infinity),
  };
}
