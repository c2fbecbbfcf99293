import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { FileSpillStore } from '../../src/analysis/spill/file-spill-store.ts';

export interface SpillSetup {
  store: FileSpillStore;
  thresholdKeys: number;
}

/**
 * A temporary spill directory for the test file; each call of the returned function makes a
 * store in it spilling at `thresholdKeys`. All are closed, and the directory removed, after.
 */
export function useSpillStores(prefix: string, thresholdKeys: number): () => SpillSetup {
  let dir = '';
  const stores: FileSpillStore[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  });
  afterAll(async () => {
    for (const s of stores) s.close();
    await rm(dir, { recursive: true, force: true });
  });
  return () => {
    const store = new FileSpillStore(dir, 2 ** 30);
    stores.push(store);
    return { store, thresholdKeys };
  };
}
