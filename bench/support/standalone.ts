import { pathToFileURL } from 'node:url';
import { benchServer, type BenchServer } from './database.ts';
import { printTable, type GoalResult } from './report.ts';
import { argFlag } from './stats.ts';

export interface BenchRunOptions {
  /** Seconds-long smoke sizes instead of the issue's. */
  quick: boolean;
  log?: (line: string) => void;
}

export type BenchPart = (server: BenchServer, opts: BenchRunOptions) => Promise<GoalResult[]>;

/** Runs one part on its own when its file is the entry point (`npx tsx bench/<part>.bench.ts`). */
export async function runIfMain(moduleUrl: string, part: BenchPart): Promise<void> {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? '').href) return;
  const server = await benchServer();
  try {
    printTable(await part(server, { quick: argFlag('--quick'), log: console.log }));
  } finally {
    await server.stop();
  }
}
