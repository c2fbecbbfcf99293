import { createReadStream, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { analyzeCsvStream } from '../../src/analysis/analyze-stream.ts';
import type { JobOptions } from '../../src/analysis/options.ts';

/** The path of an export under test/fixtures/analysis. */
export const fixture = (name: string): string =>
  fileURLToPath(new URL(`../fixtures/analysis/${name}`, import.meta.url));

/** Analyses a fixture streamed in chunks of `chunkBytes`, as a worker streams a stored file. */
export function analyzeFixtureInChunks(name: string, options: JobOptions, chunkBytes: number) {
  const path = fixture(name);
  return analyzeCsvStream(createReadStream(path, { highWaterMark: chunkBytes }), {
    filename: name,
    bytes: statSync(path).size,
    options,
  });
}
