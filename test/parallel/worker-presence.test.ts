import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { liveWorkerMachines, refreshWorkerProcess } from '../../src/db/workers/worker-processes.ts';
import { createLogger } from '../../src/logger.ts';
import { partsForFleet } from '../../src/worker/split/fleet-parts.ts';
import { PRESENCE_TTL_SECONDS, startWorkerPresence } from '../../src/worker/worker-presence.ts';
import { useTestDb } from '../support/app-db.ts';

describe('partsForFleet (PARALLEL_ANALYSIS_PARTS=auto)', () => {
  it('counts one part per core with a worker process on it, up to the bound', () => {
    expect(partsForFleet([], 256)).toBe(0);
    expect(partsForFleet([{ cores: 8, processes: 1 }], 256)).toBe(1); // one process: no split
    expect(partsForFleet([{ cores: 2, processes: 4 }], 256)).toBe(2); // four processes, two cores
    expect(
      partsForFleet(
        [
          { cores: 2, processes: 4 },
          { cores: 16, processes: 3 },
        ],
        256,
      ),
    ).toBe(5);
    expect(
      partsForFleet(
        [
          { cores: 64, processes: 64 },
          { cores: 64, processes: 64 },
        ],
        100,
      ),
    ).toBe(100);
  });
});

describe('worker presence (table worker_processes)', () => {
  const t = useTestDb({ max: 2 });
  const log = createLogger('silent');

  it('counts this machine once with its cores and every live process on it; a stopped process leaves', async () => {
    const a = await startWorkerPresence(t.db, log);
    const b = await startWorkerPresence(t.db, log);
    expect(await a.liveMachines()).toEqual([{ cores: os.availableParallelism(), processes: 2 }]);
    await b.stop();
    expect(await a.liveMachines()).toEqual([{ cores: os.availableParallelism(), processes: 1 }]);
    await a.stop();
    expect(await liveWorkerMachines(t.db.kysely, PRESENCE_TTL_SECONDS)).toEqual([]);
    expect((await t.database.sql.query('select count(*)::int as n from worker_processes')).rows[0].n).toBe(0);
  });

  it('keeps machines apart, ignores a process silent past the TTL, and sweeps long-dead rows', async () => {
    const row = (n: number, machine: string, cores: number) => ({
      instance: `00000000-0000-4000-8000-00000000000${n}`,
      machine,
      cores,
      slots: 1,
    });
    await refreshWorkerProcess(t.db.kysely, row(1, 'machine-a', 4), PRESENCE_TTL_SECONDS);
    await refreshWorkerProcess(t.db.kysely, row(2, 'machine-b', 2), PRESENCE_TTL_SECONDS);
    await refreshWorkerProcess(t.db.kysely, row(3, 'machine-b', 2), PRESENCE_TTL_SECONDS);
    await refreshWorkerProcess(t.db.kysely, row(4, 'machine-c', 8), PRESENCE_TTL_SECONDS);
    await refreshWorkerProcess(t.db.kysely, row(5, 'machine-d', 8), PRESENCE_TTL_SECONDS);
    // Process 4 went quiet a minute ago (killed -9, a frozen host); 5 an hour ago.
    await t.database.sql.query(
      `update worker_processes set seen_at = now() - interval '1 minute' where instance = $1`,
      [row(4, '', 0).instance],
    );
    await t.database.sql.query(
      `update worker_processes set seen_at = now() - interval '1 hour' where instance = $1`,
      [row(5, '', 0).instance],
    );
    const machines = await liveWorkerMachines(t.db.kysely, PRESENCE_TTL_SECONDS);
    expect(machines).toHaveLength(2);
    expect(machines).toEqual(
      expect.arrayContaining([
        { cores: 4, processes: 1 },
        { cores: 2, processes: 2 },
      ]),
    );
    expect(partsForFleet(machines, 256)).toBe(3);
    // A refresh says process 1 is alive and sweeps the hour-old row; the minute-old one stays
    // (its process may yet come back) but does not count.
    await refreshWorkerProcess(t.db.kysely, row(1, 'machine-a', 4), PRESENCE_TTL_SECONDS);
    const { rows } = await t.database.sql.query<{ instance: string }>(
      'select instance from worker_processes order by instance',
    );
    expect(rows.map((r) => r.instance.slice(-1))).toEqual(['1', '2', '3', '4']);
  });

  it('answers each refresh with the live processes on its machine that started before it', async () => {
    // Process n runs n slots.
    const row = (n: number, machine: string) => ({
      instance: `00000000-0000-4000-8000-00000000001${n}`,
      machine,
      cores: 2,
      slots: n,
    });
    const refresh = (n: number, machine = 'machine-m') =>
      refreshWorkerProcess(t.db.kysely, row(n, machine), PRESENCE_TTL_SECONDS);
    expect(await refresh(1)).toEqual({ ahead: 0, slotsAhead: 0 });
    expect(await refresh(2)).toEqual({ ahead: 1, slotsAhead: 1 });
    expect(await refresh(3, 'machine-n')).toEqual({ ahead: 0, slotsAhead: 0 }); // another machine's order
    expect(await refresh(4)).toEqual({ ahead: 2, slotsAhead: 3 });
    // A refresh keeps a process's place: it started when it started.
    expect(await refresh(2)).toEqual({ ahead: 1, slotsAhead: 1 });
    // Process 1 goes quiet past the TTL: those after it move up.
    await t.database.sql.query(
      `update worker_processes set seen_at = now() - interval '1 minute' where instance = $1`,
      [row(1, '').instance],
    );
    expect(await refresh(2)).toEqual({ ahead: 0, slotsAhead: 0 });
    expect(await refresh(4)).toEqual({ ahead: 1, slotsAhead: 2 });
  });
});
