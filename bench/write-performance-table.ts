/** `npm run bench:table`: re-renders docs/performance.md's table from bench/results/latest.json. */
import path from 'node:path';
import { writePerformanceTable } from './support/performance-table.ts';

const root = path.resolve(import.meta.dirname, '..');
await writePerformanceTable(
  path.join(root, 'bench', 'results', 'latest.json'),
  path.join(root, 'docs', 'performance.md'),
);
console.log('docs/performance.md: table written from bench/results/latest.json');
