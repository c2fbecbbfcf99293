import { z } from 'zod';
import { accessEnv } from './config/access-env.ts';
import { databaseEnv } from './config/database-env.ts';
import { filesEnv } from './config/files-env.ts';
import { jobsEnv } from './config/jobs-env.ts';
import { servingEnv } from './config/serving-env.ts';

/**
 * All configuration comes from environment variables and is validated once, at start-up.
 * A bad value stops the process with a message naming the variable, before anything
 * listens or connects. The variables are grouped by concern in src/config/.
 */
const envSchema = z.object({
  ...databaseEnv,
  ...servingEnv,
  ...accessEnv,
  ...filesEnv,
  ...jobsEnv,
});

export type Config = Readonly<z.output<typeof envSchema>>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means unset (compose files write `${VAR:-}`), not an invalid value.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const config = parsed.data;
  if (!isLoopback(config.HOST) && !config.API_TOKENS && !config.TOKEN_SIGNING_KEYS) {
    throw new ConfigError(
      `Invalid configuration:\n  API_TOKENS: required when HOST (${config.HOST}) is not a loopback address; ` +
        'set API_TOKENS=owner:token[,owner:token…] (or TOKEN_SIGNING_KEYS for browser tokens) or listen on 127.0.0.1',
    );
  }
  if (config.FILE_STORE === 's3' && config.S3_BUCKET === undefined) {
    throw new ConfigError(
      'Invalid configuration:\n  S3_BUCKET: required when FILE_STORE=s3 (the bucket uploaded files are stored in)',
    );
  }
  if (config.LONG_POLLS_MAX >= config.MAX_CONNECTIONS) {
    throw new ConfigError(
      `Invalid configuration:\n  LONG_POLLS_MAX: must be below MAX_CONNECTIONS (${config.MAX_CONNECTIONS}), ` +
        'or long polls alone could take every connection',
    );
  }
  if ((config.WEBHOOK_URL === undefined) !== (config.WEBHOOK_SECRET === undefined)) {
    throw new ConfigError(
      `Invalid configuration:\n  ${config.WEBHOOK_URL === undefined ? 'WEBHOOK_URL' : 'WEBHOOK_SECRET'}: ` +
        'required when the other is set (webhooks need both a URL and a whsec_ secret)',
    );
  }
  if (config.WATCH_STREAMS_MAX >= config.MAX_CONNECTIONS) {
    throw new ConfigError(
      `Invalid configuration:\n  WATCH_STREAMS_MAX: must be below MAX_CONNECTIONS (${config.MAX_CONNECTIONS}), ` +
        'or status streams alone could take every connection',
    );
  }
  return Object.freeze(config);
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
