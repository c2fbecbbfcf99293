import type { Db } from '../../db/database.ts';
import type { StoredFilesImplementation } from '../stored-files.ts';

const next = (): never => {
  throw new Error('the PostgreSQL store moves here in the next commit');
};

/** Placeholder while the PostgreSQL store moves here (next commit); nothing calls it yet. */
export class PostgresStoredFiles implements StoredFilesImplementation {
  readonly kind = 'postgres' as const;
  constructor(
    readonly db: Db,
    readonly stagingLeaseMs: number,
    readonly log: { warn(obj: object, msg: string): void },
  ) {}
  stage = next;
  resume = next;
  adopt = next;
  readStored = next;
  reuse = next;
  expire = next;
  sweepOrphans = next;
}
