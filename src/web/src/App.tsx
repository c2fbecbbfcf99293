import { useCallback, useMemo, useState } from 'react';
import { JobView } from './components/JobView.tsx';
import { RecentJobs } from './components/RecentJobs.tsx';
import { TokenPrompt } from './components/TokenPrompt.tsx';
import { UploadForm } from './components/UploadForm.tsx';
import { linkHandler, useRoute } from './routing.ts';
import {
  makeClient,
  pollingFromSearch,
  readToken,
  saveToken,
  TallyContext,
  type TallyContextValue,
} from './tally.ts';

export function App() {
  const [token, setToken] = useState(readToken);
  const [needsToken, setNeedsToken] = useState(false);
  const [route, navigate] = useRoute();
  const [listKey, setListKey] = useState(0);
  const refreshList = useCallback(() => setListKey((k) => k + 1), []);
  const onUnauthorized = useCallback(() => setNeedsToken(true), []);
  // From a job page the way out is often a new job (a re-run): the list shows it at once.
  const navigateAndRefresh = useCallback(
    (path: string) => {
      navigate(path);
      refreshList();
    },
    [navigate, refreshList],
  );

  const context = useMemo<TallyContextValue>(
    () => ({ client: makeClient(token), polling: pollingFromSearch(location.search), onUnauthorized }),
    [token, onUnauthorized],
  );

  const saveAndUse = (value: string | undefined) => {
    saveToken(value);
    setToken(value);
    setNeedsToken(false);
  };

  return (
    <TallyContext.Provider value={context}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <a className="brand" href="/" onClick={linkHandler(navigate, '/')}>
          <svg viewBox="0 0 16 16" width="22" height="22" aria-hidden="true">
            <rect width="16" height="16" rx="3" fill="currentColor" />
            <path d="M4 11V8M8 11V5M12 11V3" stroke="var(--card)" strokeWidth="2" />
          </svg>
          Tally
        </a>
        {route.name !== 'home' && (
          <a className="button" href="/" onClick={linkHandler(navigate, '/')}>
            New analysis
          </a>
        )}
      </header>
      <main id="main" className="layout">
        <div className="layout__main">
          {needsToken && <TokenPrompt onSave={saveAndUse} />}
          {route.name === 'home' && (
            <UploadForm
              onUploaded={(jobId) => {
                navigate(`/jobs/${jobId}`);
                refreshList();
              }}
            />
          )}
          {route.name === 'job' && (
            <JobView
              key={route.jobId}
              jobId={route.jobId}
              onSettled={refreshList}
              navigate={navigateAndRefresh}
            />
          )}
          {route.name === 'not-found' && (
            <section className="card">
              <h1>Page not found</h1>
              <p>
                <a href="/" onClick={linkHandler(navigate, '/')}>
                  Start a new analysis
                </a>
              </p>
            </section>
          )}
        </div>
        <aside className="layout__side">
          <RecentJobs
            refreshKey={listKey}
            currentJobId={route.name === 'job' ? route.jobId : undefined}
            navigate={navigate}
          />
        </aside>
      </main>
    </TallyContext.Provider>
  );
}
