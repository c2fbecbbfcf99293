import { useEffect, useState } from 'react';
import type { Format } from '../mapping.ts';
import { readHeaderNames } from './csv-head.ts';

/**
 * The header names of a file chosen in this tab, read in the browser and read again when
 * the delimiter or encoding changes; [] until read, for an unreadable file, or with no
 * file (the last names stay when the file goes away).
 */
export function useHeaderNames(file: File | undefined, format: Pick<Format, 'delimiter' | 'encoding'>) {
  const [headers, setHeaders] = useState<string[]>([]);
  const { delimiter, encoding } = format;
  useEffect(() => {
    if (!file) return undefined;
    // A later read (another file or option) wins: an earlier one finishing late is dropped.
    let current = true;
    readHeaderNames(file, delimiter || undefined, encoding || undefined).then(
      (names) => current && setHeaders(names),
      () => current && setHeaders([]),
    );
    return () => {
      current = false;
    };
  }, [file, delimiter, encoding]);
  return headers;
}
