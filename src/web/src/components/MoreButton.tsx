import { formatCount } from '../format.ts';
import { TABLE_PAGE } from '../series.ts';

/** "Show 60 more" under a table cut to a page; nothing when everything is shown. */
export function MoreButton({
  shown,
  total,
  unit,
  onMore,
}: {
  shown: number;
  total: number;
  unit: string;
  onMore: () => void;
}) {
  if (shown >= total) return null;
  return (
    <p className="muted small table-more">
      Showing {formatCount(shown)} of {formatCount(total)} {unit}.{' '}
      <button type="button" className="button button--link" onClick={onMore} data-testid="show-more">
        Show {formatCount(Math.min(TABLE_PAGE, total - shown))} more
      </button>
    </p>
  );
}
