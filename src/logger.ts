import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; tokens and authorization headers never reach the output. */
export function createLogger(
  level: string,
  bindings: Record<string, unknown> = {},
  destination?: NodeJS.WritableStream,
): Logger {
  const options = {
    level,
    base: { service: 'tally', ...bindings },
    redact: { paths: ['req.headers.authorization', 'token', '*.token'], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
