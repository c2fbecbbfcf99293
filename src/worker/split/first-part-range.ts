import { setTimeout as sleep } from 'node:timers/promises';
import type { FirstPartTask } from '../../analysis/split/analyze-part.ts';
import { PartChecksum } from '../../analysis/split/part-checksum.ts';
import { partRangeOf } from '../../db/jobs/analysis-parts.ts';
import type { PartKey, PartRange } from '../../db/jobs/analysis-parts.ts';
import type { StoredFileRef } from '../../files/stored-files.ts';
import { fileCorrupt } from '../../files/verified-read.ts';
import { AttemptSuperseded } from '../progress-writer.ts';
import type { WorkerDeps } from '../worker-deps.ts';

/**
 * How often a first part that reached its target asks whether the scan has found its end.
 * The scan gets there long before: on the P6 bench it passed the first cut at ~2.6 s, and
 * the part reached its target at ~11 s.
 */
const RANGE_POLL_MS = 100;

async function rangeOf(deps: WorkerDeps, key: PartKey, signal: AbortSignal): Promise<PartRange> {
  for (;;) {
    const range = await partRangeOf(deps.db.kysely, key);
    if (range === 'gone')
      throw new AttemptSuperseded('the split was given up, or its attempt no longer owns the job');
    if (range !== null) return range;
    await sleep(RANGE_POLL_MS, undefined, { signal });
  }
}

/**
 * The bytes of part 0 queued before the scan found its end (FirstPartTask): the file from
 * its start to the part's target, then, once the attempt has written the part's end and
 * CRC-32, on to that end. The bytes are checked against them at the end (FILE_CORRUPT),
 * as a part's range read is. `onEnd` hears the end once it is known.
 */
export async function* firstPartRange(
  deps: WorkerDeps,
  ref: StoredFileRef,
  key: PartKey,
  task: FirstPartTask,
  signal: AbortSignal,
  onEnd: (end: number) => void,
): AsyncGenerator<Buffer> {
  const check = new PartChecksum();
  let bytes = 0;
  for await (const chunk of deps.files.readRange(ref, 0, task.target)) {
    check.update(chunk);
    bytes += chunk.length;
    yield chunk;
  }
  const range = await rangeOf(deps, key, signal);
  onEnd(range.end);
  for await (const chunk of deps.files.readRange(ref, task.target, range.end)) {
    check.update(chunk);
    bytes += chunk.length;
    yield chunk;
  }
  if (bytes !== range.end || check.value !== range.crc32) throw fileCorrupt();
}
