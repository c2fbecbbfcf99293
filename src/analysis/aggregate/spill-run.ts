import { PARTITIONS, partitionOf } from '../spill/key-hash.ts';
import { RecordWriter } from '../spill/record-codec.ts';

/** One encoding buffer for all flushes (they are synchronous): no 10 MB buffer per flush. */
const writer = new RecordWriter();
/** Scratch arrays kept across flushes: fresh ones per flush were ~1.3 MB of malloc churn. */
const scratch = { partOf: new Uint8Array(0), order: new Int32Array(0) };

/**
 * A key table's ids 0 … n − 1 as one spill run: records grouped by the partition of their
 * key's hash at spill `level` (key-hash.ts), `bounds[p]` where partition p starts. `write`
 * encodes one id's record. The bytes are a view of a shared buffer, valid until the next call.
 */
export function encodeRun(
  n: number,
  hashes: Int32Array,
  level: number,
  write: (w: RecordWriter, id: number) => void,
): { bytes: Buffer; bounds: Int32Array } {
  if (scratch.partOf.length < n) scratch.partOf = new Uint8Array(n);
  if (scratch.order.length < n) scratch.order = new Int32Array(n);
  const partOf = scratch.partOf;
  const order = scratch.order;
  const starts = new Int32Array(PARTITIONS + 1);
  for (let id = 0; id < n; id++) {
    const p = partitionOf(hashes[id]!, level);
    partOf[id] = p;
    starts[p + 1]!++;
  }
  for (let p = 0; p < PARTITIONS; p++) starts[p + 1]! += starts[p]!;
  const next = starts.slice();
  for (let id = 0; id < n; id++) order[next[partOf[id]!]!++] = id;

  const w = writer;
  w.reset();
  const bounds = new Int32Array(PARTITIONS + 1);
  let part = 0;
  for (let i = 0; i < n; i++) {
    while (i === starts[part + 1]) bounds[++part] = w.length;
    write(w, order[i]!);
  }
  while (part < PARTITIONS) bounds[++part] = w.length;
  return { bytes: w.bytes(), bounds };
}
