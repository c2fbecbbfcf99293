import { z } from 'zod';

export const GiB = 1024 ** 3;

/** A whole number from the environment, within bounds, with messages the start-up error names the variable beside. */
export const intFromEnv = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`)
    .default(fallback);
