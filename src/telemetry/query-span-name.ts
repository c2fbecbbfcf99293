/**
 * The name the pg instrumentation gives an unnamed statement's span (`pg.query:SELECT tally`),
 * for a statement Tally prepared under a name (src/lib/statement-names.ts): the instrumentation
 * would name it after the statement (`pg.query:t_n1vJty1…`), which says nothing in a trace.
 */
export function querySpanName(text: string, database: string | undefined): string {
  const trimmed = text.trim();
  const space = trimmed.search(/\s/);
  let command = (space === -1 ? trimmed : trimmed.slice(0, space)).toUpperCase();
  if (command.endsWith(';')) command = command.slice(0, -1);
  return `pg.query:${command}${database ? ` ${database}` : ''}`;
}
