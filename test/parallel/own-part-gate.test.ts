import { describe, expect, it } from 'vitest';
import { OwnPartGate } from '../../src/worker/split/own-part-gate.ts';

// A process stops taking parts while it runs its own part of a file it split, and takes them
// again after its last one, never with two part workers at once (a stop waits for the running part).

function fakeParts() {
  const log: string[] = [];
  let n = 0;
  let running = 0;
  let partOver: Promise<void> = Promise.resolve();
  let finish = () => {};
  return {
    log,
    /** A part runs in the process: a stop waits until `finishPart`. */
    runPart: () => (partOver = new Promise<void>((resolve) => (finish = resolve))),
    finishPart: () => finish(),
    parts: {
      start: () => {
        running++;
        log.push(`start w${++n} (running ${running})`);
        return Promise.resolve(`w${n}`);
      },
      stop: async (id: string) => {
        log.push(`stop ${id}`);
        await partOver;
        running--;
      },
    },
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('the own part gate', () => {
  it('stops the parts worker for the first own part and starts it after the last one', async () => {
    const f = fakeParts();
    const errors: unknown[] = [];
    const gate = new OwnPartGate(f.parts, (e) => errors.push(e));
    await gate.open();
    gate.begin();
    gate.begin(); // a second attempt of this process runs its own part too
    await gate.settled();
    expect(f.log).toEqual(['start w1 (running 1)', 'stop w1']);
    gate.end();
    await gate.settled();
    expect(f.log).toEqual(['start w1 (running 1)', 'stop w1']); // one own part still runs
    gate.end();
    await gate.settled();
    expect(f.log).toEqual(['start w1 (running 1)', 'stop w1', 'start w2 (running 1)']);
    expect(errors).toEqual([]);
  });

  it('starts again only once the stop (its running part) is over', async () => {
    const f = fakeParts();
    const gate = new OwnPartGate(f.parts, () => undefined);
    await gate.open();
    void f.runPart();
    gate.begin();
    await tick();
    gate.end(); // a short own part: over before the part the stop waits for
    await tick();
    expect(f.log).toEqual(['start w1 (running 1)', 'stop w1']);
    f.finishPart();
    await gate.settled();
    expect(f.log).toEqual(['start w1 (running 1)', 'stop w1', 'start w2 (running 1)']);
  });

  it('reports a failed switch and keeps working', async () => {
    const f = fakeParts();
    const errors: unknown[] = [];
    let fail = true;
    const gate = new OwnPartGate(
      {
        start: async () => {
          if (fail) throw new Error('pg-boss is stopping');
          return f.parts.start();
        },
        stop: f.parts.stop,
      },
      (e) => errors.push(e),
    );
    await gate.open();
    expect(errors).toHaveLength(1);
    fail = false;
    gate.begin();
    gate.end();
    await gate.settled();
    expect(f.log).toEqual(['start w1 (running 1)']);
  });
});
