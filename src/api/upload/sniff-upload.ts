import { TallyError } from '../../errors.ts';
import { analyzeHead, type HeadInfo } from '../../analysis/head.ts';
import type { JobOptions } from '../../analysis/options.ts';
import { inflateHead } from '../../lib/gzip-head.ts';

export interface SniffResult extends HeadInfo {
  compression: 'none' | 'gzip';
}

/**
 * Decides at upload time whether the file can be analysed at all, so that a PDF renamed
 * .csv, or a file gzipped twice, gets a 422 now instead of a failed job later. gzip is
 * recognised by its magic bytes, whatever the filename says, and unwrapped once, as the
 * worker does (src/lib/gzip-head.ts holds the one copy of both checks).
 */
export async function sniffUpload(head: Buffer, options: JobOptions): Promise<SniffResult> {
  if (head.length === 0) throw new TallyError('INVALID_CSV', 'The file is empty.');
  const { compression, text } = await inflateHead(head);
  if (text.length === 0) throw new TallyError('INVALID_CSV', 'The gzip file holds no data.');
  const { delimiter, header, columns, encoding } = analyzeHead(text, options);
  return { compression, delimiter, header, columns, encoding };
}
