import { useCallback, useEffect, useState, type MouseEvent } from 'react';

export type Route = { name: 'home' } | { name: 'job'; jobId: string } | { name: 'not-found' };

const JOB_PATH = /^\/jobs\/([0-9a-f-]{36})\/?$/i;

export function parseRoute(pathname: string): Route {
  if (pathname === '/' || pathname === '') return { name: 'home' };
  const match = JOB_PATH.exec(pathname);
  return match?.[1] ? { name: 'job', jobId: match[1].toLowerCase() } : { name: 'not-found' };
}

/**
 * Two routes, in the History API: `/` and `/jobs/<id>` (the server answers both with
 * index.html, so a reload resumes watching). The query string is kept across
 * navigation, so `?maxPolls=…&pollMs=…` applies to every job opened from the page.
 */
export function useRoute(): [Route, (path: string) => void] {
  const [route, setRoute] = useState(() => parseRoute(location.pathname));
  useEffect(() => {
    const onPop = () => setRoute(parseRoute(location.pathname));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const navigate = useCallback((path: string) => {
    if (path !== location.pathname) history.pushState(null, '', path + location.search);
    setRoute(parseRoute(path));
    window.scrollTo({ top: 0 });
  }, []);
  return [route, navigate];
}

/** onClick for an in-app link: plain clicks navigate in place, modified clicks do what browsers do. */
export function linkHandler(navigate: (path: string) => void, path: string) {
  return (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(path);
  };
}
