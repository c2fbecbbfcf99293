/** A determinate progress bar (or an indeterminate one when `percent` is undefined). */
export function ProgressBar({
  label,
  percent,
  testId,
}: {
  label: string;
  percent?: number;
  testId?: string;
}) {
  const clamped = percent === undefined ? undefined : Math.min(100, Math.max(0, percent));
  return (
    <div
      className={`progress${clamped === undefined ? ' progress--indeterminate' : ''}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      {...(clamped === undefined ? {} : { 'aria-valuenow': clamped })}
      data-testid={testId}
    >
      <div className="progress__bar" style={clamped === undefined ? undefined : { width: `${clamped}%` }} />
    </div>
  );
}
