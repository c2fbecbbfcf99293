import type { JobState } from '../../../client/index.ts';

const LABELS: Record<JobState, string> = {
  queued: 'Queued',
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

export function StateBadge({ state }: { state: JobState }) {
  return <span className={`badge badge--${state}`}>{LABELS[state]}</span>;
}
