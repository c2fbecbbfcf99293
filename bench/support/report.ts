/** One line of the benchmark table: a figure, the floor it is compared with, and the goal. */
export interface GoalResult {
  id: string;
  what: string;
  value: number;
  unit: string;
  /** The baseline measured in the same run, when the goal is a ratio. */
  floor?: { what: string; value: number };
  ratio?: number;
  goal: string;
  pass: boolean;
  note?: string;
}

export function printTable(results: readonly GoalResult[], log: (line: string) => void = console.log): void {
  const rows = results.map((r) => [
    r.id,
    r.what,
    `${fmt(r.value)} ${r.unit}`,
    r.floor ? `${fmt(r.floor.value)} (${r.floor.what})` : '',
    r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}×`,
    r.goal,
    r.pass ? 'PASS' : 'FAIL',
  ]);
  const header = ['id', 'figure', 'value', 'floor (same run)', 'ratio', 'goal', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  log(line(header));
  log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) log(line(row));
  for (const r of results) if (r.note) log(`  ${r.id}: ${r.note}`);
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(2);
}
