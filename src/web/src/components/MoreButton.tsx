import { formatCount } from '../format.ts';
import type { Paging } from './use-paging.ts';

/** "Show 60 more" under a table cut to a page; nothing when everything is shown. */
export function MoreButton({ paging, unit }: { paging: Paging<unknown>; unit: string }) {
  const { rows, total, pageSize, more } = paging;
  const shown = rows.length;
  if (shown >= total) return null;
  return (
    <p className="muted small table-more">
      Showing {formatCount(shown)} of {formatCount(total)} {unit}.{' '}
      <button type="button" className="button button--link" onClick={more} data-testid="show-more">
        Show {formatCount(Math.min(pageSize, total - shown))} more
      </button>
    </p>
  );
}
