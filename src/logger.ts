import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; tokens and authorization headers never reach the output. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'tally', ...bindings },
    redact: { paths: ['req.headers.authorization', 'token', '*.token'], censor: '[redacted]' },
  });
}
