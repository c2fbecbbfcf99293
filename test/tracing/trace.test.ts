import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnTally, type ChildTally } from '../support/child-process.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { postCsv, waitForFinal } from '../support/http.ts';
import { waitUntil } from '../support/wait-until.ts';
import { startOtlpReceiver, type ReceivedSpan } from './otlp-receiver.ts';

// Traces (docs/reference.md, "Where bytes live, webhooks, traces"): a Tally OS process (src/main.ts, as `npm start` runs it) with the standard
// OTEL_* variables exports one trace per upload — the upload request, the enqueue, the
// worker's attempt and its SQL — to an OTLP/HTTP receiver, with no file contents or token
// in any attribute.

const TOKEN = 'trace-test-key-9d4e2a7c1f6b3e8a';
const CELL = 'Zebra-Customer-7731'; // a cell of the file: must not appear in any span
const CSV = `date,amount,customer\n2024-01-05,10.00,${CELL}\n2024-02-05,5.50,${CELL}\n`;

let database: TestDatabase;
let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
let child: ChildTally;
let url: string;

beforeAll(async () => {
  database = await createTestDatabase();
  receiver = await startOtlpReceiver();
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  child = spawnTally('src/main.ts', ['all'], {
    DATABASE_URL: database.url,
    PORT: String(port),
    API_TOKENS: `tracer:${TOKEN}`,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: 'tally-under-test',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
  });
  await child.waitForLog(/tally started/, 60_000);
});
afterAll(async () => {
  child?.kill('SIGTERM');
  await child?.exited;
  await receiver?.close();
  await database?.drop();
});

describe('traces', () => {
  it('puts the upload request, the enqueue, the worker attempt and its SQL in one trace', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const upload = await postCsv(url, CSV, { headers: auth });
    expect(upload.status).toBe(202);
    const jobId = upload.body.jobId as string;
    await waitForFinal(url, jobId, auth);

    const byTrace = () => {
      const request = receiver.spans.find(
        (s) => s.scope.includes('fastify') && Object.values(s.attributes).some((v) => v === '/api/jobs'),
      );
      return request && receiver.spans.filter((s) => s.traceId === request.traceId);
    };
    // The worker's last SQL (the result's write) is exported a batch after the job finished.
    const trace = await waitUntil(
      () => {
        const spans = byTrace();
        return spans?.some((s) => isWorkerSql(s, spans)) && spans;
      },
      {
        what: `a trace with the upload, the worker attempt and its SQL (have: ${names()})`,
        timeoutMs: 20_000,
      },
    );

    const request = trace.find((s) => s.scope.includes('fastify'))!;
    const enqueue = trace.find((s) => s.scope === 'pg-boss' && /send|publish|create/i.test(s.name));
    const attempt = trace.find((s) => s.scope === 'pg-boss' && /process|work|receive/i.test(s.name));
    expect(request, names()).toBeDefined();
    expect(enqueue, names()).toBeDefined();
    expect(attempt, names()).toBeDefined();
    expect(trace.some((s) => isWorkerSql(s, trace))).toBe(true);
    // The trace as text (the README's "Tracing" shows one), kept with the test's artefacts.
    const results = path.resolve(import.meta.dirname, '..', '..', 'test-results');
    await mkdir(results, { recursive: true });
    await writeFile(path.join(results, 'trace-upload.txt'), traceTree(trace));

    // Every query span is named by its SQL command, also for the statements Tally prepares
    // under a name of its own (src/lib/statement-names.ts: t_<hash>, meaningless in a trace).
    const querySpans = receiver.spans.filter((s) => s.name.startsWith('pg.query'));
    expect(querySpans.length).toBeGreaterThan(0);
    expect(querySpans.map((s) => s.name).filter((n) => !/^pg\.query:[A-Z]+ /.test(n))).toEqual([]);

    // Nothing of the file, nor the token, in anything the exporter sent.
    const everything = receiver.raw.join('\n');
    expect(everything).not.toContain(CELL);
    expect(everything).not.toContain(TOKEN);
  });
});

const names = () => [...new Set(receiver.spans.map((s) => `${s.scope}:${s.name}`))].join(', ');

/** A pg span below the worker's pg-boss span (its ancestors include a pg-boss processing span). */
function isWorkerSql(span: ReceivedSpan, trace: ReceivedSpan[]): boolean {
  if (!span.scope.includes('pg') || span.scope === 'pg-boss') return false;
  const byId = new Map(trace.map((s) => [s.spanId, s]));
  for (let p = byId.get(span.parentSpanId); p; p = byId.get(p.parentSpanId))
    if (p.scope === 'pg-boss' && /process|work|receive/i.test(p.name)) return true;
  return false;
}

/** The spans as an indented tree: scope, name, and a query's text cut to 70 characters. */
function traceTree(trace: ReceivedSpan[]): string {
  const ids = new Set(trace.map((s) => s.spanId));
  const lines: string[] = [];
  const walk = (children: ReceivedSpan[], depth: number) => {
    for (const span of children) {
      const query = span.attributes['db.query.text'] ?? span.attributes['db.statement'];
      const text = typeof query === 'string' ? `  ${query.replace(/\s+/g, ' ').slice(0, 70)}` : '';
      lines.push(`${'  '.repeat(depth)}${span.scope}  ${span.name}${text}`);
      walk(
        trace.filter((s) => s.parentSpanId === span.spanId),
        depth + 1,
      );
    }
  };
  walk(
    trace.filter((s) => !ids.has(s.parentSpanId)),
    0,
  );
  return `${lines.join('\n')}\n`;
}
