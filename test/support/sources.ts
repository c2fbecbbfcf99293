import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkerHooks } from '../../src/worker/run-analysis-job.ts';

/** Re-slices the stored file into small pieces delivered at a steady pace: a slow job. */
export function throttledSource(pieceBytes: number, delayMs: number): NonNullable<WorkerHooks['wrapSource']> {
  return (_jobId, source) =>
    (async function* () {
      for await (const chunk of source) {
        for (let at = 0; at < chunk.length; at += pieceBytes) {
          await sleep(delayMs);
          yield chunk.subarray(at, at + pieceBytes);
        }
      }
    })();
}

/** A source that fails like a dropped connection after `afterBytes`. */
export function failingSource(afterBytes: number, message = 'Connection terminated unexpectedly') {
  return (_jobId: string, source: AsyncIterable<Buffer>) =>
    (async function* () {
      let seen = 0;
      for await (const chunk of source) {
        seen += chunk.length;
        if (seen > afterBytes) throw new Error(message);
        yield chunk;
      }
    })();
}

/** A CSV of `rows` rows with exact expected revenue in cents (amounts cycle 1.00..9.99). */
export function generateCsv(rows: number): { csv: string; revenueCents: number } {
  const lines = ['date,amount,customer,product'];
  let cents = 0;
  for (let i = 0; i < rows; i++) {
    const c = 100 + ((i * 37) % 900);
    cents += c;
    const month = String(1 + (i % 12)).padStart(2, '0');
    const day = String(1 + (i % 28)).padStart(2, '0');
    lines.push(`2024-${month}-${day},${(c / 100).toFixed(2)},cust${i % 500},sku${i % 40}`);
  }
  return { csv: `${lines.join('\n')}\n`, revenueCents: cents };
}
