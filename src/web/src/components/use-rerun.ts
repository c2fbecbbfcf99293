import { useState } from 'react';
import { toTallyApiError, type TallyApiError } from '../../../client/index.ts';
import type { JobOptions } from '../mapping.ts';
import { rememberRerun } from '../session-files.ts';
import { useTally } from '../tally.ts';

export interface RerunRefusal {
  message: string;
  /** The stored file is gone (410): only a new upload helps. */
  expired: boolean;
}

/**
 * Starts a re-run of `jobId`'s stored file with `options` in full (jobs.rerun does not
 * merge them with the old job's), then the page follows the new job. Shared by the
 * "Change and re-run" form and the rows-that-are-not-sales controls.
 */
export function useRerun(jobId: string, navigate: (path: string) => void) {
  const { client, onUnauthorized } = useTally();
  const [submitting, setSubmitting] = useState(false);
  const [error, setError] = useState<RerunRefusal>();

  const start = async (options: JobOptions) => {
    if (submitting) return;
    setSubmitting(true);
    setError(undefined);
    try {
      const created = await client.trpc.jobs.rerun.mutate({ jobId, options });
      rememberRerun(created.jobId, jobId, options);
      navigate(`/jobs/${created.jobId}`);
    } catch (e) {
      const refused = toTallyApiError(e);
      if (refused.status === 401) onUnauthorized();
      setError(explain(refused));
      setSubmitting(false);
    }
  };
  return { start, submitting, error };
}

/** The refusal in the page's words. */
function explain(error: TallyApiError): RerunRefusal {
  if (error.code === 'FILE_EXPIRED' || error.status === 410) {
    return {
      message:
        'Tally no longer has this file: uploaded files are deleted some time after their job ends. ' +
        'Upload it again with these settings.',
      expired: true,
    };
  }
  if (error.status === 404)
    return { message: 'This job no longer exists, or it is not yours.', expired: false };
  if (error.status === 400) {
    return { message: `Tally cannot use these settings: ${error.message}`, expired: false };
  }
  return { message: `The re-run could not be started: ${error.message}`, expired: false };
}
