import { linkHandler } from '../routing.ts';
import type { RerunRefusal } from './use-rerun.ts';

/** Why a re-run could not start; for an expired file, the way to upload it again. */
export function RerunError({ error, navigate }: { error: RerunRefusal; navigate: (path: string) => void }) {
  return (
    <div className="callout callout--error" role="alert" data-testid="rerun-error">
      <p>{error.message}</p>
      {error.expired && (
        <p>
          <a href="/" onClick={linkHandler(navigate, '/')}>
            Upload the file again
          </a>
        </p>
      )}
    </div>
  );
}
